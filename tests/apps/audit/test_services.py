"""Recording: the chain links, the time, the diff, and the coupling to the caller's transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from apps.accounts.models import Role
from apps.audit import services
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.selectors import audit_chain_verify, record_from_row
from apps.audit.services import recording
from apps.audit.verify import GENESIS_HASH, compute_hash
from apps.registry import services as registry
from apps.registry.models import AIModel
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    MembershipFactory,
    ModelVersionDatasetFactory,
    ModelVersionFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODEL_FIELDS = {
    "name": "Sepsis Early Warning",
    "intended_use": "Flags inpatients at risk of sepsis for nurse review.",
    "decision_role": AIModel.DecisionRole.INFORMS,
    "application_area": AIModel.ApplicationArea.PATIENT_CARE,
    "risk_class": AIModel.RiskClass.HIGH,
}


def test_first_event_links_to_genesis_and_each_next_event_to_its_predecessor(trail: Any) -> None:
    org = OrganizationFactory()
    services.audit_record(action="note", organization=org, label="second")
    services.audit_record(action="note", organization=org, label="third")

    events = trail(org)

    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].action == AuditAction.CREATE  # the organisation's own creation
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    for event in events:
        assert event.hash == compute_hash(record_from_row(event))


def test_each_organisation_has_a_chain_of_its_own(trail: Any) -> None:
    first, second = OrganizationFactory(), OrganizationFactory()
    AIModelFactory(organization=first)

    assert [e.seq for e in trail(first)] == [1, 2]
    assert [e.seq for e in trail(second)] == [1]
    assert trail(second)[0].prev_hash == GENESIS_HASH


def test_event_time_comes_from_the_database_clock_in_utc() -> None:
    org = OrganizationFactory()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        before = cursor.fetchone()[0]
        event = services.audit_record(action="note", organization=org)
        cursor.execute("SELECT clock_timestamp()")
        after = cursor.fetchone()[0]

    assert before <= event.occurred_at <= after  # now() would be the test transaction's start
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.occurred_at == event.occurred_at  # microseconds kept: the hash re-verifies
    assert record_from_row(stored)["occurred_at"].endswith("+00:00")


def test_update_records_the_changed_fields_with_before_and_after(trail: Any) -> None:
    model = AIModelFactory(risk_class="moderate", intended_users="Hospitalists")

    registry.ai_model_update(model=model, risk_class="high", intended_users="Hospitalists")

    event = trail(model.organization)[-1]
    assert event.action == AuditAction.UPDATE
    assert event.object_type == "registry.aimodel"
    assert event.object_id == str(model.pk)
    assert event.object_label == model.name
    assert event.changes == {"risk_class": ["moderate", "high"]}


def test_a_save_that_changes_nothing_records_nothing(trail: Any) -> None:
    model = AIModelFactory()
    count = len(trail(model.organization))

    model.save()  # updated_at moves, which is the event's own time, not a change

    assert len(trail(model.organization)) == count


def test_create_records_every_field_and_delete_what_was_deleted(trail: Any) -> None:
    org = OrganizationFactory()
    model = registry.ai_model_create(organization=org, **MODEL_FIELDS)
    created = trail(org)[-1]

    registry.ai_model_delete(model=model)
    deleted = trail(org)[-1]

    assert created.action == AuditAction.CREATE
    assert created.changes["name"] == [None, "Sepsis Early Warning"]
    assert created.changes["organization"] == [None, org.pk]
    assert "updated_at" not in created.changes  # auto_now: the event has its own time
    assert deleted.action == AuditAction.DELETE
    assert deleted.object_id == created.object_id
    assert deleted.changes["risk_class"] == ["high", None]


def test_a_cascade_records_every_deleted_row_on_the_right_chain(trail: Any) -> None:
    link = ModelVersionDatasetFactory(
        model_version=ModelVersionFactory(),
        dataset_version=DatasetVersionFactory(),
    )
    version = link.model_version
    org = version.model.organization

    version.delete()

    deleted = [e for e in trail(org) if e.action == AuditAction.DELETE]
    assert [e.object_type for e in deleted] == [
        "registry.modelversiondataset",
        "registry.modelversion",
    ]


def test_a_change_that_rolls_back_leaves_no_event(trail: Any) -> None:
    org = OrganizationFactory()
    count = len(trail(org))

    with pytest.raises(RuntimeError), transaction.atomic():
        registry.ai_model_create(organization=org, **MODEL_FIELDS)
        raise RuntimeError("the request failed after the write")

    assert len(trail(org)) == count
    assert not AIModel.objects.filter(organization=org).exists()


def test_a_change_whose_event_cannot_be_written_is_not_kept(monkeypatch: Any) -> None:
    org = OrganizationFactory()

    def broken(record: Any) -> str:
        raise RuntimeError("hashing failed")

    monkeypatch.setattr(recording, "compute_hash", broken)
    with pytest.raises(RuntimeError):
        registry.ai_model_create(organization=org, **MODEL_FIELDS)

    assert not AIModel.objects.filter(organization=org).exists()


def test_password_changes_are_recorded_without_their_values(trail: Any) -> None:
    user = UserFactory()
    MembershipFactory(user=user, role=Role.AUDITOR)

    user.set_password("a new long passphrase")
    user.save()

    event = trail(user.memberships.get().organization)[-1]
    assert event.object_type == "accounts.user"
    assert event.changes == {"password": ["[redacted]", "[redacted]"]}


def test_values_that_json_would_reshape_still_verify(trail: Any) -> None:
    org = OrganizationFactory()
    services.audit_record(
        action="note",
        organization=org,
        changes={"score": [1e16, 0.1], "big": [2**62, None], "text": ["naïve — ü", "x"]},
    )

    event = AuditEvent.objects.get(organization=org, action="note")
    assert event.changes["score"] == ["1e+16", "0.1"]
    assert audit_chain_verify(organization_id=org.pk).ok


def test_audit_context_names_the_system_actor_and_source(trail: Any) -> None:
    org = OrganizationFactory()
    with services.audit_context(actor="system:demo", source="command:demo"):
        services.audit_record(action="note", organization=org)

    event = trail(org)[-1]
    assert (event.actor, event.source, event.actor_user_id) == ("system:demo", "command:demo", None)


def test_failed_logins_of_unknown_users_go_to_the_platform_chain_as_a_digest(
    trail: Any,
) -> None:
    from django.contrib.auth import authenticate

    assert authenticate(username="my secret passphrase", password="x") is None

    event = trail(None)[-1]
    assert event.action == AuditAction.LOGIN_FAILED
    assert "my secret passphrase" not in event.object_label
    assert event.object_label.startswith("unknown username (sha256 ")
