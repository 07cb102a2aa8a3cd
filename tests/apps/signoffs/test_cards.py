"""Cards print sign-offs: CHAI and EU AI Act become issuable once the required ones exist."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.reports.models import ModelCard
from apps.reports.selectors import card_signatures
from tests.builders.accounts import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_pdf")]
URL = "/api/v1/model-cards/"
CONTRACT = {
    "signer_name",
    "signer_role",
    "meaning",
    "stage",
    "signed_at",
    "record_digest",
    "current",
    "comment",
}


def test_card_signatures_follows_the_contract(personas, world, sign, draft):
    sign("clinical_reviewer", "model_version", world.version.pk, comment="Safe for pilot")
    sign("compliance_officer", "evaluation_run", world.runs[-1].pk, meaning="reviewed")
    card = draft(world.version, "payer")

    signatures = card_signatures(card)

    assert [s["signer_role"] for s in signatures] == ["clinical_reviewer", "compliance_officer"]
    first = signatures[0]
    assert set(first) >= CONTRACT
    assert first["signer_name"] == personas.clinical_reviewer.get_full_name()
    assert first["signed_at"].endswith("Z") and first["current"] is True
    assert (first["meaning"], first["stage"], first["comment"]) == (
        "approved",
        "validation",
        "Safe for pilot",
    )
    assert len(first["record_digest"]) == 64


def test_chai_and_eu_cards_issue_once_signed_and_show_who_signed_what_at_which_stage(
    personas, world, sign, draft, django_capture_on_commit_callbacks
):
    admin = APIClient()
    admin.force_authenticate(personas.admin)
    refused = admin.post(f"{URL}{draft(world.version, 'chai').pk}/issue/")
    sign("clinical_reviewer", "model_version", world.version.pk)
    sign("compliance_officer", "evaluation_run", world.runs[-1].pk, meaning="reviewed")

    issued = {}
    for profile in ("chai", "eu_ai_act"):
        card = draft(world.version, profile)
        with django_capture_on_commit_callbacks(execute=True):  # the worker's issue task
            response = admin.post(f"{URL}{card.pk}/issue/")
        assert response.status_code == 202, response.json()
        issued[profile] = ModelCard.objects.get(pk=card.pk)
        assert issued[profile].status == "issued", issued[profile].error

    assert refused.status_code == 400
    reviewer = personas.clinical_reviewer.get_full_name()
    chai_fields = {f["id"]: f for s in issued["chai"].document["sections"] for f in s["fields"]}
    stakeholders = chai_fields["stakeholders_consulted"]["value"]
    assert f"{reviewer} (clinical_reviewer) — approved model version" in stakeholders
    assert "at stage validation" in stakeholders
    xml = admin.get(f"{URL}{issued['chai'].pk}/files/xml/")
    assert reviewer.encode() in xml.content
    assert b"StakeholdersConsulted" in xml.content
    readme = admin.get(f"{URL}{issued['eu_ai_act'].pk}/files/md/").content.decode()
    assert f"- {reviewer} — approved — " in readme
    assert [s["current"] for s in issued["eu_ai_act"].document["signatures"]] == [True, True]


def test_a_card_issued_with_a_token_names_the_tokens_holder(
    personas, world, sign, draft, django_capture_on_commit_callbacks
):
    sign("clinical_reviewer", "model_version", world.version.pk)
    card = draft(world.version, "payer")
    client, _ = token_client(personas, "compliance_officer")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{card.pk}/issue/")

    assert response.status_code == 202
    assert response.json()["issued_by"] == personas.compliance_officer.get_full_name()
    card.refresh_from_db()
    assert card.issued_by == personas.compliance_officer


def test_a_stale_signature_shows_as_not_current_on_the_next_card(personas, world, sign, draft: Any):
    sign("clinical_reviewer", "model_version", world.version.pk)
    world.version.base_model = "changed/base"
    world.version.save()

    card = draft(world.version, "eu_ai_act")

    assert card.document["signatures"][0]["current"] is False
    assert card.document["signatures"][0]["stale"] is True
    missing = [m["field"] for m in card.completeness["missing"]]
    assert "signed_test_reports" in missing
