"""21 CFR Part 11 electronic signatures: each point of the regulation named and proved."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, timedelta

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.services import service_account_create
from apps.audit.models import AuditEvent
from apps.signoffs.models import SignOff, SignOffWithdrawal
from apps.signoffs.selectors import record_canonical, record_digest
from apps.signoffs.services import signing_locked_until
from tests.builders.accounts import PASSWORD, token_client

pytestmark = pytest.mark.django_db


def test_11_200_a_signature_needs_the_password_re_entered_even_with_a_token(
    personas, validation_world
):
    client, _ = token_client(personas, "clinical_reviewer")
    body = {
        "target_type": "model_version",
        "target_id": str(validation_world.version.pk),
        "stage": "validation",
        "meaning": "approved",
    }

    without = client.post("/api/v1/signoffs/", body, format="json")
    wrong = client.post("/api/v1/signoffs/", {**body, "password": "nope"}, format="json")
    right = client.post("/api/v1/signoffs/", {**body, "password": PASSWORD}, format="json")
    again = client.post("/api/v1/signoffs/", body, format="json")

    assert without.status_code == 400 and "password" in without.json()["error"]["fields"]
    assert wrong.status_code == 400
    assert "Wrong password" in wrong.json()["error"]["message"]
    assert right.status_code == 201
    assert again.status_code == 400  # every signing, not once per session
    assert SignOff.objects.count() == 1


def test_11_200_a_wrong_password_is_recorded_in_the_audit_trail(personas, validation_world, sign):
    sign("clinical_reviewer", "model_version", validation_world.version.pk, password="guess")

    event = AuditEvent.objects.get(action="signature_failed")
    assert event.actor_user_id == personas.clinical_reviewer.pk
    assert event.object_type == "registry.modelversion"
    assert event.changes["reason"] == "wrong password"
    assert "guess" not in json.dumps(event.changes)


def test_five_failures_in_15_minutes_lock_signing_for_15_minutes(personas, validation_world, sign):
    version = validation_world.version.pk
    for _ in range(5):
        assert sign("clinical_reviewer", "model_version", version, password="x").status_code == 400

    locked = sign("clinical_reviewer", "model_version", version)  # right password, too late

    assert locked.status_code == 429
    assert "locked for you until" in locked.json()["error"]["message"]
    assert AuditEvent.objects.filter(action="signature_locked").count() == 1
    user = personas.clinical_reviewer
    now = timezone.now()
    until = signing_locked_until(user=user, now=now)
    assert until is not None and timedelta(minutes=14) < until - now <= timedelta(minutes=15)
    assert signing_locked_until(user=user, now=now + timedelta(minutes=16)) is None
    # Another signer is not affected.
    assert sign("compliance_officer", "model_version", version).status_code == 201


def test_four_failures_do_not_lock(personas, validation_world, sign):
    version = validation_world.version.pk
    for _ in range(4):
        sign("clinical_reviewer", "model_version", version, password="x")

    assert sign("clinical_reviewer", "model_version", version).status_code == 201


def test_11_50_the_signature_shows_printed_name_utc_time_and_meaning(
    personas, validation_world, sign
):
    reviewer = personas.clinical_reviewer
    body = sign(
        "clinical_reviewer", "model_version", validation_world.version.pk, comment="Looks safe"
    ).json()
    listed = APIClient()
    listed.force_authenticate(personas.auditor)
    shown = listed.get("/api/v1/signoffs/").json()["results"][0]

    signoff = SignOff.objects.get()
    expected_time = signoff.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for view in (body, shown):
        assert view["signer_name"] == reviewer.get_full_name()
        assert view["signed_at"] == expected_time
        assert view["meaning"] == "approved"
        assert view["manifestation"] == f"{reviewer.get_full_name()} — Approved — {expected_time}"
        assert view["signer_role"] == "clinical_reviewer"
        assert view["current"] is True and view["stale"] is False


def test_11_70_the_signature_is_bound_to_the_sha256_of_the_canonical_record(
    personas, validation_world, sign
):
    version = validation_world.version
    sign("clinical_reviewer", "model_version", version.pk)

    text = record_canonical(target_type="model_version", record=version)
    parsed = json.loads(text)
    assert parsed["canonical"] == "carealign-record/1"
    assert text == json.dumps(
        parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert parsed["content"]["revision"] == version.revision
    assert SignOff.objects.get().record_digest == hashlib.sha256(text).hexdigest()


def test_a_changed_record_turns_its_signature_stale_everywhere(personas, validation_world, sign):
    version = validation_world.version
    signed = sign("clinical_reviewer", "model_version", version.pk).json()
    version.base_model = "another/base"
    version.save()

    client = APIClient()
    client.force_authenticate(personas.auditor)
    shown = client.get(f"/api/v1/signoffs/{signed['id']}/").json()

    assert shown["stale"] is True and shown["current"] is False
    assert shown["record_digest"] == signed["record_digest"] != shown["current_record_digest"]
    assert shown["current_record_digest"] == record_digest(
        target_type="model_version", record=version
    )


def test_a_lifecycle_move_does_not_make_a_model_version_signature_stale(
    personas, validation_world, sign
):
    version = validation_world.version
    before = record_digest(target_type="model_version", record=version)
    version.lifecycle_stage = "deployment"
    version.save()

    assert record_digest(target_type="model_version", record=version) == before


@pytest.mark.parametrize("sql", ["UPDATE {t} SET comment = 'edited'", "DELETE FROM {t}"])
def test_signatures_cannot_be_changed_or_deleted_in_the_database(
    personas, validation_world, sign, sql
):
    signed = sign("clinical_reviewer", "model_version", validation_world.version.pk).json()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql.format(t=SignOff._meta.db_table))
    assert SignOff.objects.get(pk=signed["id"]).comment == ""


def test_a_withdrawal_is_a_new_record_and_the_signature_stops_counting(
    personas, validation_world, sign
):
    signed = sign("clinical_reviewer", "model_version", validation_world.version.pk).json()
    client = APIClient()
    client.force_authenticate(personas.clinical_reviewer)

    wrong = client.post(
        f"/api/v1/signoffs/{signed['id']}/withdraw/", {"password": "x"}, format="json"
    )
    done = client.post(
        f"/api/v1/signoffs/{signed['id']}/withdraw/",
        {"password": PASSWORD, "reason": "Signed the wrong version"},
        format="json",
    )

    assert wrong.status_code == 400
    assert done.status_code == 200
    body = done.json()
    assert body["withdrawn"] is True and body["current"] is False
    assert body["withdrawal"]["reason"] == "Signed the wrong version"
    assert SignOff.objects.get().comment == ""  # the signature itself is untouched
    assert SignOffWithdrawal.objects.count() == 1
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {SignOffWithdrawal._meta.db_table}")


def test_only_the_signer_withdraws(personas, validation_world, sign):
    signed = sign("clinical_reviewer", "model_version", validation_world.version.pk).json()
    client = APIClient()
    client.force_authenticate(personas.compliance_officer)

    response = client.post(
        f"/api/v1/signoffs/{signed['id']}/withdraw/", {"password": PASSWORD}, format="json"
    )

    assert response.status_code == 403
    assert not SignOffWithdrawal.objects.exists()


def test_signing_failing_and_withdrawing_are_audit_events(personas, validation_world, sign):
    sign("clinical_reviewer", "model_version", validation_world.version.pk, password="x")
    signed = sign("clinical_reviewer", "model_version", validation_world.version.pk).json()
    client = APIClient()
    client.force_authenticate(personas.clinical_reviewer)
    client.post(f"/api/v1/signoffs/{signed['id']}/withdraw/", {"password": PASSWORD})

    actions = list(
        AuditEvent.objects.filter(action__startswith="signature").values_list("action", flat=True)
    )
    assert actions == ["signature_failed", "signature", "signature_withdrawn"]
    signed_event = AuditEvent.objects.get(action="signature")
    assert signed_event.changes["record_digest"] == signed["record_digest"]
    assert signed_event.changes["meaning"] == "approved"


def test_a_service_account_can_never_sign(personas, validation_world):
    account = service_account_create(
        organization=personas.org,
        created_by=personas.admin,
        name="release pipeline",
        role="clinical_reviewer",
    )
    client = APIClient()
    client.force_authenticate(account.user)

    response = client.post(
        "/api/v1/signoffs/",
        {
            "target_type": "model_version",
            "target_id": str(validation_world.version.pk),
            "stage": "validation",
            "meaning": "approved",
            "password": "anything",
        },
        format="json",
    )

    assert response.status_code == 403
    assert "service account cannot sign" in response.json()["error"]["message"]
    assert not SignOff.objects.exists()


@pytest.mark.parametrize("role", ["auditor"])
def test_auditors_read_but_do_not_sign(personas, validation_world, sign, role):
    assert sign(role, "model_version", validation_world.version.pk).status_code == 403


def test_another_organisations_record_cannot_be_signed(personas, validation_world, sign):
    client = APIClient()
    client.force_authenticate(personas.outsider)
    response = client.post(
        "/api/v1/signoffs/",
        {
            "target_type": "model_version",
            "target_id": str(validation_world.version.pk),
            "stage": "validation",
            "meaning": "approved",
            "password": PASSWORD,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "No such model_version" in response.json()["error"]["message"]


def test_runs_datasets_and_cards_can_be_signed_too(personas, validation_world, sign):
    run = validation_world.runs[-1]
    dataset_version = validation_world.suite.datasets.first()

    assert (
        sign("compliance_officer", "evaluation_run", run.pk, meaning="reviewed").status_code == 201
    )
    assert (
        sign(
            "clinical_reviewer", "dataset_version", dataset_version.pk, stage="data_curation"
        ).status_code
        == 201
    )
    assert sign("compliance_officer", "model_card", "not-a-uuid").status_code == 400


def test_anyone_in_the_organisation_can_recompute_the_digest_signed(
    personas, validation_world, sign
):
    signed = sign("clinical_reviewer", "model_version", validation_world.version.pk).json()
    auditor = APIClient()
    auditor.force_authenticate(personas.auditor)

    record = auditor.get(
        "/api/v1/signoffs/record/",
        {"target_type": "model_version", "target_id": validation_world.version.pk},
    ).json()

    assert hashlib.sha256(record["canonical"].encode("utf-8")).hexdigest() == record["sha256"]
    assert record["sha256"] == signed["record_digest"]


def test_another_organisation_sees_no_signature(personas, validation_world, sign):
    signed = sign("clinical_reviewer", "model_version", validation_world.version.pk).json()
    outsider = APIClient()
    outsider.force_authenticate(personas.outsider)

    assert outsider.get("/api/v1/signoffs/").json()["results"] == []
    assert outsider.get(f"/api/v1/signoffs/{signed['id']}/").status_code == 404
    assert outsider.get(f"/api/v1/stage-gates/{validation_world.version.pk}/").status_code == 404
    record = outsider.get(
        "/api/v1/signoffs/record/",
        {"target_type": "model_version", "target_id": validation_world.version.pk},
    )
    assert record.status_code == 400
