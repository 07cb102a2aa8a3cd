"""Stage gates: required current sign-offs and, for validation and deployment, a passing run."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.evaluations.models import CheckResult, EvaluationRun
from apps.registry.models import ModelVersion
from apps.signoffs.selectors import stage_gate

pytestmark = pytest.mark.django_db


def client(personas: Any, role: str) -> APIClient:
    c = APIClient()
    c.force_authenticate(personas.user(role))
    return c


def advance(personas: Any, version: ModelVersion, to: str, role: str = "compliance_officer"):
    return client(personas, role).post(
        f"/api/v1/stage-gates/{version.pk}/advance/", {"to_stage": to}, format="json"
    )


def approve_both(sign: Any, version: ModelVersion, stage: str = "validation") -> None:
    for role in ("clinical_reviewer", "compliance_officer"):
        assert sign(role, "model_version", version.pk, stage=stage).status_code == 201


def test_the_gate_names_each_missing_default_sign_off(personas, validation_world):
    gate = (
        client(personas, "auditor")
        .get(f"/api/v1/stage-gates/{validation_world.version.pk}/")
        .json()
    )

    assert gate["stage"] == "validation" and gate["next_stage"] == "deployment"
    assert gate["open"] is False
    assert gate["required_roles"] == ["clinical_reviewer", "compliance_officer"]
    assert gate["missing"] == [
        "a current approval at validation by a clinical reviewer",
        "a current approval at validation by a compliance officer",
    ]


def test_required_approvals_and_a_passing_run_open_the_gate(personas, validation_world, sign):
    version = validation_world.version
    refused = advance(personas, version, "deployment")
    approve_both(sign, version)

    moved = advance(personas, version, "deployment")

    assert refused.status_code == 400
    assert (
        "a current approval at validation by a clinical reviewer"
        in (refused.json()["error"]["message"])
    )
    assert moved.status_code == 200 and moved.json()["stage"] == "deployment"
    version.refresh_from_db()
    assert version.lifecycle_stage == "deployment"
    assert AuditEvent.objects.filter(action="stage_transition_refused").count() == 1
    assert AuditEvent.objects.filter(
        object_type="registry.modelversion", action="update", changes__has_key="lifecycle_stage"
    ).exists()


@pytest.mark.parametrize(
    ("verdict", "threshold"),
    [
        ("inconclusive", "inconclusive"),
        ("inconclusive", "insufficient_data"),  # the check column is 16 wide before #9
        ("incomplete", "not_evaluated"),
        ("fail", "fail"),
    ],
)
def test_a_run_that_did_not_pass_every_threshold_keeps_the_gate_closed(
    personas, validation_world, sign, verdict, threshold
):
    version = validation_world.version
    approve_both(sign, version)
    run = validation_world.run()
    check = CheckResult.objects.get(run=run, check_name="knowledge")
    check.verdict = verdict
    check.verdicts = [{**check.verdicts[0], "verdict": threshold, "reason": "95 % CI spans 0.6"}]
    check.save()

    gate = stage_gate(model_version=version)
    refused = advance(personas, version, "deployment")

    assert gate.open is False
    assert gate.missing == [
        f"the latest evaluation run {run.pk} did not pass knowledge ({verdict}): "
        f"accuracy: {threshold} (95 % CI spans 0.6)"
    ]
    assert refused.status_code == 400


def test_no_finished_run_keeps_validation_closed(personas, sign):
    from tests.builders.reports import make_world

    world = make_world(personas.org)
    approve_both(sign, world.version)

    assert stage_gate(model_version=world.version).missing == [
        "a finished evaluation run of this model version (none yet)"
    ]


def test_a_failed_latest_run_keeps_the_gate_closed(personas, validation_world, sign):
    approve_both(sign, validation_world.version)
    EvaluationRun.objects.create(
        organization=personas.org,
        model_version=validation_world.version,
        suite=validation_world.suite,
        status=EvaluationRun.Status.FAILED,
        error="model folder not found",
    )

    missing = stage_gate(model_version=validation_world.version).missing
    assert len(missing) == 1 and "failed: model folder not found" in missing[0]


def test_a_current_rejection_closes_the_gate_and_says_who_and_why(personas, validation_world, sign):
    version = validation_world.version
    approve_both(sign, version)
    sign("clinical_reviewer", "model_version", version.pk, meaning="rejected", comment="Unsafe")

    missing = stage_gate(model_version=version).missing
    reviewer = personas.clinical_reviewer.get_full_name()

    assert len(missing) == 1
    assert missing[0].startswith(f"rejected at validation by {reviewer} (clinical reviewer) on ")
    assert missing[0].endswith(": Unsafe")


def test_a_changed_record_makes_approvals_stale_and_closes_the_gate_again(
    personas, validation_world, sign
):
    version = validation_world.version
    approve_both(sign, version)
    assert stage_gate(model_version=version).open

    version.alignment_techniques = ["instruction_tuning"]
    version.save()

    missing = stage_gate(model_version=version).missing
    assert len(missing) == 2
    assert all("is stale: the model version changed after it was signed" in m for m in missing)
    assert advance(personas, version, "deployment").status_code == 400


def test_a_withdrawn_approval_no_longer_opens_the_gate(personas, validation_world, sign):
    from tests.builders.accounts import PASSWORD

    version = validation_world.version
    approve_both(sign, version)
    signoff = version.signoffs.get(signer_role="clinical_reviewer")
    client(personas, "clinical_reviewer").post(
        f"/api/v1/signoffs/{signoff.pk}/withdraw/", {"password": PASSWORD}, format="json"
    )

    assert stage_gate(model_version=version).missing == [
        "a current approval at validation by a clinical reviewer"
    ]


def test_each_organisation_sets_its_required_roles(personas, sign):
    from tests.builders.reports import make_world

    world = make_world(personas.org)
    world.version.lifecycle_stage = "data_curation"
    world.version.save()
    admin = client(personas, "admin")
    set_roles = admin.post(
        "/api/v1/stage-requirements/",
        {"stage": "data_curation", "roles": ["clinical_reviewer"]},
        format="json",
    )
    refused = client(personas, "compliance_officer").post(
        "/api/v1/stage-requirements/",
        {"stage": "data_curation", "roles": []},
        format="json",
    )
    listed = client(personas, "auditor").get("/api/v1/stage-requirements/").json()

    assert set_roles.status_code == 201 and refused.status_code == 403
    assert {
        "organization": "st-example",
        "stage": "data_curation",
        "roles": ["clinical_reviewer"],
        "default": False,
    } in listed
    assert (
        sign(
            "clinical_reviewer", "model_version", world.version.pk, stage="data_curation"
        ).status_code
        == 201
    )
    # Data curation is not gated on an evaluation run.
    assert advance(personas, world.version, "training").status_code == 200


def test_a_version_moves_only_to_the_next_stage_or_retired(personas, validation_world):
    version = validation_world.version

    skip = advance(personas, version, "monitoring")
    retire = advance(personas, version, "retired")

    assert skip.status_code == 400
    assert "moves only to deployment or retired" in skip.json()["error"]["message"]
    assert retire.status_code == 200 and retire.json()["stage"] == "retired"


def test_reviewers_cannot_move_stages_and_patch_cannot_bypass_the_gate(personas, validation_world):
    version = validation_world.version

    assert advance(personas, version, "deployment", role="clinical_reviewer").status_code == 403
    patched = client(personas, "admin").patch(
        f"/api/v1/model-versions/{version.pk}/", {"lifecycle_stage": "deployment"}, format="json"
    )
    created = client(personas, "admin").post(
        "/api/v1/model-versions/",
        {
            "model": validation_world.model.pk,
            "version_label": "9",
            "source_kind": "hub",
            "hub_id": "x/y",
            "revision": "a" * 40,
            "lifecycle_stage": "deployment",
        },
        format="json",
    )

    assert patched.status_code == 400 and "stage gate" in patched.json()["error"]["message"]
    assert created.status_code == 400
    version.refresh_from_db()
    assert version.lifecycle_stage == "validation"
