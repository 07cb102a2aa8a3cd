"""Portal sign-offs, stage gates and preference studies through Django's test client: the
rules are apps.signoffs services' (re-authentication, lockout, gates, roles, blind judging)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.registry.models import ModelVersion
from apps.signoffs import selectors
from apps.signoffs.models import PreferenceJudgment, PreferenceStudy, SignOff
from tests.builders.accounts import PASSWORD
from tests.builders.reports import World, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_for(personas: Any) -> Any:
    def make(role: str) -> Client:
        client = Client()
        client.force_login(personas.user(role))
        return client

    return make


@pytest.fixture
def world(personas: Any) -> World:
    made = make_world(personas.org)
    made.run()
    return made


def sign(client: Client, version: ModelVersion, password: str = PASSWORD, **extra: Any) -> Any:
    body = {"meaning": "approved", "stage": "validation", "comment": "", "password": password}
    return client.post(f"/sign/model_version/{version.pk}/", {**body, **extra})


def field_errors(html: str, field: str) -> str:
    """The error list rendered inside a field's own group (next to the field)."""
    match = re.search(
        rf'<div class="field has-error">(?:(?!<div class="field).)*?id="id_{field}"'
        r"(?:(?!<div class=\"field).)*",
        html,
        re.S,
    )
    return match.group(0) if match else ""


def test_the_sign_page_shows_the_record_its_digest_and_asks_for_the_password(
    world: World, browser_for: Any
) -> None:
    page = browser_for("clinical_reviewer").get(f"/sign/model_version/{world.version.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    digest = selectors.record_digest(target_type="model_version", record=world.version)
    assert digest in html
    assert 'type="password"' in html and 'autocomplete="current-password"' in html
    assert "Re-authenticate to sign" in html
    for meaning in ("Authored", "Reviewed", "Approved", "Rejected"):
        assert meaning in html


def test_a_wrong_password_is_refused_next_to_the_field_then_locks_after_five(
    world: World, browser_for: Any
) -> None:
    client = browser_for("clinical_reviewer")
    wrong = sign(client, world.version, password="not my password")
    assert wrong.status_code == 400
    html = wrong.content.decode()
    assert "Wrong password" in field_errors(html, "password")
    assert 'value="not my password"' not in html
    assert not SignOff.objects.exists()
    for _ in range(4):
        last = sign(client, world.version, password="still wrong")
    assert "Signing is locked for you until" in field_errors(last.content.decode(), "password")
    # Now even the right password is refused until the lock ends.
    locked = sign(client, world.version)
    assert locked.status_code == 400
    assert "Signing is locked" in locked.content.decode()
    assert not SignOff.objects.exists()


def test_signing_then_the_model_page_shows_name_time_meaning_and_staleness(
    personas: Any, world: World, browser_for: Any
) -> None:
    reviewer = browser_for("clinical_reviewer")
    done = sign(reviewer, world.version, comment="Checked <b>every</b> threshold")
    assert done.status_code == 302
    signoff = SignOff.objects.get()
    assert signoff.signer == personas.user("clinical_reviewer")
    page = browser_for("auditor").get(f"/models/{world.model.pk}/").content.decode()
    when = selectors.utc_iso(signoff.signed_at)
    assert signoff.signer_name in page and when in page and "Approved" in page
    assert "&lt;b&gt;every&lt;/b&gt;" in page  # the comment is escaped
    assert ">current<" in page
    ModelVersion.objects.filter(pk=world.version.pk).update(weights_digest="f" * 64)
    page = browser_for("auditor").get(f"/models/{world.model.pk}/").content.decode()
    assert ">stale<" in page


def test_the_gate_lists_what_is_missing_and_advancing_is_refused_with_the_reason(
    world: World, browser_for: Any
) -> None:
    officer = browser_for("compliance_officer")
    page = officer.get(f"/models/{world.model.pk}/").content.decode()
    gate = selectors.stage_gate(model_version=world.version)
    for missing in gate.missing:
        assert missing in page
    refused = officer.post(
        f"/versions/{world.version.pk}/advance/", {"to_stage": "deployment"}, follow=True
    )
    text = refused.content.decode()
    assert "cannot move on yet" in text
    assert "a current approval at validation by a clinical reviewer" in text
    world.version.refresh_from_db()
    assert world.version.lifecycle_stage == "validation"
    sign(browser_for("clinical_reviewer"), world.version)
    sign(officer, world.version)
    moved = officer.post(
        f"/versions/{world.version.pk}/advance/", {"to_stage": "deployment"}, follow=True
    )
    assert "is now in Deployment" in moved.content.decode()
    world.version.refresh_from_db()
    assert world.version.lifecycle_stage == "deployment"


@pytest.mark.parametrize("role", ["clinical_reviewer", "model_developer", "auditor"])
def test_only_the_apis_gatekeepers_advance_a_stage(
    role: str, world: World, browser_for: Any
) -> None:
    client = browser_for(role)
    page = client.get(f"/models/{world.model.pk}/").content.decode()
    assert "Advance to" not in page
    response = client.post(f"/versions/{world.version.pk}/advance/", {"to_stage": "retired"})
    assert response.status_code == 403
    world.version.refresh_from_db()
    assert world.version.lifecycle_stage == "validation"


def test_an_auditor_has_no_sign_control_and_the_server_refuses_anyway(
    world: World, browser_for: Any
) -> None:
    auditor = browser_for("auditor")
    page = auditor.get(f"/sign/model_version/{world.version.pk}/").content.decode()
    assert 'type="password"' not in page and '<form method="post" class="form"' not in page
    assert sign(auditor, world.version).status_code == 403
    assert not SignOff.objects.exists()


def test_the_dashboard_lists_sign_offs_waiting_for_me_until_i_sign(
    world: World, browser_for: Any
) -> None:
    def waiting(client: Client) -> str:
        html = client.get("/dashboard/").content.decode()
        return html.split('id="waiting-h"', 1)[1].split("</section>", 1)[0]

    reviewer = browser_for("clinical_reviewer")
    label = f"{world.model.name} {world.version.version_label}"
    assert label in waiting(reviewer)
    assert label not in waiting(browser_for("model_developer"))
    sign(reviewer, world.version)
    assert label not in waiting(reviewer)
    assert "Nothing waits for your signature" in waiting(reviewer)


def test_a_signer_withdraws_their_own_signature_with_the_password(
    world: World, browser_for: Any
) -> None:
    reviewer = browser_for("clinical_reviewer")
    sign(reviewer, world.version)
    signoff = SignOff.objects.get()
    other = browser_for("compliance_officer").post(
        f"/signoffs/{signoff.pk}/withdraw/", {"w-password": PASSWORD}, follow=True
    )
    assert "Only the signer can withdraw" in other.content.decode()
    done = reviewer.post(
        f"/signoffs/{signoff.pk}/withdraw/",
        {"w-password": PASSWORD, "w-reason": "signed the wrong version"},
        follow=True,
    )
    assert ">withdrawn<" in done.content.decode()
    assert hasattr(SignOff.objects.get(), "withdrawal")


def test_signatures_show_on_run_dataset_and_sign_pages_of_other_records(
    world: World, browser_for: Any
) -> None:
    run = world.runs[0]
    reviewer = browser_for("clinical_reviewer")
    ok = reviewer.post(
        f"/sign/evaluation_run/{run.pk}/",
        {"meaning": "reviewed", "stage": "validation", "password": PASSWORD},
    )
    assert ok.status_code == 302
    page = browser_for("auditor").get(f"/runs/{run.pk}/").content.decode()
    assert "Reviewed" in page and SignOff.objects.get().signer_name in page
    assert browser_for("auditor").get("/sign/evaluation_run/999999/").status_code == 404
    assert browser_for("auditor").get("/sign/nonsense/1/").status_code == 404
    assert browser_for("auditor").get("/sign/model_card/not-a-uuid/").status_code == 404


def jsonl(n: int) -> SimpleUploadedFile:
    rows = [
        {"prompt": f"Question {i}?", "answer_a": f"A says {i}", "answer_b": f"B says {i}"}
        for i in range(n)
    ]
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    return SimpleUploadedFile("pairs.jsonl", body, content_type="application/jsonl")


def judgment(pair_id: int, preference: str = "left") -> dict[str, Any]:
    body: dict[str, Any] = {"pair": pair_id, "preference": preference, "rationale": ""}
    for side in ("left", "right"):
        for criterion in ("accuracy", "safety", "completeness", "empathy"):
            body[f"{side}_{criterion}"] = 4 if side == "left" else 2
    return body


def test_a_study_is_created_judged_blind_and_its_results_shown(
    personas: Any, browser_for: Any
) -> None:
    officer = browser_for("compliance_officer")
    created = officer.post(
        "/studies/", {"name": "Notes", "file": jsonl(3), "label_a": "v1", "label_b": "v2"}
    )
    assert created.status_code == 302, created.content.decode()[-2000:]
    study = PreferenceStudy.objects.get()
    assert study.pairs.count() == 3
    reviewer = browser_for("clinical_reviewer")
    screen = reviewer.get(f"/studies/{study.pk}/judge/").content.decode()
    assert "0 / 3" in screen and "data-judge" in screen
    # Results stay hidden from a judge until they have judged every pair.
    hidden = reviewer.get(f"/studies/{study.pk}/results/", follow=True).content.decode()
    assert "Judge the remaining 3 pair(s) first" in hidden
    bad = reviewer.post(f"/studies/{study.pk}/judge/", {"pair": study.pairs.first().pk})
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    for pair in study.pairs.order_by("position"):
        done = reviewer.post(f"/studies/{study.pk}/judge/", judgment(pair.pk))
        assert done.status_code == 302
    assert PreferenceJudgment.objects.count() == 3
    results = reviewer.get(f"/studies/{study.pk}/results/").content.decode()
    assert "<svg" in results and "Win rates" in results and "Bradley" in results
    assert "agreement needs two or more reviewers" in results


def test_only_organisers_create_and_export_studies(personas: Any, browser_for: Any) -> None:
    auditor = browser_for("auditor")
    assert "Create study" not in auditor.get("/studies/").content.decode()
    refused = auditor.post("/studies/", {"name": "x", "file": jsonl(2)})
    assert refused.status_code == 403
    assert not PreferenceStudy.objects.exists()
    officer = browser_for("compliance_officer")
    officer.post("/studies/", {"name": "Notes", "file": jsonl(2)})
    study = PreferenceStudy.objects.get()
    assert auditor.get(f"/studies/{study.pk}/judge/").status_code == 403
    assert auditor.post(f"/studies/{study.pk}/export/", {}).status_code == 403
    reviewer = browser_for("clinical_reviewer")
    for pair in study.pairs.all():
        reviewer.post(f"/studies/{study.pk}/judge/", judgment(pair.pk, "right"))
    exported = officer.post(
        f"/studies/{study.pk}/export/", {"x-dataset_name": "Notes DPO"}, follow=True
    )
    assert "Exported 2 preference rows" in exported.content.decode()
    assert study.exports.get().rows == 2


def test_a_study_from_runs_is_checked_by_the_service_and_errors_sit_by_the_field(
    world: World, browser_for: Any
) -> None:
    officer = browser_for("compliance_officer")
    first, second = world.runs[0], world.run()
    page = officer.get("/studies/").content.decode()
    assert f'<option value="{first.pk}"' in page and f'<option value="{second.pk}"' in page
    missing = officer.post("/studies/", {"name": "Runs", "run_a": first.pk})
    assert missing.status_code == 400
    assert "Choose a run" in field_errors(missing.content.decode(), "run_b")
    # Both runs exist but scored no item with an answer: the service's reason, by run B.
    empty = officer.post("/studies/", {"name": "Runs", "run_a": first.pk, "run_b": second.pk})
    assert empty.status_code == 400
    assert "share no scored item" in field_errors(empty.content.decode(), "run_b")
    assert not PreferenceStudy.objects.exists()


def test_the_new_pages_load_nothing_inline_or_from_another_host(
    world: World, browser_for: Any
) -> None:
    officer = browser_for("compliance_officer")
    officer.post("/studies/", {"name": "Notes", "file": jsonl(2)})
    study = PreferenceStudy.objects.get()
    reviewer = browser_for("clinical_reviewer")
    for pair in study.pairs.all():
        reviewer.post(f"/studies/{study.pk}/judge/", judgment(pair.pk))
    paths = [
        f"/sign/model_version/{world.version.pk}/",
        f"/sign/evaluation_run/{world.runs[0].pk}/",
        f"/studies/{study.pk}/",
        f"/studies/{study.pk}/judge/",
        f"/studies/{study.pk}/results/",
    ]
    for path in paths:
        response = reviewer.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert ' style="' not in html, path
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), path
