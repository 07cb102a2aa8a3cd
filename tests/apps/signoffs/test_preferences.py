"""Preference studies: blind seeded pairs, judgments, visibility, results and the DPO export."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.evaluations.models import EvaluationRun, ItemResult
from apps.registry.models import DatasetVersion, ModelVersionDataset
from apps.registry.services import model_version_create
from apps.signoffs.models import PreferenceJudgment, PreferencePair, PreferenceStudy
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

RATINGS = {"accuracy": 4, "safety": 5, "completeness": 3, "empathy": 4}


def client(user: Any) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def jsonl(rows: list[dict[str, Any]]) -> SimpleUploadedFile:
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    return SimpleUploadedFile("pairs.jsonl", body, content_type="application/jsonl")


def pairs(n: int) -> list[dict[str, str]]:
    return [
        {"prompt": f"Question {i}?", "answer_a": f"A says {i}", "answer_b": f"B says {i}"}
        for i in range(n)
    ]


def upload_study(personas: Any, n: int = 6, seed: int = 42, name: str = "Discharge notes"):
    response = client(personas.compliance_officer).post(
        "/api/v1/preference-studies/",
        {"name": name, "file": jsonl(pairs(n)), "seed": seed, "label_a": "v1", "label_b": "v2"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return PreferenceStudy.objects.get(pk=response.json()["id"])


def judge(user: Any, study: PreferenceStudy, pair: PreferencePair, choice: str) -> Any:
    return client(user).post(
        f"/api/v1/preference-studies/{study.pk}/judge/",
        {
            "pair": pair.pk,
            "preference": choice,
            "ratings": {"left": RATINGS, "right": {**RATINGS, "safety": 2}},
            "rationale": "Clearer discharge advice",
        },
        format="json",
    )


def test_pairs_are_shown_blind_in_a_seeded_recorded_order(personas):
    study = upload_study(personas, n=20, seed=42)

    shown = (
        client(personas.clinical_reviewer)
        .get(f"/api/v1/preference-studies/{study.pk}/pairs/")
        .json()["results"]
    )

    rng = random.Random(42)
    expected = [rng.random() < 0.5 for _ in range(20)]
    assert [p.a_on_left for p in study.pairs.order_by("position")] == expected
    assert 0 < sum(expected) < 20  # both orders occur
    for row, a_left in zip(shown, expected, strict=True):
        assert set(row) == {"id", "position", "prompt", "left", "right", "judged_by_you"}
        i = row["position"]
        assert (row["left"], row["right"]) == (
            (f"A says {i}", f"B says {i}") if a_left else (f"B says {i}", f"A says {i}")
        )


def test_a_left_or_right_choice_is_stored_as_the_answer_it_was(personas):
    study = upload_study(personas)
    pair = study.pairs.get(position=0)

    body = judge(personas.clinical_reviewer, study, pair, "left").json()

    judgment = PreferenceJudgment.objects.get()
    assert judgment.preference == ("a" if pair.a_on_left else "b")
    left_side = judgment.ratings_a if pair.a_on_left else judgment.ratings_b
    assert left_side == RATINGS
    assert body["reviewer_role"] == "clinical_reviewer"


def test_bad_judgments_are_refused_with_the_field_named(personas):
    study = upload_study(personas)
    pair = study.pairs.first()
    reviewer = client(personas.clinical_reviewer)
    url = f"/api/v1/preference-studies/{study.pk}/judge/"

    bad_rating = reviewer.post(
        url,
        {
            "pair": pair.pk,
            "preference": "left",
            "ratings": {"left": {**RATINGS, "empathy": 6}, "right": RATINGS},
        },
        format="json",
    )
    bad_choice = reviewer.post(
        url,
        {"pair": pair.pk, "preference": "a", "ratings": {"left": RATINGS, "right": RATINGS}},
        format="json",
    )
    assert judge(personas.clinical_reviewer, study, pair, "tie").status_code == 201
    twice = judge(personas.clinical_reviewer, study, pair, "left")

    assert bad_rating.status_code == 400 and "empathy" in json.dumps(bad_rating.json())
    assert bad_choice.status_code == 400
    assert twice.status_code == 400 and "already judged" in twice.json()["error"]["message"]


def test_a_reviewer_never_sees_another_reviewers_judgment_before_their_own(personas):
    study = upload_study(personas, n=2)
    first, second = study.pairs.order_by("position")
    other = UserFactory(username="second_reviewer")
    MembershipFactory(user=other, organization=personas.org, role="clinical_reviewer")
    judge(personas.clinical_reviewer, study, first, "left")
    judge(personas.clinical_reviewer, study, second, "right")
    url = f"/api/v1/preference-studies/{study.pk}/"

    before = client(other).get(url + "judgments/").json()["results"]
    results_before = client(other).get(url + "results/")
    judge(other, study, first, "left")
    after = client(other).get(url + "judgments/").json()["results"]

    assert before == []
    assert results_before.status_code == 403
    assert "Judge the remaining 2 pair(s) first" in results_before.json()["error"]["message"]
    assert sorted((j["pair"], j["reviewer_name"] == other.get_full_name()) for j in after) == [
        (0, False),
        (0, True),
    ]
    judge(other, study, second, "left")
    assert client(other).get(url + "results/").status_code == 200


def test_reviewers_see_only_their_organisations_studies(personas):
    study = upload_study(personas)

    outsider = client(personas.outsider)
    assert outsider.get("/api/v1/preference-studies/").json()["results"] == []
    assert outsider.get(f"/api/v1/preference-studies/{study.pk}/pairs/").status_code == 404
    assert judge(personas.outsider, study, study.pairs.first(), "left").status_code == 404


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("clinical_reviewer", "create", False),
        ("model_developer", "judge", False),
        ("auditor", "judge", False),
        ("auditor", "results", True),
        ("compliance_officer", "judge", True),
        ("clinical_reviewer", "export", False),
    ],
)
def test_roles_are_declared_per_action(personas, role, action, allowed):
    study = upload_study(personas)
    user = personas.user(role)
    if action == "create":
        response = client(user).post(
            "/api/v1/preference-studies/",
            {"name": "x", "file": jsonl(pairs(1))},
            format="multipart",
        )
    elif action == "judge":
        response = judge(user, study, study.pairs.first(), "left")
    elif action == "results":
        response = client(user).get(f"/api/v1/preference-studies/{study.pk}/results/")
    else:
        response = client(user).post(f"/api/v1/preference-studies/{study.pk}/export/")
    assert (response.status_code < 400) is allowed, response.json()


def test_results_report_win_rate_bradley_terry_agreement_and_criteria(personas):
    study = upload_study(personas, n=4)
    reviewers = [personas.clinical_reviewer, personas.compliance_officer]
    plan = {0: "a", 1: "a", 2: "b", 3: "tie"}
    for reviewer in reviewers:
        for pair in study.pairs.order_by("position"):
            want = plan[pair.position]
            choice = (
                "tie" if want == "tie" else ("left" if (want == "a") == pair.a_on_left else "right")
            )
            assert judge(reviewer, study, pair, choice).status_code == 201

    results = client(personas.auditor).get(f"/api/v1/preference-studies/{study.pk}/results/").json()

    assert results["judgments"] == 8 and results["reviewers"] == 2
    assert results["win_rate"]["a"]["wins"] == 4 and results["win_rate"]["ties"] == 2
    assert results["win_rate"]["a"]["rate"] == pytest.approx(4 / 6)
    assert results["bradley_terry"]["a"] / results["bradley_terry"]["b"] == pytest.approx(5 / 3)
    assert results["agreement"]["method"] == "cohen"
    assert results["agreement"]["kappa"] == pytest.approx(1.0)
    assert results["criteria"]["a"]["accuracy"]["mean"] == 4.0


def test_three_reviewers_are_measured_with_fleiss_kappa(personas):
    study = upload_study(personas, n=3)
    third = UserFactory(username="third")
    MembershipFactory(user=third, organization=personas.org, role="clinical_reviewer")
    for user, choice in (
        (personas.clinical_reviewer, "left"),
        (personas.compliance_officer, "right"),
        (third, "left"),
    ):
        for pair in study.pairs.all():
            judge(user, study, pair, choice)

    results = client(personas.auditor).get(f"/api/v1/preference-studies/{study.pk}/results/").json()

    assert results["agreement"]["method"] == "fleiss" and results["agreement"]["raters"] == 3


def test_a_bad_upload_names_the_line_and_field_and_stores_nothing(personas):
    body = io.BytesIO(
        b'{"prompt": "Q", "answer_a": "x", "answer_b": "y"}\n{"prompt": "Q2", "answer_a": "x"}\n'
    )
    response = client(personas.compliance_officer).post(
        "/api/v1/preference-studies/",
        {"name": "broken", "file": SimpleUploadedFile("p.jsonl", body.read())},
        format="multipart",
    )

    assert response.status_code == 400
    assert 'p.jsonl line 2, field "answer_b": missing' in response.json()["error"]["message"]
    assert not PreferenceStudy.objects.exists()


def test_a_study_from_two_runs_pairs_their_answers_on_shared_items(personas):
    from tests.builders.reports import make_world

    world = make_world(personas.org)
    other = model_version_create(
        model=world.model,
        version_label="2.2.0",
        source_kind="hub",
        hub_id="x/y",
        revision="b" * 40,
    )
    runs = []
    for version, answer in ((world.version, "first answer"), (other, "second answer")):
        run = world.run(version=version)
        ItemResult.objects.bulk_create(
            ItemResult(
                run=run,
                shard_index=0,
                check_name="hallucination",
                item_id=f"g{i}",
                task="generate",
                correct=True,
                record={"context": f"Prompt {i}", "generated": f"{answer} {i}", "options": []},
            )
            for i in range(3)
        )
        runs.append(run)

    response = client(personas.compliance_officer).post(
        "/api/v1/preference-studies/",
        {"name": "Runs", "run_a": runs[0].pk, "run_b": runs[1].pk},
        format="json",
    )

    assert response.status_code == 201, response.json()
    study = PreferenceStudy.objects.get()
    assert study.pairs.count() == 3 and study.model_version_b == other
    assert study.pairs.get(position=0).answer_a == "first answer 0"
    running = EvaluationRun.objects.create(
        organization=personas.org, model_version=other, suite=world.suite
    )
    refused = client(personas.compliance_officer).post(
        "/api/v1/preference-studies/",
        {"name": "Runs 2", "run_a": runs[0].pk, "run_b": running.pk},
        format="json",
    )
    assert refused.status_code == 400 and "has not succeeded" in refused.json()["error"]["message"]


def test_the_export_round_trips_into_the_registry_as_a_preference_dataset(personas):
    study = upload_study(personas, n=3)
    for pair in study.pairs.order_by("position"):
        choice = "tie" if pair.position == 2 else ("left" if pair.a_on_left else "right")
        judge(personas.clinical_reviewer, study, pair, choice)  # A wins twice, one tie

    response = client(personas.compliance_officer).post(
        f"/api/v1/preference-studies/{study.pk}/export/", {}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    version = DatasetVersion.objects.get(pk=body["dataset_version"])
    assert version.format == "preference" and version.row_count == 2
    assert version.provenance.startswith(f"carealign:preference-study:{study.pk}")
    downloaded = client(personas.auditor).get(f"/api/v1/dataset-versions/{version.pk}/download/")
    rows = [json.loads(line) for line in b"".join(downloaded.streaming_content).splitlines()]
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in rows] == [
        ("Question 0?", "A says 0", "B says 0"),
        ("Question 1?", "A says 1", "B says 1"),
    ]
    assert rows[0]["reviewer_role"] == "clinical_reviewer"
    assert set(rows[0]["criteria"]) == {"chosen", "rejected"}
    # The next model version's training record links back to the study.
    trained = model_version_create(
        model=__import__("tests.factories", fromlist=["AIModelFactory"]).AIModelFactory(
            organization=personas.org
        ),
        version_label="dpo-1",
        source_kind="hub",
        hub_id="x/y",
        revision="c" * 40,
        training_datasets=[(version, "preference")],
    )
    link = ModelVersionDataset.objects.get(model_version=trained)
    assert link.role == "preference"
    assert link.dataset_version.preference_export.study == study


def test_the_export_records_the_phi_status_it_is_given(personas):
    study = upload_study(personas, n=1)
    pair = study.pairs.get()
    judge(personas.clinical_reviewer, study, pair, "left")
    url = f"/api/v1/preference-studies/{study.pk}/export/"
    officer = client(personas.compliance_officer)

    missing_method = officer.post(url, {"phi_status": "deidentified"}, format="json")
    done = officer.post(url, {"phi_status": "contains_phi"}, format="json")

    assert missing_method.status_code == 400
    assert "deidentification_method" in missing_method.json()["error"]["fields"]
    assert done.status_code == 201
    assert DatasetVersion.objects.get(pk=done.json()["dataset_version"]).phi_status == (
        "contains_phi"
    )
