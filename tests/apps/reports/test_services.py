"""Drafting, issuing, immutability, supersession, downloads, verification, documentation."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from apps.audit.models import AuditEvent
from apps.common.tenancy import actor_for_user
from apps.reports import services
from apps.reports.models import ModelCard, ModelDocumentation
from apps.reports.services import (
    CardIncomplete,
    CardStateError,
    card_file_path,
    model_card_file,
    model_card_issue,
    model_card_render,
    model_card_verify,
    model_documentation_update,
)
from tests.builders.reports import World
from tests.factories import ModelVersionFactory
from worker import tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_pdf")]
Status = ModelCard.Status


def test_render_task_has_a_stable_name() -> None:
    assert tasks.model_card_render.name == "worker.tasks.model_card_render"


def test_drafting_renders_every_format_of_the_profile(world: World, draft: Any) -> None:
    card = draft(world.version, "chai")
    assert (card.status, card.progress, card.version) == (Status.DRAFT, 100, 1)
    for fmt in ("pdf", "json", "xml", "md"):
        digest = card.sha256_of(fmt)
        assert hashlib.sha256(card_file_path(digest, fmt).read_bytes()).hexdigest() == digest
    assert card.document["card"]["status"] == "draft"
    assert card.completeness == card.document["completeness"]


def test_non_chai_profiles_have_no_xml(world: World, draft: Any) -> None:
    assert draft(world.version, "payer").xml_sha256 == ""


def test_redrafting_re_renders_the_same_draft(world: World, draft: Any) -> None:
    first = draft(world.version, "hti1")
    again = draft(world.version, "hti1")
    assert again.pk == first.pk and again.version == 1 and again.generation == 2
    assert ModelCard.objects.count() == 1


def test_a_redelivered_or_outdated_render_task_does_nothing(world: World, draft: Any) -> None:
    card = draft(world.version, "hti1")
    assert model_card_render(card_id=str(card.pk), generation=card.generation) is None
    assert model_card_render(card_id=str(card.pk), generation=card.generation - 1) is None


def test_a_failed_render_is_recorded_on_the_card(
    world: World, draft: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import apps.reports.pdf

    def broken(document: Any, **kwargs: Any) -> bytes:
        raise apps.reports.pdf.RenderError("the URL fetcher refused file:///etc/passwd")

    monkeypatch.setattr(apps.reports.pdf, "render_pdf", broken)
    card = draft(world.version, "payer")
    assert card.status == Status.FAILED
    assert "URL fetcher refused" in card.error
    monkeypatch.undo()


def test_issuing_is_refused_while_required_fields_are_missing(world: World, draft: Any) -> None:
    card = draft(world.version, "eu_ai_act")
    with pytest.raises(CardIncomplete) as refused:
        model_card_issue(card=card, user=None)
    assert [m["field"] for m in refused.value.missing] == ["signed_test_reports"]
    assert "Sign-offs" in str(refused.value)
    card.refresh_from_db()
    assert card.status == Status.DRAFT


def test_issuing_freezes_the_card(world: World, draft: Any, personas: Any) -> None:
    card = draft(world.version, "hti1")
    issued = model_card_issue(card=card, user=personas.compliance_officer)
    assert issued.status == Status.ISSUED and issued.issued_at is not None
    assert issued.issued_by == personas.compliance_officer
    assert issued.document["card"]["status"] == "issued"
    assert issued.document["card"]["issued_by"] == personas.compliance_officer.printed_name
    for fmt in ("pdf", "json", "md"):
        content = card_file_path(issued.sha256_of(fmt), fmt).read_bytes()
        assert hashlib.sha256(content).hexdigest() == issued.sha256_of(fmt)
    with pytest.raises(CardStateError):
        model_card_issue(card=issued, user=personas.compliance_officer)


def test_an_issued_card_cannot_be_changed_or_deleted(world: World, draft: Any) -> None:
    issued = model_card_issue(card=draft(world.version, "hti1"), user=None)
    card = ModelCard.objects.get(pk=issued.pk)
    card.error = "tampered"
    with pytest.raises(ValueError, match="issued"):
        card.save()
    with pytest.raises(ValueError, match="issued"):
        card.delete()
    # The database refuses too, whatever path the change takes.
    for change in ({"pdf_sha256": "0" * 64}, {"status": "draft"}, {"document": {}}):
        with pytest.raises(DatabaseError), transaction.atomic():
            ModelCard.objects.filter(pk=card.pk).update(**change)
    with pytest.raises(DatabaseError), transaction.atomic():
        ModelCard.objects.filter(pk=card.pk).delete()
    assert ModelCard.objects.get(pk=card.pk).pdf_sha256 == issued.pdf_sha256


def test_a_newer_issue_supersedes_the_old_card(world: World, draft: Any, personas: Any) -> None:
    old = model_card_issue(card=draft(world.version, "payer"), user=None)
    newer_version = ModelVersionFactory(model=world.model, version_label="2.2.0")
    world.run(version=newer_version)
    new = model_card_issue(card=draft(newer_version, "payer"), user=None)
    old = ModelCard.objects.get(pk=old.pk)
    assert (old.status, old.superseded_by, new.version) == (Status.SUPERSEDED, new, 2)
    assert old.superseded_at == new.issued_at
    # The old card stays downloadable, unchanged.
    assert model_card_file(card=old, fmt="pdf").sha256 == old.pdf_sha256
    # A superseded card cannot move again.
    with pytest.raises(DatabaseError), transaction.atomic():
        ModelCard.objects.filter(pk=old.pk).update(status="issued")
    # Issue history shows up on the next card's lifecycle section.
    eu = draft(newer_version, "eu_ai_act")
    lifecycle = next(
        f["value"]
        for s in eu.document["sections"]
        for f in s["fields"]
        if f["id"] == "lifecycle_changes"
    )
    assert "Payer summary v1 issued" in lifecycle and "(superseded)" in lifecycle


def test_verification_by_digest_answers_status_and_audits(
    world: World, draft: Any, personas: Any
) -> None:
    outsider = actor_for_user(personas.outsider)
    old = model_card_issue(card=draft(world.version, "payer"), user=None)
    answer = model_card_verify(sha256=old.pdf_sha256.upper(), actor=outsider)
    assert answer["issued"] is True and answer["status"] == "current"
    assert (answer["model"], answer["model_version"], answer["profile"]) == (
        "Discharge Assistant",
        "2.1.0",
        "payer",
    )
    assert model_card_verify(sha256=old.json_sha256, actor=outsider)["format"] == "json"
    model_card_issue(card=draft(world.version, "payer"), user=None)
    later = model_card_verify(sha256=old.pdf_sha256, actor=outsider)
    assert later["status"] == "superseded" and later["superseded_by_version"] == 2
    events = AuditEvent.objects.filter(action="card_verify", organization=personas.org)
    assert events.count() == 3
    assert events.last().actor == "user:outsider"


def test_unknown_and_draft_digests_are_not_issued_cards(
    world: World, draft: Any, personas: Any
) -> None:
    actor = actor_for_user(personas.auditor)
    card = draft(world.version, "hti1")
    answer = model_card_verify(sha256=card.pdf_sha256, actor=actor)
    assert (answer["issued"], answer["sha256"]) == (False, card.pdf_sha256)
    assert answer["reason"].startswith("No issued card has a file with this SHA-256")
    assert model_card_verify(sha256="f" * 64, actor=actor)["issued"] is False
    assert AuditEvent.objects.filter(action="card_verify").count() == 2


def test_every_download_is_audited(world: World, draft: Any, personas: Any) -> None:
    card = draft(world.version, "chai")
    found = model_card_file(card=card, fmt="xml", actor=actor_for_user(personas.auditor))
    assert found.content.startswith(b'<?xml version="1.0"')
    event = AuditEvent.objects.filter(action="download").get()
    assert (event.object_id, event.changes["format"]) == (str(card.pk), "xml")
    assert event.actor == "user:auditor"


def test_a_tampered_stored_file_is_not_served(world: World, draft: Any) -> None:
    card = draft(world.version, "payer")
    path = card_file_path(card.md_sha256, "md")
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(services.CardFileAltered, match="no longer matches its recorded SHA-256"):
        model_card_file(card=card, fmt="md")
    event = AuditEvent.objects.filter(action="card_file_altered").get()
    assert event.changes["expected_sha256"] == card.md_sha256
    assert event.changes["found_sha256"] == hashlib.sha256(b"tampered").hexdigest()


def test_documentation_updates_are_validated_versioned_and_audited(world: World) -> None:
    doc = ModelDocumentation.objects.get(model=world.model)
    revision = doc.revision
    doc = model_documentation_update(model=world.model, values={"funding_source": "A grant"})
    assert (doc.revision, doc.values["funding_source"]) == (revision + 1, "A grant")
    same = model_documentation_update(model=world.model, values={"funding_source": "A grant"})
    assert same.revision == revision + 1
    model_documentation_update(model=world.model, values={"funding_source": None})
    assert "funding_source" not in ModelDocumentation.objects.get(model=world.model).values
    event = AuditEvent.objects.filter(object_type="reports.modeldocumentation").last()
    assert event.changes["values"][0]["funding_source"] == "A grant"
    for bad in (
        {"no_such_field": "x"},
        {"output_type": "guess"},
        {"keywords": "not a list"},
        {"demographic_input_features": ["star_sign"]},
        {"evaluation_data_origin": {"Core safety": "somewhere"}},
        {"gpu_hour_cost_usd": -1},
    ):
        with pytest.raises(ValidationError):
            model_documentation_update(model=world.model, values=bad)


def test_issue_events_are_in_the_audit_trail(world: World, draft: Any) -> None:
    old = model_card_issue(card=draft(world.version, "hti1"), user=None)
    model_card_issue(card=draft(world.version, "hti1"), user=None)
    actions = list(
        AuditEvent.objects.filter(object_type="reports.modelcard").values_list(
            "action", "object_id"
        )
    )
    assert ("card_supersede", str(old.pk)) in actions
    assert [a for a, _ in actions].count("card_issue") == 2
    assert services.JSON_ATTACHMENT == "model-card.json"


def test_issuing_refuses_a_draft_whose_data_changed_since_it_was_rendered(
    world: World, draft: Any
) -> None:
    card = draft(world.version, "hti1")
    model_documentation_update(model=world.model, values={"funding_source": "A new grant"})
    with pytest.raises(CardStateError, match=r"changed since this draft.*Funding source"):
        model_card_issue(card=card, user=None)
    again = draft(world.version, "hti1")
    assert model_card_issue(card=again, user=None).status == Status.ISSUED
