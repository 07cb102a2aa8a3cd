"""Every path writes its event: API, token, admin, command, logins, denials, downloads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditAction, AuditEvent
from apps.audit.selectors import record_from_row
from apps.audit.services import context
from apps.registry.models import AIModel
from tests.builders.accounts import PASSWORD
from tests.factories import AIModelFactory, DatasetFactory, DatasetVersionFactory

pytestmark = pytest.mark.django_db

NEW_MODEL = {
    "name": "Discharge drafter",
    "intended_use": "Drafts discharge summaries for clinician review.",
    "decision_role": "informs",
    "application_area": "clinical_workflow",
    "risk_class": "moderate",
}
HEADERS = {"HTTP_X_REQUEST_ID": "req-4711", "HTTP_USER_AGENT": "release-bot/1.0"}


def last(trail: Any, org: Any, **filters: Any) -> AuditEvent:
    events = trail(org, **filters)
    assert events, f"no event matching {filters}"
    return events[-1]


def test_api_create_update_and_delete_of_a_model_are_recorded(
    client_for: Any, personas: Any, trail: Any
) -> None:
    client = client_for("compliance_officer")

    created = client.post("/api/v1/models/", NEW_MODEL, format="json", **HEADERS)
    model_id = created.json()["id"]
    client.patch(f"/api/v1/models/{model_id}/", {"risk_class": "high"}, format="json")
    client.delete(f"/api/v1/models/{model_id}/")

    events = trail(personas.org, object_type="registry.aimodel", object_id=str(model_id))
    assert [e.action for e in events] == ["create", "update", "delete"]
    create, update, delete = events
    assert create.changes["name"] == [None, "Discharge drafter"]
    assert update.changes == {"risk_class": ["moderate", "high"]}
    assert delete.changes["risk_class"] == ["high", None]
    for event in events:
        assert event.actor == "user:compliance_officer"
        assert event.actor_user_id == personas.compliance_officer.pk
        assert event.actor_role == "compliance_officer"
        assert event.source == "api"
        assert event.client_ip == "127.0.0.1"
    assert (create.request_id, create.user_agent) == ("req-4711", "release-bot/1.0")
    assert len(update.request_id) == 32  # none given: one is generated per request


def test_api_tokens_record_creation_use_and_revocation_never_the_secret(
    client_for: Any, personas: Any, trail: Any
) -> None:
    issued = client_for("admin").post(
        "/api/v1/tokens/", {"name": "release", "role": "model_developer"}, format="json"
    )
    body = issued.json()
    secret, prefix = body["token"], body["prefix"]
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    bot.post("/api/v1/models/", NEW_MODEL, format="json")
    client_for("admin").post(f"/api/v1/tokens/{body['id']}/revoke/")

    tokens = trail(personas.org, object_type="accounts.apitoken")
    assert [e.action for e in tokens] == ["create", "update"]
    create, revoke = tokens
    for event in tokens:
        assert prefix in event.object_label and "model_developer" in event.object_label
        text = json.dumps(record_from_row(event))
        assert secret not in text and secret.split("_")[-1] not in text
    assert create.changes["prefix"] == [None, prefix]
    assert create.changes["role"] == [None, "model_developer"]
    assert "key_hash" not in create.changes
    assert list(revoke.changes) == ["revoked_at"] and revoke.changes["revoked_at"][0] is None
    by_token = last(trail, personas.org, object_type="registry.aimodel")
    assert by_token.actor == f"user:admin (token {prefix})"  # the holder, then the token
    assert by_token.actor_role == "model_developer"
    assert by_token.actor_user_id == personas.admin.pk  # the person the token acts for


def _admin_client(user: Any) -> Client:
    user.is_staff = True
    user.save()
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (admin test)")
    client.force_login(user)
    return client


def _change_form(model: AIModel, **changes: Any) -> dict[str, Any]:
    data = {
        "organization": model.organization_id,
        "name": model.name,
        "intended_use": model.intended_use,
        "intended_users": model.intended_users,
        "target_population": model.target_population,
        "decision_role": model.decision_role,
        "out_of_scope_uses": model.out_of_scope_uses,
        "application_area": model.application_area,
        "risk_class": model.risk_class,
        "owner": "",
        "created_at_0": model.created_at.strftime("%Y-%m-%d"),
        "created_at_1": model.created_at.strftime("%H:%M:%S"),
    }
    return {**data, **changes}


def test_a_django_admin_change_is_recorded(personas: Any, trail: Any) -> None:
    # Whole seconds: the admin's time widget would otherwise (rightly) record a change.
    created_at = timezone.now().replace(microsecond=0)
    model = AIModelFactory(organization=personas.org, risk_class="moderate", created_at=created_at)
    personas.admin.is_superuser = True
    client = _admin_client(personas.admin)

    response = client.post(
        f"/admin/registry/aimodel/{model.pk}/change/", _change_form(model, risk_class="high")
    )

    assert response.status_code == 302, response.content[:2000]
    event = last(trail, personas.org, object_type="registry.aimodel")
    assert event.action == AuditAction.UPDATE
    assert event.changes == {"risk_class": ["moderate", "high"]}
    assert (event.actor, event.actor_role, event.source) == ("user:admin", "admin", "admin")
    assert event.user_agent == "Mozilla/5.0 (admin test)"


def test_a_refused_django_admin_change_is_recorded(personas: Any, trail: Any) -> None:
    model = AIModelFactory(organization=personas.org)
    client = _admin_client(personas.clinical_reviewer)

    response = client.post(f"/admin/registry/aimodel/{model.pk}/change/", _change_form(model))

    assert response.status_code == 403
    event = last(trail, personas.org, action=AuditAction.PERMISSION_DENIED)
    assert event.actor == "user:clinical_reviewer"
    assert event.source == "admin"
    assert f"POST /admin/registry/aimodel/{model.pk}/change/" in event.object_label


@pytest.fixture
def as_command(monkeypatch: Any) -> Any:
    """Run a command as `manage.py <name> ...` would: the trail names the command."""

    def run(name: str, *args: Any) -> None:
        monkeypatch.setattr(sys, "argv", ["manage.py", name, *map(str, args)])
        context._process_context.cache_clear()
        call_command(name, *args, verbosity=0)

    yield run
    context._process_context.cache_clear()


def test_a_management_command_that_writes_records_is_recorded(
    personas: Any, trail: Any, tmp_path: Path, as_command: Any
) -> None:
    fixture = tmp_path / "models.json"
    fields = {**NEW_MODEL, "organization": personas.org.pk, "created_at": "2026-01-05T09:00:00Z"}
    fields["updated_at"] = fields["created_at"]  # raw loads skip auto_now
    fixture.write_text(json.dumps([{"model": "registry.aimodel", "pk": 900001, "fields": fields}]))

    as_command("loaddata", fixture)

    event = last(trail, personas.org, object_type="registry.aimodel")
    assert (event.action, event.object_id) == ("create", "900001")
    assert (event.actor, event.source) == ("system:loaddata", "command:loaddata")
    assert event.actor_user_id is None
    assert event.user_agent.startswith("manage.py loaddata (os user ")


def test_logins_failed_logins_and_logouts_are_recorded(personas: Any, trail: Any) -> None:
    personas.auditor.is_staff = True
    personas.auditor.save()
    client = Client(REMOTE_ADDR="203.0.113.9")

    client.post("/admin/login/", {"username": "auditor", "password": "wrong"})
    client.post("/admin/login/", {"username": "auditor", "password": PASSWORD, "next": "/admin/"})
    client.post("/admin/logout/")

    events = [
        e
        for e in trail(personas.org, object_type="accounts.user")
        if e.action in ("login", "login_failed", "logout")
    ]
    assert [e.action for e in events] == ["login_failed", "login", "logout"]
    failed, login, logout = events
    assert failed.actor == "anonymous" and failed.object_label == "auditor"
    assert (login.actor, login.actor_role) == ("user:auditor", "auditor")
    assert logout.actor == "user:auditor"
    assert {e.client_ip for e in events} == {"203.0.113.9"}
    assert {e.object_id for e in events} == {str(personas.auditor.pk)}


def test_a_refused_api_write_is_recorded_and_a_refused_read_is_not(
    client_for: Any, personas: Any, trail: Any
) -> None:
    model = AIModelFactory(organization=personas.org)

    assert (
        client_for("auditor").post("/api/v1/models/", NEW_MODEL, format="json").status_code == 403
    )
    developer = client_for("model_developer")
    assert developer.delete(f"/api/v1/models/{model.pk}/").status_code == 403
    assert client_for("auditor").get("/api/v1/memberships/").status_code == 403

    denied = trail(personas.org, action=AuditAction.PERMISSION_DENIED)
    assert [(e.actor, e.actor_role) for e in denied] == [
        ("user:auditor", "auditor"),
        ("user:model_developer", "model_developer"),
    ]
    assert denied[0].object_label.startswith("POST /api/v1/models/")
    assert denied[1].object_label.startswith(f"DELETE /api/v1/models/{model.pk}/")
    assert "Roles allowed: admin, compliance officer." in denied[1].object_label
    assert not trail(personas.other_org, action=AuditAction.PERMISSION_DENIED)


def test_a_dataset_file_download_is_recorded(client_for: Any, personas: Any, trail: Any) -> None:
    version = DatasetVersionFactory(dataset=DatasetFactory(organization=personas.org))
    path = Path(settings.MEDIA_ROOT) / version.file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"id": "q1"}\n')

    response = client_for("clinical_reviewer").get(
        f"/api/v1/dataset-versions/{version.pk}/download/"
    )

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b'{"id": "q1"}\n'
    event = last(trail, personas.org, action=AuditAction.DOWNLOAD)
    assert (event.object_type, event.object_id) == ("registry.datasetversion", str(version.pk))
    assert event.actor == "user:clinical_reviewer"
