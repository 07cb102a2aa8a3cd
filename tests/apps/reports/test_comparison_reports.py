"""Comparison reports: created through the API, rendered by WeasyPrint, PAdES-signed, stored
under their digests, downloaded with an audit event, verified online and offline, and cited
by the cards of the version they are evidence for."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from apps.audit.models import AuditEvent
from apps.common import filestore
from apps.reports import offline, signing
from apps.reports.comparison_report import file_name
from apps.reports.models import ComparisonReport
from tests.apps.evaluations.test_comparisons import versions  # noqa: F401  (fixture)
from tests.builders.evaluations import finished_run, quick_suite

pytestmark = pytest.mark.django_db
URL = "/api/v1/comparison-reports/"
VERIFY = "/api/v1/model-cards/verify/"


def _create(client: Any, suite: Any, *chosen: Any) -> Any:
    return client.post(URL, {"suite": suite.pk, "versions": [v.pk for v in chosen]}, format="json")


@pytest.fixture
def report(client_for: Any, versions: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    response = _create(
        client_for("compliance_officer"), versions["suite"], versions["sft"], versions["dpo"]
    )
    assert response.status_code == 201, response.json()
    return dict(response.json())


def test_the_report_states_exactly_the_known_differences(report, versions):  # noqa: F811
    stored = ComparisonReport.objects.get(pk=report["id"])
    assert stored.model_version == versions["dpo"] and stored.baseline_version == versions["sft"]
    (comparison,) = stored.document["body"]["comparisons"]
    decisions = {
        (r["dimension"], r["group"]): r["decision"]
        for r in comparison["rows"]
        if r["dimension"] == "specialty"
    }
    assert decisions == {
        ("specialty", "cardiology"): "improved",
        ("specialty", "dermatology"): "no_significant_change",
    }
    rows = {(r["dimension"], r["group"]): r for r in comparison["rows"]}
    # cardiology: 15 right in both, 20 newly right, 5 wrong in both; dermatology 4 and 4 flips.
    assert rows[("specialty", "cardiology")]["p_value"] == pytest.approx(
        sm_mcnemar([[15, 0], [20, 5]], exact=True).pvalue, rel=1e-12
    )
    assert rows[("specialty", "dermatology")]["p_value"] == pytest.approx(
        sm_mcnemar([[32, 4], [4, 0]], exact=True).pvalue, rel=1e-12
    )
    summary = report["summary"]
    assert "in cardiology" in summary and "in dermatology" not in summary
    assert "no significant change elsewhere" in summary
    assert summary.endswith("4 items newly wrong")
    assert "preference pairs" in summary  # the DPO version's preference dataset


def test_the_pdf_renders_is_signed_and_carries_the_json(report, client_for):
    response = client_for("auditor").get(report["files"]["pdf"])
    assert response.status_code == 200
    pdf = response.content
    assert (
        hashlib.sha256(pdf).hexdigest() == report["sha256"]["pdf"] == response["X-Content-SHA256"]
    )
    check = signing.check_pdf(pdf)
    assert check.present and check.intact and check.covers_whole_file
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata["/reportId"] == report["id"]
    text = "".join(page.extract_text() for page in reader.pages)
    assert "cardiology" in text and "Generalisation map" in text
    attached = reader.attachments["comparison-report.json"][0]
    json_file = client_for("auditor").get(report["files"]["json"]).content
    assert attached == json_file
    assert json.loads(json_file)["summary"] == report["summary"]


def test_creation_and_each_download_are_audited(report, client_for, personas):
    events = AuditEvent.objects.filter(organization=personas.org, object_id=report["id"])
    assert list(events.values_list("action", flat=True)) == ["create"]
    client = client_for("auditor")
    for fmt in ("pdf", "json", "pdf"):
        assert client.get(report["files"][fmt]).status_code == 200
    downloads = events.filter(action="download").order_by("seq")
    assert [e.changes["format"] for e in downloads] == ["pdf", "json", "pdf"]
    assert downloads[0].changes["sha256"] == report["sha256"]["pdf"]


def test_verifies_by_digest_by_upload_and_offline(report, client_for, tmp_path, settings):
    client = client_for("auditor")
    pdf = client.get(report["files"]["pdf"]).content
    by_digest = client.post(VERIFY, {"sha256": report["sha256"]["json"]}, format="json").json()
    assert by_digest["issued"] and by_digest["report"] == report["id"]
    assert by_digest["format"] == "json" and "Authentic" in by_digest["reason"]
    upload = client.post(VERIFY, {"file": io.BytesIO(pdf)}, format="multipart").json()
    assert upload["issued"] and upload["signature"]["intact"]
    assert upload["signature"]["organisation_certificate"] is True
    tampered = pdf + b"\n% appended\n"
    altered = client.post(VERIFY, {"file": io.BytesIO(tampered)}, format="multipart").json()
    assert altered["issued"] is False and altered["report"] == report["id"]
    assert "claims to be comparison report" in altered["reason"]
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    org = ComparisonReport.objects.get(pk=report["id"]).organization_id
    cert = signing.key_dir(org) / signing.CERT_FILE
    assert offline.main([str(path), "--cert", str(cert)]) == 0


def test_refused_across_suite_versions_and_for_readers(client_for, versions, personas):  # noqa: F811
    other = quick_suite(personas.org, name="Other")
    from tests.factories import ModelVersionFactory

    newer = ModelVersionFactory(model=versions["model"], version_label="1.5")
    finished_run(other, newer, accuracy=0.9)
    refused = _create(client_for("admin"), versions["suite"], versions["sft"], newer)
    assert refused.status_code == 400
    assert "different suite versions" in refused.json()["error"]["fields"]["versions"][0]
    denied = _create(client_for("auditor"), versions["suite"], versions["sft"], versions["dpo"])
    assert denied.status_code == 403
    assert not ComparisonReport.objects.exists()


def test_reports_are_frozen(report):
    stored = ComparisonReport.objects.get(pk=report["id"])
    with pytest.raises(ValueError, match="frozen"):
        stored.save()
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="frozen"), transaction.atomic():
        ComparisonReport.objects.filter(pk=stored.pk).update(summary="better")


def test_cards_cite_the_report_with_its_digest(world, personas, chai_dir):
    """CHAI (BiasMitigationApproaches, OngoingMaintenance, and its XML still validates),
    EU AI Act Annex IV point 6 and the payer summary's 'what changed' cite the report."""
    from apps.common.tenancy import Actor
    from apps.reports import comparison_report
    from apps.reports.document import document_build
    from apps.reports.formats import chai_xml
    from apps.reports.models import ModelCard
    from apps.reports.selectors import card_context_load
    from tests.factories import ModelVersionFactory

    previous = ModelVersionFactory(model=world.model, version_label="2.0.0")
    world.run(version=previous, items=60)
    world.run(items=60)  # the card's version, latest run with item results
    report = comparison_report.version_comparison_report_create(
        actor=Actor(roles={personas.org.pk: "admin"}),
        suite_id=world.suite.pk,
        version_ids=[previous.pk, world.version.pk],
    )
    ctx = card_context_load(model_version_id=world.version.pk)

    def build(profile: str) -> dict[str, Any]:
        card = ModelCard(model=world.model, model_version=world.version, profile=profile, version=1)
        return dict(document_build(card=card, ctx=ctx, status="draft"))

    def fields(document: dict[str, Any]) -> dict[str, str]:
        return {f["id"]: str(f["value"]) for s in document["sections"] for f in s["fields"]}

    chai = build("chai")
    bias, ongoing = fields(chai)["bias_mitigation"], fields(chai)["ongoing_maintenance"]
    for text in (bias, ongoing):
        assert report.pdf_sha256 in text and str(report.pk) in text
    assert bias.startswith("Balanced fine-tuning data")  # the documented text stays first
    xml = chai_xml.render(chai).decode("utf-8")
    chai_xml.validator(chai_dir).validate(xml)
    assert report.pdf_sha256 in xml
    assert report.pdf_sha256 in fields(build("eu_ai_act"))["lifecycle_changes"]
    assert report.summary in fields(build("payer"))["what_changed"]


def test_the_portal_verify_page_names_the_report(report, personas):
    from django.test import Client

    browser = Client()
    browser.force_login(personas.user("auditor"))
    page = browser.post("/verify/", {"sha256": report["sha256"]["pdf"]})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Authentic: this is a signed CareAlign paired version comparison report" in text
    assert "in cardiology" in text  # the summary, escaped like every value


def test_a_tampered_stored_report_file_is_refused_and_audited(report, client_for, personas):
    digest = report["sha256"]["json"]
    path = Path(filestore.storage().path(file_name(digest, "json")))
    path.chmod(0o644)
    path.write_bytes(b'{"tampered": true}')
    response = client_for("auditor").get(report["files"]["json"])
    assert response.status_code == 409
    assert "no longer matches its recorded SHA-256" in response.json()["error"]["message"]
    event = AuditEvent.objects.get(organization=personas.org, action="report_file_altered")
    assert event.changes["expected_sha256"] == digest
    assert event.changes["found_sha256"] == hashlib.sha256(b'{"tampered": true}').hexdigest()
    assert not AuditEvent.objects.filter(object_id=report["id"], action="download").exists()
