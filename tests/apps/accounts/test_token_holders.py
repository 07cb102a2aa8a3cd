"""Tokens have a holder, act as the holder, and never above the holder's current role."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership, Role, ServiceAccount
from apps.audit.models import AuditEvent
from apps.registry.models import AIModel
from tests.builders.accounts import PASSWORD

pytestmark = pytest.mark.django_db

NEW_MODEL = {
    "name": "Coder",
    "intended_use": "Suggests billing codes for review.",
    "decision_role": "informs",
    "application_area": "payer_operations",
    "risk_class": "low",
}


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def own_token(username: str, **extra: Any) -> Any:
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD, **extra}, format="json"
    )


def test_every_role_gets_its_own_token_with_its_password(personas):
    for role in Role.values:
        response = own_token(role)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["role"] == role and body["holder"] == role and body["created_by"] == role
        assert bearer(body["token"]).get("/api/v1/models/").status_code == 200


def test_obtaining_a_token_is_audited_as_the_person_who_obtained_it(personas):
    own_token("model_developer")

    event = AuditEvent.objects.get(object_type="accounts.apitoken", action="create")
    assert event.actor == "user:model_developer"
    assert event.actor_user_id == personas.model_developer.pk
    assert event.changes["role"] == [None, "model_developer"]


def test_a_wrong_password_gets_no_token_and_is_audited_as_a_failed_login(personas):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "auditor", "password": "guess"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"].endswith("Wrong username or password.")
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.filter(action="login_failed").exists()


def test_a_person_cannot_get_a_token_above_their_role(personas):
    response = own_token("clinical_reviewer", role="admin")

    assert response.status_code == 400
    assert "above its holder's role" in response.json()["error"]["message"]


def test_password_attempts_for_tokens_are_throttled(personas, settings):
    settings.AUTH_TOKEN_THROTTLE_RATE = "3/minute"
    client = APIClient()
    codes = [
        client.post(
            "/api/v1/auth/token/", {"username": "admin", "password": "x"}, format="json"
        ).status_code
        for _ in range(4)
    ]

    assert codes == [400, 400, 400, 429]


def test_a_demoted_admins_old_admin_token_can_no_longer_act_as_admin(personas, client_for):
    secret = own_token("admin").json()["token"]
    token = bearer(secret)
    assert token.post("/api/v1/tokens/", {"name": "x", "role": "admin"}).status_code == 201
    membership = Membership.objects.get(user=personas.admin, organization=personas.org)
    # Another admin exists so the demotion is allowed (the last admin cannot be demoted).
    Membership.objects.filter(user=personas.compliance_officer).update(role=Role.ADMIN)
    client_for("compliance_officer").patch(
        f"/api/v1/memberships/{membership.pk}/", {"role": "compliance_officer"}, format="json"
    )

    escalate = token.post("/api/v1/tokens/", {"name": "y", "role": "admin"})
    promote = token.patch(f"/api/v1/memberships/{membership.pk}/", {"role": "admin"}, format="json")

    assert escalate.status_code == 401 and promote.status_code == 401
    assert (
        "above its holder's current role (compliance_officer)"
        in (promote.json()["error"]["message"])
    )
    membership.refresh_from_db()
    assert membership.role == Role.COMPLIANCE_OFFICER
    assert ApiToken.objects.filter(role=Role.ADMIN).count() == 2  # no third one


def test_a_token_at_or_below_the_current_role_keeps_working_after_a_demotion(personas):
    secret = own_token("admin", role="model_developer").json()["token"]
    Membership.objects.filter(user=personas.compliance_officer).update(role=Role.ADMIN)
    Membership.objects.filter(user=personas.admin).update(role=Role.MODEL_DEVELOPER)

    assert bearer(secret).post("/api/v1/models/", NEW_MODEL, format="json").status_code == 201


def test_what_a_token_does_is_attributed_to_its_holder(personas):
    secret = own_token("compliance_officer").json()["token"]

    created = bearer(secret).post("/api/v1/models/", NEW_MODEL, format="json")

    event = AuditEvent.objects.filter(object_type="registry.aimodel").get()
    assert created.status_code == 201
    assert event.actor_user_id == personas.compliance_officer.pk
    assert event.actor.startswith("user:compliance_officer (token ")
    assert event.actor_role == "compliance_officer"


def test_an_admin_creates_a_service_account_whose_tokens_act_as_it(personas, client_for):
    admin = client_for("admin")
    account = admin.post(
        "/api/v1/service-accounts/", {"name": "release pipeline", "role": "model_developer"}
    ).json()
    above = admin.post(
        "/api/v1/tokens/",
        {"name": "ci", "role": "compliance_officer", "service_account": account["id"]},
    )
    issued = admin.post("/api/v1/tokens/", {"name": "ci", "service_account": account["id"]})

    assert above.status_code == 400
    assert issued.status_code == 201 and issued.json()["role"] == "model_developer"
    assert issued.json()["holder_name"] == "release pipeline"
    created = bearer(issued.json()["token"]).post("/api/v1/models/", NEW_MODEL, format="json")
    service_user = ServiceAccount.objects.get().user
    event = AuditEvent.objects.filter(object_type="registry.aimodel").get()
    assert created.status_code == 201
    assert event.actor_user_id == service_user.pk != personas.admin.pk
    assert AIModel.objects.get(name="Coder").organization == personas.org


def test_a_service_account_cannot_obtain_a_token_with_a_password(personas, client_for):
    client_for("admin").post(
        "/api/v1/service-accounts/", {"name": "release pipeline", "role": "model_developer"}
    )
    username = ServiceAccount.objects.get().user.username

    assert own_token(username).status_code == 400
    assert own_token(username, password="").status_code == 400


def test_only_admins_manage_service_accounts(personas, client_for):
    for role in ("compliance_officer", "model_developer", "clinical_reviewer", "auditor"):
        response = client_for(role).post(
            "/api/v1/service-accounts/", {"name": f"bot {role}", "role": "auditor"}
        )
        assert response.status_code == 403
    assert (
        client_for("admin")
        .post("/api/v1/service-accounts/", {"name": "root bot", "role": "admin"})
        .status_code
        == 400
    )


def test_everyone_lists_and_revokes_only_the_tokens_they_hold(personas, client_for):
    mine = own_token("clinical_reviewer").json()
    theirs = own_token("admin").json()
    reviewer = client_for("clinical_reviewer")

    listed = reviewer.get("/api/v1/tokens/").json()["results"]
    other = reviewer.post(f"/api/v1/tokens/{theirs['id']}/revoke/")
    revoked = reviewer.post(f"/api/v1/tokens/{mine['id']}/revoke/")
    create = reviewer.post("/api/v1/tokens/", {"name": "x"})

    assert [t["id"] for t in listed] == [mine["id"]]
    assert other.status_code == 404
    assert revoked.status_code == 200 and revoked.json()["is_active"] is False
    assert create.status_code == 403
    assert bearer(mine["token"]).get("/api/v1/models/").status_code == 401
    admin_sees = client_for("admin").get("/api/v1/tokens/").json()["results"]
    assert {t["id"] for t in admin_sees} == {mine["id"], theirs["id"]}


def test_a_service_account_cannot_be_raised_to_admin(personas, client_for):
    admin = client_for("admin")
    admin.post("/api/v1/service-accounts/", {"name": "bot", "role": "auditor"})
    membership = Membership.objects.get(user=ServiceAccount.objects.get().user)

    response = admin.patch(
        f"/api/v1/memberships/{membership.pk}/", {"role": "admin"}, format="json"
    )

    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.role == Role.AUDITOR
