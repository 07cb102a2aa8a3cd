"""The portal in a real browser (Debian's Chromium, headless) against a live server, a real
Celery worker, Redis and PostgreSQL. A compliance officer registers a model and a version,
uploads a dataset (a file with two mistakes first), starts a run and watches it reach 100 %,
two reviewers sign the validation stage (one mistypes the password first and is refused),
schedules re-evaluation, fills a card's missing fields and issues it; an auditor downloads
the PDF, verifies it, verifies the audit trail (also offline, from the export) and finds no
write control on any page. Every main page passes the accessibility and keyboard checks and
is saved as a screenshot under var/screenshots/.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File
from playwright.sync_api import Page, expect

from apps.registry import services as registry
from apps.registry.models import AIModel, DatasetVersion
from apps.signoffs.models import SignOff
from tests.builders.accounts import PASSWORD
from tests.builders.browser import PageChecks, accessibility_problems
from tests.builders.evaluations import slice_file
from tests.factories import DatasetFactory

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

OPTIONS = {"A": "aorta", "B": "vena cava"}
TWO_MISTAKES = "\n".join(
    json.dumps(row)
    for row in [
        {"id": "q1", "question": "Which vessel?", "options": OPTIONS, "gold": ["A"]},
        {"id": "q2", "question": "Which organ?", "options": OPTIONS, "gold": ["E"]},  # no E
        {"id": "q3", "question": "Which one?", "options": OPTIONS, "gold": ["B"], "answer": "B"},
    ]
)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/signin/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def write_forms(page: Page) -> list[str]:
    """Forms that would change something (sign-out, the organisation switch and the card
    verification are not writes of records)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('form')).filter((f) => {
            const method = (f.getAttribute('method') || 'get').toLowerCase();
            const action = f.getAttribute('action') || location.pathname;
            const reads = ['/signout/', '/organisation/switch/', '/verify/'];
            return method === 'post' && !reads.includes(action);
        }).map((f) => f.outerHTML.slice(0, 160))"""
    )


def watch_run(page: Page) -> list[int]:
    """Read the progress bar until the run has finished; the values it showed."""
    seen: list[int] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            value = page.locator("#run-progressbar").get_attribute("value", timeout=2000)
            status = page.locator("#run-status").inner_text(timeout=2000)
        except Exception:  # the page reloads itself when the run finishes
            continue
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
        if status in ("Succeeded", "Failed", "Cancelled"):
            return seen
        time.sleep(0.25)
    raise AssertionError(f"run did not finish; progress seen {seen}")


def sign_validation(page: Page, base: str, version_pk: int, password: str) -> None:
    """Approve a version's validation stage, typing the password in the re-auth dialog."""
    page.goto(f"{base}/sign/model_version/{version_pk}/")
    page.get_by_label("Approved").check()
    expect(page.get_by_label("Lifecycle stage")).to_have_value("validation")
    page.get_by_label("Comment").fill("Thresholds and items reviewed")
    expect(page.get_by_label("Your password")).to_be_hidden()  # asked for in the dialog only
    page.get_by_role("button", name="Sign…").click()
    dialog = page.get_by_role("dialog", name="Re-authenticate to sign")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Your password")).to_be_focused()
    assert accessibility_problems(page) == []
    page.keyboard.type(password)
    dialog.get_by_role("button", name="Sign", exact=True).click()


def wait_rendered(page: Page) -> None:
    expect(page.locator("#comp-h")).to_be_visible(timeout=120_000)


def test_officer_and_auditor_walk(
    _async_unsafe_ok: None,
    live_server: Any,
    browser: Any,
    celery: Any,
    personas: Any,
    tiny_model_path: Path,
    tmp_path: Path,
    settings: Any,
    checks: PageChecks,
) -> None:
    settings.MODEL_ROOTS = [tiny_model_path.parent.resolve(), *settings.MODEL_ROOTS]
    worker = celery.worker(
        "portal-w1",
        wait=False,
        CAREALIGN_TEST_SHARD_DELAY="0.3",
        CAREALIGN_MODEL_ROOTS=str(tiny_model_path.parent.resolve()),
    )
    base = live_server.url
    # The bias vignettes are already in the registry; the officer uploads the knowledge items.
    bias_path = slice_file("bias", tmp_path)
    with bias_path.open("rb") as handle:
        registry.dataset_version_create(
            dataset=DatasetFactory(organization=personas.org, name="Bias vignettes"),
            upload=File(handle, name=bias_path.name),  # type: ignore[arg-type]
            format="jsonl",
            phi_status="none",
            licence="CC BY 4.0",
            provenance="fixtures/evaluation",
        )

    officer = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = officer.new_page()
    page.goto(base + "/signin/")
    checks.check(page, "01-signin")
    sign_in(page, base, "compliance_officer")
    checks.check(page, "02-dashboard-empty")

    # A model, then a version of it (a local folder, digested when registered).
    page.goto(base + "/models/")
    page.get_by_label("Name", exact=True).fill("Triage Assistant")
    page.get_by_label("Intended use", exact=True).fill(
        "Suggests the urgency of referrals for a clinician to confirm."
    )
    page.get_by_label("Decision role").select_option("informs")
    page.get_by_label("Application area").select_option("payer_operations")
    page.get_by_label("Risk class").select_option("moderate")
    page.get_by_role("button", name="Register model").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Triage Assistant")
    page.get_by_text("Register a version").click()
    page.get_by_label("Version label").fill("1.0")
    page.get_by_label("Source").select_option("local")
    page.get_by_label("Local path").fill(str(tiny_model_path))
    page.get_by_label("Instruction tuning").check()
    page.get_by_label("Lifecycle stage").select_option("validation")
    page.get_by_role("button", name="Register version").click()
    expect(page.locator(".msg.success")).to_contain_text("Version 1.0 is registered")
    model = AIModel.objects.get(name="Triage Assistant")
    version = model.versions.get()
    assert version.weights_digest and version.local_path == str(tiny_model_path.resolve())

    # A dataset: the first file has two mistakes, and both are listed with line and field.
    page.goto(base + "/datasets/")
    page.get_by_label("Name").fill("Knowledge items")
    page.get_by_role("button", name="Create dataset").click()
    bad = tmp_path / "knowledge.jsonl"
    bad.write_text(TWO_MISTAKES)
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_label("Format").select_option("jsonl")
    page.get_by_label("PHI status").select_option("none")
    page.get_by_label("Licence").fill("CC BY 4.0")
    page.get_by_label("Provenance").fill("Written by the clinical team")
    page.get_by_label("Demographic counts").fill("sex: female=6, male=6")
    page.get_by_role("button", name="Upload").click()
    errors = page.locator(".field.has-error .errorlist li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text('knowledge.jsonl line 2, field "gold"')
    expect(errors.nth(1)).to_contain_text('knowledge.jsonl line 3, field "answer"')
    checks.check(page, "03-dataset-upload-errors")
    good = slice_file("knowledge", tmp_path)
    page.get_by_label("File").set_input_files(str(good))
    page.get_by_label("Format").select_option("jsonl")
    page.get_by_label("PHI status").select_option("none")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".msg.success")).to_contain_text("Version 1 is stored: 12 items")
    knowledge = DatasetVersion.objects.get(dataset__name="Knowledge items")
    expect(page.locator("main")).to_contain_text(knowledge.sha256)
    checks.check(page, "04-dataset")

    # The suite, defined in the portal: data per check and thresholds as rows, no JSON.
    page.goto(base + "/runs/")
    page.get_by_role("link", name="Define a suite").click()
    page.get_by_label("Name", exact=True).fill("Release gate")
    page.get_by_role("group", name=re.compile("Knowledge items v1")).get_by_label(
        "knowledge"
    ).check()
    page.get_by_role("group", name=re.compile("Bias vignettes v1")).get_by_label("bias").check()
    page.get_by_label("Threshold 1: metric").fill("knowledge.acuracy")  # a typo first
    page.get_by_label("Threshold 1: must be").select_option(">=")
    page.get_by_label("Threshold 1: value").fill("0")
    page.get_by_label("Bootstrap resamples").fill("50")
    page.get_by_label("Drift tolerance").fill("0.05")
    page.get_by_role("button", name="Define suite").click()
    expect(page.locator(".errors-box")).to_contain_text("unknown metric 'acuracy'")
    page.get_by_label("Threshold 1: metric").fill("knowledge.accuracy")
    page.get_by_role("button", name="Define suite").click()
    expect(page.locator(".msg.success")).to_contain_text("Suite “Release gate v1” is defined")
    checks.check(page, "05-runs")

    # Start a run and watch the progress bar reach 100 %.
    celery.ready(worker)
    page.goto(base + "/runs/")
    page.get_by_label("Evaluation suite").select_option(label="Release gate v1")
    page.get_by_label("Model version").select_option(label="Triage Assistant 1.0")
    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Run #\d+"))
    seen = watch_run(page)
    assert seen[-1] == 100 and any(v < 100 for v in seen), seen
    expect(page.locator("#run-status")).to_have_text("Succeeded")
    expect(page.locator("#run-percent")).to_have_text("100 %")
    expect(page.locator("#res-h")).to_be_visible()
    expect(page.locator("section[aria-labelledby=res-h]")).to_contain_text("accuracy >= 0.0")
    # The reason of each decision (a handful of items: too few for any decision).
    expect(page.locator("section[aria-labelledby=res-h]")).to_contain_text(
        "insufficient data: n = "
    )
    checks.check(page, "06-run")
    page.get_by_label("Answers").select_option("true")
    expect(page.locator("#run-items tbody .badge.pass")).to_have_count(0)
    checks.check(page, "07-run-items-wrong")

    # Two reviewers sign the validation stage; the first one mistypes the password once.
    reviewer = browser.new_context(viewport={"width": 1280, "height": 900})
    page_r = reviewer.new_page()
    sign_in(page_r, base, "clinical_reviewer")
    sign_validation(page_r, base, version.pk, "not my password")
    dialog = page_r.get_by_role("dialog", name="Re-authenticate to sign")
    expect(dialog.locator(".field.has-error")).to_contain_text("Wrong password")
    assert not SignOff.objects.exists()
    page_r.keyboard.press("Escape")
    sign_validation(page_r, base, version.pk, PASSWORD)
    expect(page_r.locator(".messages")).to_contain_text("You signed")
    reviewer.close()
    sign_validation(page, base, version.pk, PASSWORD)
    expect(page.locator(".signature")).to_have_count(2)
    assert {s.signer.username for s in SignOff.objects.all()} == {
        "clinical_reviewer",
        "compliance_officer",
    }

    # Re-evaluation on a schedule; the model page shows the history as charts.
    page.goto(base + f"/models/{model.pk}/")
    page.get_by_text("Add a schedule").click()
    page.locator("#id_s-name").fill("Weekly")
    page.locator("#id_s-suite").select_option(label="Release gate v1")
    page.locator("#id_s-target").select_option("fixed")
    page.locator("#id_s-model_version").select_option(label="1.0")
    page.locator("#id_s-cron").fill("0 3 * * 1")
    page.get_by_role("button", name="Add schedule").click()
    expect(page.locator(".msg.success")).to_contain_text("Schedule “Weekly” is set")
    expect(page.locator("figure.chart svg").first).to_be_visible()
    checks.check(page, "08-model")
    page.goto(base + "/dashboard/")
    checks.check(page, "09-dashboard")

    # A payer card: every missing item has its input next to it (or, for what only data
    # fills, a link); the officer types what is missing, renders again, and issues.
    page.goto(base + f"/cards/?model={model.pk}")
    page.get_by_label("Model version").select_option(label="Triage Assistant 1.0")
    page.get_by_label("Profile").select_option("payer")
    page.get_by_role("button", name="Draft card").click()
    wait_rendered(page)
    fill = page.locator("form[action$='/fill/']")
    items = fill.locator(".checklist > li")
    assert items.count() > 0
    for item in items.all():
        inputs = item.locator("textarea, select, input").count()
        assert inputs or item.get_by_role("link").count() or "above" in item.inner_text(), (
            item.inner_text()
        )
    # The registry fields behind "Intended population and users", typed in plain fields.
    population = items.filter(has_text="Intended population and users")
    population.get_by_label("Target population").fill("Adults referred for specialist care")
    population.get_by_label("Intended users").fill("Referral coordinators and triage nurses")
    for area in fill.locator("textarea").all():
        if not area.input_value():
            area.fill("Documented by the compliance office, reviewed quarterly.")
    for select in fill.locator("select").all():
        if not select.input_value():
            select.select_option(index=1)
    checks.check(page, "10-card-draft")
    fill.get_by_role("button", name="Save and render again").click()
    wait_rendered(page)
    expect(page.locator("#completeness-count + .badge")).to_have_text("complete")
    expect(page.locator(".checklist")).to_have_count(0)
    model.refresh_from_db()
    assert model.target_population == "Adults referred for specialist care"
    assert model.intended_users == "Referral coordinators and triage nurses"
    page.get_by_role("button", name="Issue card").click()
    # A worker renders and signs the files; the page follows it without being reloaded.
    expect(page.locator(".msg.success")).to_contain_text("is being issued")
    for fmt in ("pdf", "json", "md"):
        expect(page.locator(f"code[data-digest={fmt}]")).to_have_text(
            re.compile(r"^[0-9a-f]{64}$"), timeout=120_000
        )
    expect(page.locator("p.sub .badge")).to_have_text("issued")
    card_url = page.url
    checks.check(page, "11-card-issued")
    page.goto(base + "/account/tokens/")
    checks.check(page, "12-tokens")
    officer.close()

    # The auditor: download the PDF, verify it, verify the audit trail; no write control.
    auditor = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = auditor.new_page()
    sign_in(page, base, "auditor")
    page.goto(card_url)
    recorded = page.locator("code[data-digest=pdf]").inner_text()
    with page.expect_download() as download:
        page.locator("a[data-format=pdf]").click()
    pdf = tmp_path / "card.pdf"
    download.value.save_as(pdf)
    body = pdf.read_bytes()
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == recorded
    page.goto(base + "/verify/")
    page.get_by_label("Card file (PDF, JSON, XML or README)").set_input_files(str(pdf))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-answer")).to_contain_text("Authentic")
    expect(page.locator("#verify-reason")).to_contain_text(
        "Reason: Authentic: the digest matches the pdf file of Payer summary card v1"
    )
    expect(page.locator("#verify-signature")).to_contain_text("holds")
    checks.check(page, "13-verify")
    # One byte added: the file still names its card, but it is not the issued file.
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(body + b"\n%altered\n")
    page.get_by_label("Card file (PDF, JSON, XML or README)").set_input_files(str(altered))
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-answer")).to_contain_text("Not verified")
    expect(page.locator("#verify-reason")).to_contain_text(
        "claims to be Payer summary card v1 of Triage Assistant, but its SHA-256 matches none"
    )
    page.get_by_label("or its SHA-256 digest").fill("0" * 64)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-answer")).to_contain_text("Not verified")
    expect(page.locator("#verify-reason")).to_contain_text("No issued card has a file")

    page.goto(base + "/audit/")
    page.get_by_role("button", name="Verify the chain now").click()
    expect(page.locator("#verify-result")).to_contain_text("chain intact")
    page.get_by_label("Action").fill("download")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-events")).to_contain_text("download")
    checks.check(page, "14-audit")
    head = page.locator("#chain-head").inner_text()
    export = page.request.get(base + "/api/v1/audit/export/?organization=st-example&format=jsonl")
    trail = tmp_path / "trail.jsonl"
    trail.write_bytes(export.body())
    offline = subprocess.run(
        [sys.executable, "-m", "apps.audit.verify", str(trail), "--anchor", head],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr

    # The API docs render from our own static files: any request to another host is refused
    # and counted.
    external: list[str] = []

    def refuse(route: Any) -> None:
        external.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^https?://(?!localhost[:/]|127\.0\.0\.1[:/])"), refuse)
    page.goto(base + "/api/docs/")
    expect(page.locator(".swagger-ui .title")).to_contain_text("CareAlign API", timeout=20_000)
    assert external == []

    run_path = f"/runs/{model.versions.get().runs.get().pk}/"
    pages = ["/dashboard/", "/models/", f"/models/{model.pk}/", "/runs/", run_path, "/cards/"]
    pages += [card_url.removeprefix(base), "/datasets/", f"/datasets/{knowledge.dataset_id}/"]
    pages += ["/verify/", "/audit/"]
    for path in pages:
        page.goto(base + path)
        assert write_forms(page) == [], path
        expect(
            page.get_by_role("button", name=re.compile("Issue|Start run|Upload|Register"))
        ).to_have_count(0)
    auditor.close()

    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    sign_in(page, base, "admin")
    page.goto(base + "/organisation/")
    expect(page.locator("main")).to_contain_text("auditor")
    checks.check(page, "15-organisation")
    admin.close()
    checks.assert_clean()
