"""Portal pages through Django's test client: every page renders for every role, writes are
refused by the server with the API's role rules, sessions expire after inactivity, and the
API docs load nothing from another host."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from apps.accounts.models import ApiToken, Role
from apps.audit.models import AuditEvent
from apps.registry.models import AIModel, Dataset
from tests.apps.evaluations.test_comparisons import versions  # noqa: F401  (fixture)
from tests.factories import AIModelFactory, DatasetFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboard/",
    "/models/",
    "/runs/",
    "/cards/",
    "/datasets/",
    "/verify/",
    "/account/tokens/",
    "/studies/",
]


@pytest.fixture
def browser_for(personas: Any) -> Any:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(personas.user(role))
        return client

    return make


def test_root_sends_visitors_to_sign_in_and_members_to_the_dashboard(browser_for: Any) -> None:
    assert Client().get("/")["Location"] == "/signin/"
    assert browser_for("auditor").get("/")["Location"] == "/dashboard/"


def test_pages_ask_for_sign_in() -> None:
    response = Client().get("/models/")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=/models/")


@pytest.mark.parametrize("role", Role.values)
def test_every_page_renders_for_every_role(personas: Any, browser_for: Any, role: str) -> None:
    model = AIModelFactory(organization=personas.org)
    dataset = DatasetFactory(organization=personas.org)
    client = browser_for(role)
    for path in [*PAGES, f"/models/{model.pk}/", f"/datasets/{dataset.pk}/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"<main" in response.content
        # Nothing inline that a strict Content-Security-Policy would block, nothing external.
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert ' style="' not in html, path
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), path


def test_sign_in_and_out_with_a_password(personas: Any) -> None:
    client = Client()
    bad = client.post("/signin/", {"username": "auditor", "password": "wrong"})
    assert bad.status_code == 400
    assert b"Please enter a correct username and password" in bad.content
    ok = client.post(
        "/signin/", {"username": "auditor", "password": "correct horse battery staple"}
    )
    assert ok.status_code == 302 and ok["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.post("/signout/")
    assert client.get("/dashboard/").status_code == 302


def test_sign_in_never_redirects_to_another_host(personas: Any) -> None:
    response = Client().post(
        "/signin/",
        {
            "username": "auditor",
            "password": "correct horse battery staple",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/dashboard/"


def test_a_session_ends_after_inactivity_but_not_while_polling(
    personas: Any, browser_for: Any, settings: Any
) -> None:
    settings.PORTAL_IDLE_SECONDS = 1
    client = browser_for("compliance_officer")
    assert client.get("/dashboard/").status_code == 200
    time.sleep(0.6)
    # A background poll neither counts as activity nor ends the session early.
    poll = client.get("/dashboard/active-runs/", headers={"X-Portal-Poll": "1"})
    assert poll.status_code == 200
    time.sleep(0.6)
    response = client.get("/models/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")
    assert client.get("/dashboard/").status_code == 302


def test_the_auditor_sees_no_write_control_and_the_server_refuses_writes(
    personas: Any, browser_for: Any
) -> None:
    model = AIModelFactory(organization=personas.org)
    dataset = DatasetFactory(organization=personas.org)
    client = browser_for("auditor")
    for path in [
        "/dashboard/",
        "/models/",
        f"/models/{model.pk}/",
        "/runs/",
        "/cards/",
        "/datasets/",
        f"/datasets/{dataset.pk}/",
    ]:
        html = client.get(path).content.decode()
        forms = re.findall(r'<form[^>]*method="post"[^>]*>', html)
        # Only the organisation switch and sign-out forms post from an auditor's pages.
        actions = {re.search(r'action="([^"]*)"', f).group(1) for f in forms if "action=" in f}
        assert actions <= {"/organisation/switch/", "/signout/"}, (path, actions)
        assert len(forms) == len(actions) or not forms, path
    before = AuditEvent.objects.filter(action="permission_denied").count()
    refused = [
        client.post(
            "/models/",
            {
                "name": "X",
                "intended_use": "x",
                "decision_role": "informs",
                "application_area": "patient_care",
                "risk_class": "low",
            },
        ),
        client.post("/datasets/", {"name": "D"}),
        client.post(f"/models/{model.pk}/", {"v-version_label": "1"}),
        client.post("/runs/", {"suite": "1", "model_version": "1"}),
        client.post("/cards/", {"profile": "hti1", "model_version": "1"}),
        client.post("/organisation/", {"form": "member"}),
        client.post("/suites/new/", {"name": "S"}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert not AIModel.objects.filter(name="X").exists()
    assert not Dataset.objects.filter(name="D").exists()
    assert AuditEvent.objects.filter(action="permission_denied").count() == before + len(refused)


def test_my_tokens_are_shown_once_in_my_own_role_and_can_be_revoked(
    personas: Any, browser_for: Any
) -> None:
    client = browser_for("clinical_reviewer")
    page = client.post("/account/tokens/", {"name": "my script", "expires_at": "2099-01-01"})
    assert b"At most 366 days" in page.content
    from datetime import date, timedelta

    day = (date.today() + timedelta(days=30)).isoformat()
    page = client.post("/account/tokens/", {"name": "my script", "expires_at": day})
    secret = re.search(rb'<code id="new-token">(ca_[^<]+)</code>', page.content).group(1).decode()
    token = ApiToken.objects.get(name="my script")
    assert token.role == Role.CLINICAL_REVIEWER and token.created_by == personas.clinical_reviewer
    assert page["Cache-Control"] == "no-store"
    assert secret.encode() not in client.get("/account/tokens/").content  # shown once
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/models/").status_code == 200
    # Someone else's token cannot be revoked through my page.
    other = browser_for("auditor")
    assert other.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    client.post(f"/account/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/models/").status_code in (401, 403)


def test_the_dataset_upload_lists_every_error_and_stores_nothing(
    personas: Any, browser_for: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    dataset = DatasetFactory(organization=personas.org)
    rows = [
        '{"id": "a1", "question": "Q?", "options": {"A": "x", "B": "y"}, "gold": ["A"]}',
        '{"id": "a2", "question": "Q?", "options": {"A": "x", "B": "y"}, "gold": ["C"]}',
        '{"id": "a3", "question": "", "options": {"A": "x", "B": "y"}, "gold": ["B"]}',
    ]
    upload = SimpleUploadedFile("items.jsonl", "\n".join(rows).encode())
    response = browser_for("compliance_officer").post(
        f"/datasets/{dataset.pk}/",
        {
            "file": upload,
            "format": "jsonl",
            "phi_status": "none",
            "licence": "CC BY 4.0",
            "provenance": "ours",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "items.jsonl line 2, field &quot;gold&quot;" in html
    assert "items.jsonl line 3, field &quot;question&quot;" in html
    assert not dataset.versions.exists()


def test_api_docs_load_nothing_from_another_host(browser_for: Any) -> None:
    html = browser_for("auditor").get("/api/docs/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"https?://[^\s\"'<>]+", html)
    assert any("swagger-ui" in u for u in urls)
    external = [u for u in urls if u.startswith(("http://", "https://", "//"))]
    assert external == [], external
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script
    script = browser_for("auditor").get("/api/docs/?script=").content.decode()
    assert "/api/schema/" in script and not re.search(r"https?://", script)


def test_only_definers_open_the_suite_form(browser_for: Any) -> None:
    assert browser_for("compliance_officer").get("/suites/new/").status_code == 200
    assert browser_for("model_developer").get("/suites/new/").status_code == 403
    assert browser_for("auditor").get("/suites/new/").status_code == 403


def test_a_queued_run_is_followed_and_cancelled_by_a_runner_only(
    personas: Any, browser_for: Any
) -> None:
    from apps.evaluations import services
    from apps.evaluations.models import EvaluationRun
    from tests.builders.evaluations import quick_suite
    from tests.factories import ModelVersionFactory

    suite = quick_suite(personas.org)
    version = ModelVersionFactory(model__organization=personas.org)
    run = services.run_create(suite=suite, model_version=version)  # not committed: stays queued
    auditor = browser_for("auditor")
    page = auditor.get(f"/runs/{run.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "Cancel run" not in page
    progress = auditor.get(f"/runs/{run.pk}/progress/?was=queued", headers={"X-Portal-Poll": "1"})
    assert b'id="run-progressbar"' in progress.content and "HX-Refresh" not in progress
    assert auditor.post(f"/runs/{run.pk}/cancel/").status_code == 403
    developer = browser_for("model_developer")
    assert "Cancel run" in developer.get(f"/runs/{run.pk}/").content.decode()
    developer.post(f"/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.CANCELLED
    # The poll of a page that showed it queued now asks the browser to reload.
    finished = auditor.get(f"/runs/{run.pk}/progress/?was=queued")
    assert finished["HX-Refresh"] == "true"
    again = developer.post(f"/runs/{run.pk}/cancel/", follow=True).content.decode()
    assert "Only a queued or running run can be cancelled" in again
    partial = auditor.get(f"/runs/{run.pk}/items/?wrong=true", headers={"HX-Request": "true"})
    assert partial.content.decode().startswith('<div id="run-items">')


def test_a_card_being_issued_is_followed_until_it_is_issued(
    personas: Any, browser_for: Any
) -> None:
    from apps.reports.models import ModelCard
    from apps.reports.services import model_card_request
    from tests.builders.reports import make_world

    world = make_world(personas.org)
    card = model_card_request(model_version=world.version, profile="payer", user=None)
    issuing = ModelCard.objects.filter(pk=card.pk)
    issuing.update(status=ModelCard.Status.ISSUING, progress=40, pdf_sha256="a" * 64)
    auditor = browser_for("auditor")
    page = auditor.get(f"/cards/{card.pk}/").content.decode()
    assert "is being issued" in page and 'hx-trigger="every 1s"' in page
    assert 'data-digest="pdf"' not in page  # the draft's files are not offered meanwhile
    status = f"/cards/{card.pk}/status/"
    polled = auditor.get(status, headers={"X-Portal-Poll": "1"})
    assert b'aria-label="Issuing progress"' in polled.content and "HX-Refresh" not in polled
    issuing.update(
        status=ModelCard.Status.ISSUED,
        progress=100,
        issued_at=timezone.now(),
        document={"sections": []},
        json_sha256="b" * 64,
        md_sha256="c" * 64,
    )
    assert auditor.get(status)["HX-Refresh"] == "true"
    page = auditor.get(f"/cards/{card.pk}/").content.decode()
    assert 'data-digest="pdf"' in page and "is being issued" not in page


def test_verify_page_answers_for_an_uploaded_file_by_its_sha256(browser_for: Any) -> None:
    content = b"%PDF-1.7 not an issued card" * 5000  # several upload chunks
    upload = SimpleUploadedFile("card.pdf", content, content_type="application/pdf")

    response = browser_for("auditor").post("/verify/", {"file": upload})

    assert response.status_code == 200
    digest = hashlib.sha256(content).hexdigest()
    page = response.content.decode()
    assert f"<code>{digest}</code>" in page  # the whole upload was hashed, not its first chunk
    assert "Not verified: no issued card has this digest." in page


def test_an_officer_issues_a_comparison_report_from_the_model_page(
    browser_for: Any,
    versions: dict[str, Any],  # noqa: F811  (the fixture of tests/apps/evaluations)
) -> None:
    from apps.reports.models import ComparisonReport

    model, suite = versions["model"], versions["suite"]
    page = f"/models/{model.pk}/"
    assert "Compare two versions" not in browser_for("auditor").get(page).content.decode()
    refused = browser_for("auditor").post(
        f"{page}comparisons/",
        {"c-suite": suite.pk, "c-baseline": versions["sft"].pk, "c-candidate": versions["dpo"].pk},
    )
    assert refused.status_code == 403 and not ComparisonReport.objects.exists()

    officer = browser_for("compliance_officer")
    assert "Compare two versions" in officer.get(page).content.decode()
    issued = officer.post(
        f"{page}comparisons/",
        {"c-suite": suite.pk, "c-baseline": versions["sft"].pk, "c-candidate": versions["dpo"].pk},
        follow=True,
    )

    report = ComparisonReport.objects.get()
    html = issued.content.decode()
    assert "Comparison report issued" in html and "cardiology" in report.summary
    assert f'<code data-digest="pdf">{report.pdf_sha256}</code>' in html
    pdf = browser_for("auditor").get(f"/api/v1/comparison-reports/{report.pk}/files/pdf/")
    assert pdf.status_code == 200
    assert (
        hashlib.sha256(
            b"".join(pdf.streaming_content if pdf.streaming else [pdf.content])
        ).hexdigest()
        == report.pdf_sha256
    )
    assert AuditEvent.objects.filter(action="download", object_id=str(report.pk)).exists()


def test_a_refused_comparison_is_shown_with_its_reason(
    browser_for: Any,
    versions: dict[str, Any],  # noqa: F811  (the fixture of tests/apps/evaluations)
) -> None:
    from tests.builders.evaluations import quick_suite

    other_suite = quick_suite(versions["model"].organization, name="Another suite")
    response = browser_for("compliance_officer").post(
        f"/models/{versions['model'].pk}/comparisons/",
        {
            "c-suite": other_suite.pk,
            "c-baseline": versions["sft"].pk,
            "c-candidate": versions["dpo"].pk,
        },
        follow=True,
    )
    assert "No report:" in response.content.decode()
