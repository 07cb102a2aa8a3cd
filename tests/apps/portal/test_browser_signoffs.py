"""Sign-offs, stage gates and preference studies in a real browser (Debian's Chromium,
headless) against a live server and PostgreSQL. Two reviewers sign the validation stage (one
first types a wrong password and is refused next to the field), the officer moves the version
through its gate, a reviewer judges a preference study with the keyboard only and reads the
results, and an auditor finds no write control on these pages. Every page passes the
accessibility and keyboard checks and is saved under var/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apps.signoffs import services
from apps.signoffs.models import PreferenceJudgment, SignOff
from tests.apps.portal.test_browser import sign_in, sign_validation, write_forms
from tests.builders.accounts import PASSWORD
from tests.builders.browser import SCREENSHOTS, PageChecks, accessibility_problems
from tests.builders.reports import make_world

pytestmark = pytest.mark.django_db(transaction=True)


def judge_by_keyboard(page: Page) -> None:
    """One pair: left is better, every criterion rated with a digit, Enter submits."""
    expect(page.locator("form[data-judge][data-keys=ready]")).to_have_count(1)
    page.keyboard.press("l")
    for digit in "45344213":
        page.keyboard.press(digit)
    page.keyboard.press("Enter")


def test_reviewers_sign_officer_advances_reviewer_judges_auditor_reads(
    _async_unsafe_ok: None,
    live_server: Any,
    browser: Any,
    personas: Any,
    checks: PageChecks,
) -> None:
    base = live_server.url
    world = make_world(personas.org)
    world.run()
    version = world.version
    rows = [
        {"prompt": f"Discharge question {i}?", "answer_a": f"Plan A {i}", "answer_b": f"Plan B {i}"}
        for i in range(3)
    ]
    study = services.preference_study_create(
        organization=personas.org,
        created_by=personas.user("compliance_officer"),
        name="Discharge advice",
        pairs=rows,
        labels=("2.0.0", "2.1.0"),
        seed=7,
    )

    # A clinical reviewer: the dashboard says a sign-off waits; a wrong password is refused.
    reviewer = browser.new_context(viewport={"width": 1280, "height": 900})
    page = reviewer.new_page()
    sign_in(page, base, "clinical_reviewer")
    waiting = page.locator("section[aria-labelledby=waiting-h]")
    expect(waiting).to_contain_text(f"{world.model.name} {version.version_label}")
    checks.check(page, "20-dashboard-waiting")
    waiting.get_by_role("link", name=f"{world.model.name} {version.version_label}").click()
    expect(page.locator("#record-digest")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    checks.check(page, "21-sign")
    sign_validation(page, base, version.pk, "not my password")
    # The page comes back with the dialog open and the reason next to the password field.
    dialog = page.get_by_role("dialog", name="Re-authenticate to sign")
    expect(dialog).to_be_visible()
    password_field = dialog.locator(".field.has-error", has=page.get_by_label("Your password"))
    expect(password_field).to_contain_text("Wrong password")
    expect(page.get_by_label("Your password")).to_have_value("")
    assert accessibility_problems(page) == []
    page.screenshot(path=str(SCREENSHOTS / "22-sign-wrong-password-dialog.png"), full_page=True)
    assert not SignOff.objects.exists()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    checks.check(page, "22-sign-wrong-password")
    sign_validation(page, base, version.pk, PASSWORD)
    expect(page.locator(".messages")).to_contain_text("You signed")
    expect(page.locator(".signature")).to_contain_text("Approved")

    # The reviewer judges the preference study with the keyboard only.
    page.goto(f"{base}/studies/{study.pk}/judge/")
    checks.check(page, "23-judge")
    # The checks tabbed through the page (moving the highlighted criterion): start afresh.
    page.goto(f"{base}/studies/{study.pk}/judge/")
    for done in range(1, 4):
        judge_by_keyboard(page)
        expect(page.locator("#judge-progress")).to_contain_text(f"{done} / 3")
    expect(page.locator("main")).to_contain_text("You have judged every pair")
    assert PreferenceJudgment.objects.filter(pair__study=study).count() == 3
    assert set(PreferenceJudgment.objects.values_list("rationale", flat=True)) == {""}
    page.goto(f"{base}/studies/{study.pk}/results/")
    expect(page.locator("figure.chart svg")).to_have_count(2)
    checks.check(page, "24-study-results")
    reviewer.close()

    # The compliance officer signs too, then moves the version through the open gate.
    officer = browser.new_context(viewport={"width": 1280, "height": 900})
    page = officer.new_page()
    sign_in(page, base, "compliance_officer")
    page.goto(f"{base}/models/{world.model.pk}/")
    expect(page.locator(".gate-missing")).to_contain_text("by a compliance officer")
    page.get_by_role("button", name="Advance to Deployment").click()
    expect(page.locator(".messages")).to_contain_text("cannot move on yet")
    sign_validation(page, base, version.pk, PASSWORD)
    expect(page.locator(".signature")).to_have_count(2)
    page.goto(f"{base}/models/{world.model.pk}/")
    expect(page.locator(".gate")).to_contain_text("Gate open")
    checks.check(page, "25-model-gate")
    page.get_by_role("button", name="Advance to Deployment").click()
    expect(page.locator(".messages")).to_contain_text("is now in Deployment")
    page.goto(f"{base}/studies/")
    checks.check(page, "26-studies")
    page.goto(f"{base}/studies/{study.pk}/")
    checks.check(page, "27-study")
    officer.close()

    # The auditor reads everything and finds no write control.
    auditor = browser.new_context(viewport={"width": 1280, "height": 900})
    page = auditor.new_page()
    sign_in(page, base, "auditor")
    paths = [
        "/dashboard/",
        f"/models/{world.model.pk}/",
        f"/sign/model_version/{version.pk}/",
        f"/sign/evaluation_run/{world.runs[0].pk}/",
        "/studies/",
        f"/studies/{study.pk}/",
        f"/studies/{study.pk}/results/",
    ]
    for path in paths:
        page.goto(base + path)
        assert write_forms(page) == [], path
        expect(page.locator("input[type=password]")).to_have_count(0)
    page.goto(f"{base}/sign/model_version/{version.pk}/")
    expect(page.locator(".signature")).to_have_count(2)
    checks.check(page, "28-sign-auditor")
    auditor.close()
    checks.assert_clean()
