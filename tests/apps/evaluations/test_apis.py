"""API wiring, status codes and role rules for suites, runs, schedules and drift alerts."""

from __future__ import annotations

from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from apps.evaluations.models import DriftAlert, EvaluationRun, EvaluationSuite, ItemResult
from tests.builders.evaluations import EvalSetup, finished_run, quick_suite
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    EvaluationRunFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db

RUNNERS = ["admin", "compliance_officer", "model_developer"]
READERS = ["clinical_reviewer", "auditor"]


@pytest.fixture
def world(personas: Any) -> dict[str, Any]:
    suite = quick_suite(personas.org)
    version = ModelVersionFactory(model=AIModelFactory(organization=personas.org))
    run = finished_run(suite, version, accuracy=0.75)
    for i, (language, correct) in enumerate([("en", True), ("en", False), ("es", False)]):
        ItemResult.objects.create(
            run=run,
            shard_index=0,
            check_name="knowledge",
            item_id=f"kn-{i}",
            language=language,
            group="cardiology" if i else "neurology",
            correct=correct,
            chosen="A",
            gold=["A" if correct else "B"],
            record={"context": "Question: ...", "options": [], "mode": "continuation"},
        )
    return {"suite": suite, "version": version, "run": run}


@pytest.mark.parametrize("role", RUNNERS + READERS)
def test_who_may_start_a_run(
    role: str, client_for: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    body = {"suite": world["suite"].pk, "model_version": world["version"].pk}
    with django_capture_on_commit_callbacks() as sent:
        response = client_for(role).post("/api/v1/runs/", body, format="json")
    assert response.status_code == (202 if role in RUNNERS else 403), response.json()
    assert len(sent) == (1 if role in RUNNERS else 0)  # the start task, after commit
    if role in RUNNERS:
        assert response.json()["status"] == "queued" and response.json()["trigger"] == "api"


def test_an_outsider_sees_no_run_and_cannot_start_one(
    client_for: Any, world: dict[str, Any]
) -> None:
    outsider = client_for("outsider")
    assert outsider.get(f"/api/v1/runs/{world['run'].pk}/").status_code == 404
    assert outsider.get(f"/api/v1/runs/{world['run'].pk}/items/").status_code == 404
    assert outsider.get("/api/v1/runs/").json()["count"] == 0
    body = {"suite": world["suite"].pk, "model_version": world["version"].pk}
    response = outsider.post("/api/v1/runs/", body, format="json")
    assert response.status_code == 400 and "No such suite" in response.json()["error"]["message"]


def test_a_retried_start_with_one_idempotency_key_starts_one_run(
    client_for: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    api = client_for("model_developer")
    body = {"suite": world["suite"].pk, "model_version": world["version"].pk}
    with django_capture_on_commit_callbacks():
        first = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="ci-42")
        second = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="ci-42")
    assert first.status_code == second.status_code == 202
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert EvaluationRun.objects.filter(status="queued").count() == 1
    # A replay after the run has finished shows it as it is now, not as it was queued.
    EvaluationRun.objects.filter(pk=first.json()["id"]).update(
        status="failed", error="Shard 0 failed: the reason", progress=40.0, items_done=4
    )
    third = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="ci-42")
    assert third.status_code == 202 and third.headers["Idempotent-Replayed"] == "true"
    replayed = third.json()
    assert (replayed["id"], replayed["status"], replayed["progress"]) == (
        first.json()["id"],
        "failed",
        40.0,
    )
    assert replayed["error"] == "Shard 0 failed: the reason"


def test_runs_list_filters_and_shows_progress(client_for: Any, world: dict[str, Any]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    running = EvaluationRun.objects.create(
        organization=world["suite"].organization,
        suite=world["suite"],
        model_version=world["version"],
        status="running",
        items_total=200,
        items_done=50,
        progress=25.0,
        started_at=now - timedelta(seconds=130),
        progress_at=now - timedelta(seconds=30),  # 50 items stored in 100 s
    )
    api = client_for("auditor")
    listed = api.get("/api/v1/runs/", {"status": "running"}).json()
    assert [r["id"] for r in listed["results"]] == [running.pk]
    body = listed["results"][0]
    assert (body["progress"], body["items_done"], body["items_total"]) == (25.0, 50, 200)
    # 150 items left at the observed 0.5 items/s, less the 30 s since the last were stored.
    assert body["eta_seconds"] == pytest.approx(270, abs=5)
    model = world["version"].model_id
    assert api.get("/api/v1/runs/", {"model_version__model": model}).json()["count"] == 2
    detail = api.get(f"/api/v1/runs/{world['run'].pk}/").json()
    assert detail["verdict"] == "" and "manifest" in detail and detail["eta_seconds"] is None
    # A run that makes no progress shows as stalled, with the reason, and no estimate.
    EvaluationRun.objects.filter(pk=running.pk).update(stalled_reason="no progress for 6 min")
    stalled = api.get(f"/api/v1/runs/{running.pk}/").json()
    assert (stalled["status"], stalled["stalled_reason"]) == ("stalled", "no progress for 6 min")
    assert stalled["eta_seconds"] is None


def test_per_item_results_are_paged_and_filterable(client_for: Any, world: dict[str, Any]) -> None:
    api = client_for("auditor")
    url = f"/api/v1/runs/{world['run'].pk}/items/"
    everything = api.get(url, {"page_size": 2}).json()
    assert everything["count"] == 3 and len(everything["results"]) == 2 and everything["next"]
    wrong = api.get(url, {"wrong": "true"}).json()["results"]
    assert {(r["item_id"], r["correct"]) for r in wrong} == {("kn-1", False), ("kn-2", False)}
    spanish = api.get(url, {"wrong": "true", "language": "es", "group": "cardiology"}).json()
    assert [r["item_id"] for r in spanish["results"]] == ["kn-2"]
    assert spanish["results"][0]["prompt"] == "Question: ..."
    assert api.get(url, {"wrong": "maybe"}).status_code == 400


def test_results_and_comparison_of_two_runs(client_for: Any, world: dict[str, Any]) -> None:
    later = finished_run(world["suite"], world["version"], accuracy=0.55)
    api = client_for("clinical_reviewer")
    results = api.get(f"/api/v1/runs/{later.pk}/results/").json()
    assert [r["check_name"] for r in results] == ["knowledge"]
    compared = api.get("/api/v1/runs/compare/", {"a": world["run"].pk, "b": later.pk}).json()
    overall = next(m for m in compared["metrics"] if m["group"] is None)
    assert overall["change"] == pytest.approx(-0.20)
    assert overall["regression"] and compared["regressions"] == 1
    assert api.get("/api/v1/runs/compare/", {"a": world["run"].pk}).status_code == 400


def test_runs_of_different_suite_versions_are_not_compared(
    client_for: Any, world: dict[str, Any], personas: Any
) -> None:
    other = finished_run(quick_suite(personas.org, name="Other"), world["version"], accuracy=0.1)
    response = client_for("auditor").get(
        "/api/v1/runs/compare/", {"a": world["run"].pk, "b": other.pk}
    )
    assert response.status_code == 400
    assert "only runs of the same suite version are compared" in response.json()["error"]["message"]


@pytest.mark.parametrize(("role", "status"), [("auditor", 403), ("model_developer", 200)])
def test_who_may_cancel_a_run(
    role: str, status: int, client_for: Any, world: dict[str, Any]
) -> None:
    queued = EvaluationRunFactory(suite=world["suite"], model_version=world["version"])
    response = client_for(role).post(f"/api/v1/runs/{queued.pk}/cancel/")
    assert response.status_code == status
    queued.refresh_from_db()
    assert queued.status == ("cancelled" if status == 200 else "queued")


def test_a_finished_run_cannot_be_cancelled(client_for: Any, world: dict[str, Any]) -> None:
    response = client_for("compliance_officer").post(f"/api/v1/runs/{world['run'].pk}/cancel/")
    assert response.status_code == 400
    assert "this one is succeeded" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("role", "status"),
    [("compliance_officer", 201), ("admin", 201), ("model_developer", 403), ("auditor", 403)],
)
def test_who_may_define_a_suite(role: str, status: int, client_for: Any, personas: Any) -> None:
    dataset = DatasetVersionFactory(dataset__organization=personas.org)
    body = {
        "name": "Release gate",
        "checks": ["knowledge"],
        "datasets": [dataset.pk],
        "thresholds": {"knowledge": {"accuracy": {">=": 0.6}}},
    }
    response = client_for(role).post("/api/v1/suites/", body, format="json")
    assert response.status_code == status, response.json()


def test_a_changed_suite_is_a_new_version_and_old_runs_keep_theirs(
    client_for: Any, world: dict[str, Any]
) -> None:
    suite = world["suite"]
    api = client_for("compliance_officer")
    body = {"thresholds": {"knowledge": {"accuracy": {">=": 0.8}}}}
    response = api.patch(f"/api/v1/suites/{suite.pk}/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 2 and response.json()["id"] != suite.pk
    assert EvaluationSuite.objects.get(pk=suite.pk).thresholds["knowledge"]["accuracy"] == {
        ">=": 0.5
    }
    assert world["run"].suite_id == suite.pk
    bad = api.patch(f"/api/v1/suites/{suite.pk}/", {"checks": ["telepathy"]}, format="json")
    assert bad.status_code == 400 and "unknown check" in bad.json()["error"]["message"]
    assert client_for("outsider").get(f"/api/v1/suites/{suite.pk}/").status_code == 404


def test_schedules_crud_keeps_beat_in_step(client_for: Any, world: dict[str, Any]) -> None:
    api = client_for("compliance_officer")
    body = {
        "name": "Nightly",
        "suite": world["suite"].pk,
        "model": world["version"].model_id,
        "cron": "0 2 * * *",
        "cron_timezone": "America/New_York",
    }
    assert (
        client_for("model_developer").post("/api/v1/schedules/", body, format="json").status_code
        == 403
    )
    created = api.post("/api/v1/schedules/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    task = PeriodicTask.objects.get(name=created.json()["periodic_task"])
    assert str(task.crontab.timezone) == "America/New_York"
    bad = api.patch(f"/api/v1/schedules/{pk}/", {"cron": "0 25 * * *"}, format="json")
    assert bad.status_code == 400 and "Invalid cron expression" in bad.json()["error"]["message"]
    assert (
        api.patch(f"/api/v1/schedules/{pk}/", {"enabled": False}, format="json").status_code == 200
    )
    assert not PeriodicTask.objects.get(pk=task.pk).enabled
    assert api.delete(f"/api/v1/schedules/{pk}/").status_code == 204
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_drift_alerts_are_listed_and_acknowledged_by_compliance(
    client_for: Any, world: dict[str, Any]
) -> None:
    from apps.evaluations import services

    later = finished_run(world["suite"], world["version"], accuracy=0.40, trigger="schedule")
    services.drift_compare(run=later)
    alerts = client_for("auditor").get("/api/v1/drift-alerts/", {"acknowledged_at__isnull": True})
    assert {a["kind"] for a in alerts.json()["results"]} == {"regression", "new_failure"}
    pk = alerts.json()["results"][0]["id"]
    assert client_for("auditor").post(f"/api/v1/drift-alerts/{pk}/acknowledge/").status_code == 403
    done = client_for("compliance_officer").post(f"/api/v1/drift-alerts/{pk}/acknowledge/")
    assert done.status_code == 200 and done.json()["acknowledged_at"]
    assert DriftAlert.objects.filter(acknowledged_at__isnull=True).count() == 1


def test_a_run_started_from_the_api_runs_through_the_tasks(
    client_for: Any, knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    """The API sends the start; the tasks (chord included) run here, in the tests' eager mode."""
    api = client_for("model_developer")
    body = {"suite": knowledge_setup.suite.pk, "model_version": knowledge_setup.version.pk}
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/runs/", {**body, "shard_size": 5}, format="json")
    run = api.get(f"/api/v1/runs/{created.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["progress"] == 100 and run["shards_total"] == 5
    items = api.get(f"/api/v1/runs/{run['id']}/items/", {"check": "knowledge"}).json()
    assert items["count"] == 24  # 12 items and their option-prior twins


@pytest.fixture
def broker_down() -> Any:
    """The Celery app pointed at a broker that refuses connections, with no eager mode."""
    from governance.celery import app

    saved = {name: app.conf[name] for name in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url="redis://127.0.0.1:9/0", task_always_eager=False)
    app._pool, app.amqp._producer_pool = None, None
    yield app
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None


def test_starting_a_run_while_the_broker_is_down_answers_202_and_the_sweeper_starts_it(
    client_for: Any,
    knowledge_setup: EvalSetup,
    django_capture_on_commit_callbacks: Any,
    broker_down: Any,
    settings: Any,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.evaluations import services
    from worker import tasks

    api = client_for("model_developer")
    body = {"suite": knowledge_setup.suite.pk, "model_version": knowledge_setup.version.pk}
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="outage")
    assert created.status_code == 202, created.content
    run = EvaluationRun.objects.get(pk=created.json()["id"])
    assert run.status == "queued"
    # The broker is back. Once the start has waited long enough, the sweeper sends it again.
    broker_down.conf.task_always_eager = True
    assert services.runs_sweep().restart == []
    waited = timezone.now() - timedelta(seconds=settings.CAREALIGN_SHARD_REDISPATCH_AFTER + 1)
    EvaluationRun.objects.filter(pk=run.pk).update(dispatched_at=waited)
    with django_capture_on_commit_callbacks(execute=True):
        found = services.runs_sweep()
        assert found.restart == [run.pk]
        tasks.send_sweep(found)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    replay = api.post("/api/v1/runs/", body, format="json", HTTP_IDEMPOTENCY_KEY="outage")
    assert replay.json()["status"] == "succeeded" and replay.json()["progress"] == 100


def test_a_rerun_links_to_its_original_and_says_it_reproduced(
    client_for: Any, knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    api = client_for("model_developer")
    body = {"suite": knowledge_setup.suite.pk, "model_version": knowledge_setup.version.pk}
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/runs/", {**body, "shard_size": 8, "seed": 3}, format="json")
    original = created.json()["id"]
    assert client_for("auditor").post(f"/api/v1/runs/{original}/rerun/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/runs/{original}/rerun/")
    assert response.status_code == 202, response.json()
    again = api.get(f"/api/v1/runs/{response.json()['id']}/").json()
    assert again["rerun_of"] == original and again["status"] == "succeeded"
    assert (again["seed"], again["shard_size"]) == (3, 8)
    assert again["reproduced"] is True, again["manifest"]["rerun_of"]["differences"]
    # The list says the same without loading manifests.
    listed = {r["id"]: r for r in api.get("/api/v1/runs/").json()["results"]}
    assert listed[again["id"]]["reproduced"] is True and listed[original]["reproduced"] is None
    assert again["manifest"]["rerun_of"] == {
        "run": original,
        "reproduced": True,
        "differences": [],
        "n_differences": 0,
    }
    first = api.get(f"/api/v1/runs/{original}/results/").json()
    second = api.get(f"/api/v1/runs/{again['id']}/results/").json()
    assert [(r["verdict"], r["metrics"]) for r in first] == [
        (r["verdict"], r["metrics"]) for r in second
    ]


def test_only_a_succeeded_run_can_be_rerun(client_for: Any, world: dict[str, Any]) -> None:
    queued = EvaluationRunFactory(suite=world["suite"], model_version=world["version"])
    response = client_for("compliance_officer").post(f"/api/v1/runs/{queued.pk}/rerun/")
    assert response.status_code == 400
    assert "Only a succeeded run can be rerun" in response.json()["error"]["message"]
