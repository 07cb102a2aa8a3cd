"""API wiring: draft (202), complete, issue, download, verify; roles and organisations."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEvent
from apps.reports.models import ModelCard
from tests.builders.reports import World, make_world

pytestmark = pytest.mark.django_db
URL = "/api/v1/model-cards/"


def request_card(client: Any, version: int, profile: str, capture: Any, **headers: Any) -> Any:
    with capture(execute=True):
        return client.post(
            URL, {"model_version": version, "profile": profile}, format="json", **headers
        )


@pytest.mark.usefixtures("fast_pdf")
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", 202),
        ("compliance_officer", 202),
        ("model_developer", 202),
        ("clinical_reviewer", 403),
        ("auditor", 403),
    ],
)
def test_who_may_draft(
    world: World, client_for: Any, django_capture_on_commit_callbacks: Any, role: str, expected: int
) -> None:
    response = request_card(
        client_for(role), world.version.pk, "hti1", django_capture_on_commit_callbacks
    )
    assert response.status_code == expected, response.json()


@pytest.mark.usefixtures("fast_pdf")
def test_drafting_answers_202_with_a_status_url_and_honours_idempotency_keys(
    world: World, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for("model_developer")
    headers = {"HTTP_IDEMPOTENCY_KEY": "release-2.1.0-hti1"}
    first = request_card(
        client, world.version.pk, "hti1", django_capture_on_commit_callbacks, **headers
    )
    assert first.status_code == 202
    body = first.json()
    assert first["Location"] == body["status_url"]
    assert body["status"] == "rendering" and body["progress"] == 0
    again = request_card(
        client, world.version.pk, "hti1", django_capture_on_commit_callbacks, **headers
    )
    assert again.json()["id"] == body["id"] and again["Idempotent-Replayed"] == "true"
    assert ModelCard.objects.count() == 1
    status = client.get(body["status_url"]).json()
    assert (status["status"], status["progress"]) == ("draft", 100.0)
    assert status["completeness"]["complete"] is True
    assert set(status["files"]) == {"pdf", "json", "md"}


@pytest.mark.usefixtures("fast_pdf")
def test_only_compliance_officers_and_admins_issue(
    world: World, client_for: Any, draft: Any, django_capture_on_commit_callbacks: Any
) -> None:
    card = draft(world.version, "payer")
    for role in ("model_developer", "auditor", "clinical_reviewer"):
        assert client_for(role).post(f"{URL}{card.pk}/issue/").status_code == 403
    assert client_for("outsider").post(f"{URL}{card.pk}/issue/").status_code == 404
    officer = client_for("compliance_officer")
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(f"{URL}{card.pk}/issue/")
    # Queued: the request holds no lock through the render; a worker issues it.
    assert response.status_code == 202 and response.json()["status"] == "issuing"
    assert officer.get(response["Location"]).json()["status"] == "issued"
    assert client_for("admin").post(f"{URL}{card.pk}/issue/").status_code == 409


@pytest.mark.usefixtures("fast_pdf")
def test_issuing_an_incomplete_card_is_refused_with_the_missing_fields(
    world: World, client_for: Any, draft: Any
) -> None:
    card = draft(world.version, "chai")
    response = client_for("admin").post(f"{URL}{card.pk}/issue/")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "card_incomplete"
    assert [m["field"] for m in error["missing"]] == ["stakeholders_consulted"]
    assert "Stakeholders consulted" in error["message"]


@pytest.mark.usefixtures("fast_pdf")
def test_other_organisations_see_nothing(world: World, client_for: Any, draft: Any) -> None:
    card = draft(world.version, "payer")
    outsider = client_for("outsider")
    assert outsider.get(f"{URL}{card.pk}/").status_code == 404
    assert outsider.get(f"{URL}{card.pk}/files/pdf/").status_code == 404
    assert outsider.get(URL).json()["results"] == []
    response = outsider.post(
        URL, {"model_version": world.version.pk, "profile": "hti1"}, format="json"
    )
    assert response.status_code == 400
    assert outsider.get(f"/api/v1/model-documentation/{world.model.pk}/").status_code == 404


@pytest.mark.usefixtures("fast_pdf")
def test_auditors_read_and_download_and_xml_is_chai_only(
    world: World, client_for: Any, draft: Any
) -> None:
    card = draft(world.version, "payer")
    auditor = client_for("auditor")
    assert auditor.get(f"{URL}{card.pk}/").status_code == 200
    json_file = auditor.get(f"{URL}{card.pk}/files/json/")
    assert json_file.status_code == 200
    assert hashlib.sha256(json_file.content).hexdigest() == card.json_sha256
    markdown = auditor.get(f"{URL}{card.pk}/files/md/")
    assert markdown["Content-Disposition"] == 'attachment; filename="README.md"'
    assert auditor.get(f"{URL}{card.pk}/files/xml/").status_code == 404


def test_profiles_and_completeness_preview(world: World, client_for: Any) -> None:
    client = client_for("auditor")
    profiles = {p["profile"]: p for p in client.get(f"{URL}profiles/").json()}
    assert set(profiles) == {"chai", "hti1", "eu_ai_act", "payer"}
    assert sum(len(s["fields"]) for s in profiles["hti1"]["sections"]) == 31
    assert profiles["chai"]["formats"] == ["pdf", "json", "md", "xml"]
    preview = client.get(
        f"{URL}completeness/", {"model_version": world.version.pk, "profile": "eu_ai_act"}
    ).json()
    assert [m["field"] for m in preview["missing"]] == ["signed_test_reports"]
    assert ModelCard.objects.count() == 0


def test_documentation_api(world: World, client_for: Any) -> None:
    url = f"/api/v1/model-documentation/{world.model.pk}/"
    assert client_for("auditor").get(url).json()["values"]["funding_source"]
    assert (
        client_for("model_developer").patch(url, {"values": {}}, format="json").status_code == 403
    )
    response = client_for("compliance_officer").patch(
        url,
        {"values": {"funding_source": "NIH grant R01", "output_type": "nonsense"}},
        format="json",
    )
    assert response.status_code == 400 and "output_type" in response.json()["error"]["message"]
    response = client_for("compliance_officer").patch(
        url, {"values": {"funding_source": "NIH grant R01"}}, format="json"
    )
    assert response.json()["values"]["funding_source"] == "NIH grant R01"
    assert response.json()["updated_by"] == "compliance_officer"
    keys = {
        f["key"] for f in client_for("auditor").get("/api/v1/model-documentation/fields/").json()
    }
    assert {"funding_source", "declaration_of_conformity", "bibliography"} <= keys


def test_verify_needs_a_file_or_a_digest(client_for: Any) -> None:
    client = client_for("auditor")
    assert client.post(f"{URL}verify/", {}, format="json").status_code == 400
    assert client.post(f"{URL}verify/", {"sha256": "xyz"}, format="json").status_code == 400
    answer = client.post(f"{URL}verify/", {"sha256": "a" * 64}, format="json").json()
    assert (answer["issued"], answer["sha256"]) == (False, "a" * 64)
    assert answer["reason"].startswith("No issued card has a file with this SHA-256")


def test_verify_refuses_an_oversized_upload(client_for: Any, settings: Any) -> None:
    from apps.reports import apis

    big = SimpleUploadedFile("card.pdf", b"%PDF" + b"0" * 2048, content_type="application/pdf")
    original = apis.VERIFY_MAX_BYTES
    apis.VERIFY_MAX_BYTES = 1024
    try:
        response = client_for("auditor").post(f"{URL}verify/", {"file": big}, format="multipart")
    finally:
        apis.VERIFY_MAX_BYTES = original
    assert response.status_code == 413


def test_a_compliance_officer_drafts_completes_and_issues_and_an_auditor_verifies(
    personas: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """End to end with the real PDF renderer: the downloaded PDF is the recorded one."""
    world = make_world(personas.org)
    world.run()
    officer = client_for("compliance_officer")
    # 1. Draft: the payer profile misses the oversight measures.
    from apps.reports.services import model_documentation_update

    model_documentation_update(model=world.model, values={"human_oversight_measures": None})
    body = request_card(
        officer, world.version.pk, "payer", django_capture_on_commit_callbacks
    ).json()
    card = officer.get(body["status_url"]).json()
    assert card["status"] == "draft"
    assert [m["field"] for m in card["completeness"]["missing"]] == ["human_oversight"]
    assert officer.post(f"{URL}{card['id']}/issue/").status_code == 400
    # 2. Complete the missing field where the card says, re-render, issue.
    officer.patch(
        f"/api/v1/model-documentation/{world.model.pk}/",
        {"values": {"human_oversight_measures": "A nurse reviews every recommendation."}},
        format="json",
    )
    again = request_card(officer, world.version.pk, "payer", django_capture_on_commit_callbacks)
    assert again.json()["id"] == card["id"]
    assert officer.get(body["status_url"]).json()["completeness"]["complete"] is True
    with django_capture_on_commit_callbacks(execute=True):
        queued = officer.post(f"{URL}{card['id']}/issue/")
    assert queued.status_code == 202
    issued = officer.get(queued["Location"]).json()
    assert issued["status"] == "issued"
    # 3. The auditor downloads the PDF: its SHA-256 is the recorded one.
    auditor = client_for("auditor")
    pdf = auditor.get(f"{URL}{card['id']}/files/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    digest = hashlib.sha256(pdf.content).hexdigest()
    assert digest == issued["sha256"]["pdf"] == pdf["X-Content-SHA256"]
    # 4. Anyone signed in verifies it: by upload, or by digest from another organisation.
    upload = SimpleUploadedFile("card.pdf", pdf.content, content_type="application/pdf")
    by_upload = auditor.post(f"{URL}verify/", {"file": upload}, format="multipart").json()
    assert by_upload["issued"] is True and by_upload["card"] == card["id"]
    assert (by_upload["model_version"], by_upload["profile"], by_upload["status"]) == (
        "2.1.0",
        "payer",
        "current",
    )
    by_digest = client_for("outsider").post(f"{URL}verify/", {"sha256": digest}, format="json")
    assert by_digest.json()["status"] == "current"
    assert set(by_digest.json()) == {
        "issued", "sha256", "format", "card", "card_version", "organization", "model",
        "model_version", "profile", "profile_title", "status", "issued_at", "superseded_at",
        "superseded_by_version", "reason",
    }  # fmt: skip
    assert by_upload["signature"]["intact"] and by_upload["signature"]["organisation_certificate"]
    events = AuditEvent.objects.filter(organization=personas.org)
    assert events.filter(action="download").count() == 1
    assert events.filter(action="card_verify").count() == 2


def test_admins_install_a_signing_key_members_read_the_certificate(
    personas: Any, client_for: Any, tmp_path: Any, settings: Any
) -> None:
    from apps.reports import signing

    url = f"{URL}signing-key/"
    org = personas.org.pk
    shown = client_for("auditor").get(url, {"organization": org}).json()
    assert shown["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert client_for("outsider").get(url, {"organization": org}).status_code == 404
    keys = settings.CAREALIGN_SIGNING_KEY_DIR
    settings.CAREALIGN_SIGNING_KEY_DIR = tmp_path
    pair = signing.org_key(organization_id=1, organization_name="Brought along")
    other = signing.org_key(organization_id=2, organization_name="Someone else")
    settings.CAREALIGN_SIGNING_KEY_DIR = keys

    def upload(role: str, cert: Any) -> Any:
        files = {
            "organization": org,
            "key": SimpleUploadedFile("key.pem", pair.key_path.read_bytes()),
            "cert": SimpleUploadedFile("cert.pem", cert.cert_pem),
        }
        return client_for(role).post(url, files, format="multipart")

    assert upload("compliance_officer", pair).status_code == 403
    refused = upload("admin", other)
    assert refused.status_code == 400 and "not for this private key" in refused.content.decode()
    installed = upload("admin", pair).json()
    assert installed["certificate_sha256"] == pair.fingerprint != shown["certificate_sha256"]
    event = AuditEvent.objects.get(action="card_signing_key_install")
    assert event.changes == {"certificate_sha256": pair.fingerprint}


@pytest.mark.usefixtures("fast_pdf")
def test_a_stored_file_altered_on_disk_is_a_json_error_and_an_audit_event(
    world: World, client_for: Any, draft: Any
) -> None:
    from apps.reports.services import card_file_path

    card = draft(world.version, "payer")
    path = card_file_path(card.json_sha256, "json")
    path.chmod(0o644)
    path.write_bytes(b'{"forged": true}')
    response = client_for("auditor").get(f"{URL}{card.pk}/files/json/")
    assert response.status_code == 409 and response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "card_file_altered"
    assert "no longer matches its recorded SHA-256" in error["message"]
    assert AuditEvent.objects.filter(action="card_file_altered", object_id=str(card.pk)).exists()
