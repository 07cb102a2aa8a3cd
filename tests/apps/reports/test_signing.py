"""Signed, self-proving card files, and the doors the database keeps shut."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from pypdf import PdfReader, PdfWriter

from apps.audit.models import AuditEvent
from apps.common.tenancy import actor_for_user
from apps.reports import signing
from apps.reports.formats import chai_xml
from apps.reports.models import ModelCard
from apps.reports.services import (
    model_card_file,
    model_card_issue,
    model_card_issue_finish,
    model_card_issue_request,
    model_card_verify_file,
    model_documentation_update,
)
from tests.builders.reports import World
from tests.factories import AIModelFactory, ModelVersionFactory
from worker import tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_pdf")]
Status = ModelCard.Status


@pytest.fixture
def issued(world: World, draft: Any) -> ModelCard:
    # No sign-offs here (the sign-off module's hook returns none): CHAI's stakeholders
    # element is filled from the documentation instead.
    model_documentation_update(
        model=world.model, values={"stakeholders_consulted": "Riverside patient council."}
    )
    return model_card_issue(card=draft(world.version, "chai"), user=None)


def _verify(content: bytes, personas: Any) -> dict[str, Any]:
    return model_card_verify_file(content=content, actor=actor_for_user(personas.auditor))


def test_issued_pdf_and_xml_carry_the_organisations_signature(
    issued: ModelCard, chai_dir: Path
) -> None:
    key = signing.key_dir(issued.organization_id)
    assert (key / signing.KEY_FILE).stat().st_mode & 0o077 == 0  # the key is the server's
    pdf = model_card_file(card=issued, fmt="pdf").content
    check = signing.check_pdf(pdf)
    assert check.intact and check.covers_whole_file
    fingerprint = signing.OrgKey(key / signing.KEY_FILE, key / signing.CERT_FILE).fingerprint
    assert check.certificate_sha256 == fingerprint
    xml = model_card_file(card=issued, fmt="xml").content
    chai_xml.validator(chai_dir).validate(xml.decode())  # ds:Signature where the XSD puts it
    assert signing.check_xml(xml).intact
    assert xml.rstrip().endswith(b"</ds:Signature></AppliedModelCard>")


def test_an_issued_file_verifies_with_its_reason(issued: ModelCard, personas: Any) -> None:
    answer = _verify(model_card_file(card=issued, fmt="pdf").content, personas)
    assert answer["issued"] and answer["status"] == "current"
    assert answer["reason"].startswith("Authentic: the digest matches the pdf file of")
    assert answer["signature"]["organisation_certificate"] is True


def test_a_changed_byte_fails_with_its_reason(issued: ModelCard, personas: Any) -> None:
    pdf = bytearray(model_card_file(card=issued, fmt="pdf").content)
    at = pdf.index(b"/MediaBox") + 12
    pdf[at] = ord("9") if pdf[at] != ord("9") else ord("8")
    answer = _verify(bytes(pdf), personas)
    assert not answer["issued"]
    assert answer["claims"]["card"] == str(issued.pk)
    assert "claims to be CHAI Applied Model Card v0.2 card v1" in answer["reason"]
    assert "signature does not hold" in answer["reason"]


def test_an_appended_update_fails_with_its_reason(issued: ModelCard, personas: Any) -> None:
    pdf = model_card_file(card=issued, fmt="pdf").content
    answer = _verify(pdf + b"\n% changed after signing\n", personas)
    assert "the file was changed after it was signed" in answer["reason"]


def test_a_resaved_pdf_fails_with_its_reason(issued: ModelCard, personas: Any) -> None:
    writer = PdfWriter(
        clone_from=PdfReader(io.BytesIO(model_card_file(card=issued, fmt="pdf").content))
    )
    out = io.BytesIO()
    writer.write(out)
    answer = _verify(out.getvalue(), personas)
    assert not answer["issued"] and answer["claims"]["card"] == str(issued.pk)
    assert "matches none of its files" in answer["reason"]
    assert not answer["signature"]["intact"] or not answer["signature"]["covers_whole_file"]


def test_a_forged_signature_fails_with_its_reason(
    issued: ModelCard, personas: Any, tmp_path: Path, settings: Any
) -> None:
    content = model_card_file(card=issued, fmt="pdf").content
    unsigned = content[: content.rindex(b"%%EOF", 0, len(content) - 10) + 5]
    real_keys = settings.CAREALIGN_SIGNING_KEY_DIR
    settings.CAREALIGN_SIGNING_KEY_DIR = tmp_path  # a forger's own key, under the same name
    forger = signing.org_key(organization_id=issued.organization_id, organization_name="St Ex")
    forged = signing.sign_pdf(unsigned + b"\n", forger, reason="forged", location="x")
    settings.CAREALIGN_SIGNING_KEY_DIR = real_keys
    answer = _verify(forged, personas)
    assert answer["signature"]["intact"] and answer["signature"]["covers_whole_file"]
    assert answer["signature"]["organisation_certificate"] is False
    assert "a forged signature" in answer["reason"]


def test_a_changed_xml_fails_with_its_reason(issued: ModelCard, personas: Any) -> None:
    xml = model_card_file(card=issued, fmt="xml").content
    answer = _verify(xml.replace(b"Discharge Assistant", b"Discharge Assistent", 1), personas)
    assert not answer["issued"]
    assert not answer["signature"]["intact"]
    assert "Digest mismatch" in answer["signature"]["detail"]


def test_the_offline_verifier_needs_only_the_file_and_the_certificate(
    issued: ModelCard, tmp_path: Path
) -> None:
    pdf = tmp_path / "card.pdf"
    pdf.write_bytes(model_card_file(card=issued, fmt="pdf").content)
    cert = signing.key_dir(issued.organization_id) / signing.CERT_FILE
    ok = subprocess.run(
        [sys.executable, "-m", "apps.reports.offline", str(pdf), "--cert", str(cert)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert (
        f"claims to be card: {issued.pk}" in ok.stdout and "verdict: signature holds" in ok.stdout
    )
    pdf.write_bytes(pdf.read_bytes() + b"\n% appended\n")
    bad = subprocess.run(
        [sys.executable, "-m", "apps.reports.offline", str(pdf), "--cert", str(cert)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (
        bad.returncode == 1
        and "NOT verified the file was changed after it was signed" in bad.stdout
    )


def test_an_uploaded_key_pair_is_checked_and_used(
    world: World, draft: Any, tmp_path: Path, settings: Any
) -> None:
    settings.CAREALIGN_SIGNING_KEY_DIR = tmp_path / "made"
    made = signing.org_key(organization_id=99, organization_name="Uploaded Org")
    other = signing.org_key(organization_id=98, organization_name="Other Org")
    settings.CAREALIGN_SIGNING_KEY_DIR = tmp_path / "live"
    with pytest.raises(signing.SigningKeyError, match="not for this private key"):
        signing.org_key_install(
            organization_id=world.model.organization_id,
            key_pem=made.key_path.read_bytes(),
            cert_pem=other.cert_pem,
        )
    installed = signing.org_key_install(
        organization_id=world.model.organization_id,
        key_pem=made.key_path.read_bytes(),
        cert_pem=made.cert_pem,
    )
    card = model_card_issue(card=draft(world.version, "hti1"), user=None)
    pdf = model_card_file(card=card, fmt="pdf").content
    assert signing.check_pdf(pdf).certificate_sha256 == installed.fingerprint == made.fingerprint


def test_issue_task_has_a_stable_name_and_ignores_redelivery(world: World, draft: Any) -> None:
    assert tasks.model_card_issue.name == "worker.tasks.model_card_issue"
    card = model_card_issue_request(card=draft(world.version, "hti1"), user=None)
    assert card.status == Status.ISSUING
    done = model_card_issue_finish(card_id=str(card.pk), generation=card.generation)
    assert done is not None and done.status == Status.ISSUED
    assert model_card_issue_finish(card_id=str(card.pk), generation=card.generation) is None
    assert AuditEvent.objects.filter(action="card_issue_request").count() == 1


def test_truncate_is_refused_on_the_card_table(issued: ModelCard) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks of this test's rows
    with (
        pytest.raises(DatabaseError, match="cannot be truncated"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE reports_modelcard CASCADE")
    assert ModelCard.objects.filter(pk=issued.pk).exists()


def test_a_card_never_supersedes_itself_or_another_models_card(
    world: World, draft: Any, issued: ModelCard
) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reports_modelcard SET superseded_by_id = id WHERE id = %s", [issued.pk]
        )
    other_version = ModelVersionFactory(model=AIModelFactory(organization=world.model.organization))
    other = draft(other_version, "chai")
    mine = draft(world.version, "chai")
    for successor in (other.pk,):
        with pytest.raises(DatabaseError, match="its model and profile"), transaction.atomic():
            ModelCard.objects.filter(pk=mine.pk).update(superseded_by=successor)
    hti1 = draft(world.version, "hti1")
    with pytest.raises(DatabaseError, match="its model and profile"), transaction.atomic():
        ModelCard.objects.filter(pk=mine.pk).update(superseded_by=hti1.pk)


def test_check_card_files_reports_each_stored_card(issued: ModelCard) -> None:
    from django.core.management import CommandError, call_command

    from apps.reports.services import card_file_path

    out = io.StringIO()
    # The stand-in PDF of these tests is no PDF/A: the command names what it lacks.
    with pytest.raises(CommandError, match="1 card\\(s\\) with problems"):
        call_command("check_card_files", stdout=out)
    assert "6.6.4: XMP pdfaid:part is not 3" in out.getvalue()
    assert "signature:" not in out.getvalue()
    path = card_file_path(issued.pdf_sha256, "pdf")
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"\n% changed\n")
    with pytest.raises(CommandError, match="card\\(s\\) with problems"):
        call_command("check_card_files", stdout=out)
    assert "signature: the file was changed after it was signed" in out.getvalue()


def test_a_failed_issue_render_leaves_a_failed_card_and_no_issued_one(
    world: World, draft: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import apps.reports.pdf

    def broken(document: dict[str, Any], **kwargs: Any) -> bytes:
        raise apps.reports.pdf.RenderError("render exceeded 60 s")

    card = model_card_issue_request(card=draft(world.version, "hti1"), user=None)
    monkeypatch.setattr(apps.reports.pdf, "render_pdf", broken)
    failed = model_card_issue_finish(card_id=str(card.pk), generation=card.generation)
    assert failed is not None and failed.status == Status.FAILED
    assert failed.error == "issue failed: RenderError: render exceeded 60 s"
    assert failed.document is None and failed.issued_at is None
    assert not ModelCard.objects.filter(status=Status.ISSUED).exists()


def test_signing_and_checking_work_inside_a_running_event_loop(world: World, draft: Any) -> None:
    # pyHanko's synchronous API calls asyncio.run(); an ASGI server or a browser-test driver
    # already runs a loop in this thread.
    import asyncio

    unsigned = model_card_file(card=draft(world.version, "payer"), fmt="pdf").content
    key = signing.org_key(
        organization_id=world.model.organization_id, organization_name="St Example Hospital"
    )

    async def inside() -> tuple[Any, Any]:
        signed = signing.sign_pdf(unsigned, key, reason="test", location="test")
        return signing.check_pdf(unsigned), signing.check_pdf(signed)

    before, after = asyncio.run(inside())
    assert not before.present
    assert after.present and after.intact and after.covers_whole_file
