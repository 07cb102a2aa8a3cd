"""Run services without a broker: start, shards, crash paths, cancel, finalise.

The services decide and return what should happen next; the tests either act on it
themselves (calling the next service) or hand it to the task layer, whose tasks then run
in-process (eager mode, tests/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.evaluations import services
from apps.evaluations.models import CheckResult, EvaluationRun, ItemResult, RunShard
from apps.evaluations.services.shards import _machine
from tests.builders.evaluations import EvalSetup
from worker.engine import sharding

pytestmark = pytest.mark.django_db


def _each_item_once(run: EvaluationRun, rows: int) -> None:
    results = ItemResult.objects.filter(run=run)
    assert results.count() == rows
    assert (
        not results.values("check_name", "item_id", "language")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )


def _planned(setup: EvalSetup, capture: Any, shard_size: int = 4) -> EvaluationRun:
    """A run claimed and split into shards, none of them processed yet."""
    with capture() as sent:
        run = services.run_create(
            suite=setup.suite, model_version=setup.version, shard_size=shard_size
        )
        plan = services.run_start(run_id=run.pk)
    assert not sent  # services send nothing: the test drives the shards
    assert plan is not None and len(plan.shard_ids) == RunShard.objects.filter(run=run).count()
    run.refresh_from_db()
    return run


def test_services_alone_take_a_run_from_queued_to_succeeded(knowledge_setup: EvalSetup) -> None:
    run = services.run_create(
        suite=knowledge_setup.suite, model_version=knowledge_setup.version, shard_size=5
    )
    plan = services.run_start(run_id=run.pk)
    # 12 knowledge items and their 12 option-prior twins, in shards of 5.
    assert plan is not None and plan.run_id == run.pk and len(plan.shard_ids) == 5
    outcomes = [services.shard_process(shard_id=shard_id) for shard_id in plan.shard_ids]
    assert [(o.outcome, o.last) for o in outcomes] == [("done", False)] * 4 + [("done", True)]
    finished = services.run_finalize(run_id=run.pk)
    assert finished is not None and finished.status == "succeeded"
    _each_item_once(finished, knowledge_setup.rows)


def test_a_run_of_every_check_succeeds_in_process(
    setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    from worker import tasks

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_create(suite=setup.suite, model_version=setup.version, shard_size=10)
        tasks.send_run_start(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.items_total == setup.rows and run.items_done == setup.rows
    assert run.progress == 100
    _each_item_once(run, setup.rows)
    results = {r.check_name: r for r in CheckResult.objects.filter(run=run)}
    assert set(results) == {"knowledge", "hallucination", "bias", "multilingual"}
    # The tiny model has random weights: it earns no pass on any check, each with its reason.
    assert run.verdict != "pass"
    for result in results.values():
        assert result.verdict in ("fail", "inconclusive", "insufficient_data", "incomplete")
        assert result.details["verdict_reason"] and result.details["decision_rule"]
        assert all(v["reason"] for v in result.verdicts)
    accuracy = next(m for m in results["knowledge"].metrics if m["name"] == "accuracy")
    assert accuracy["ci_low"] is not None and accuracy["n"] == 12
    assert (accuracy["method"], accuracy["level"]) == ("wilson", 0.95)
    # 88 rows (each scored item with its option-prior twin), 84 work units: knowledge and
    # multilingual share kn-001 and kn-002 in English and their priors, scored once; in
    # shards of 10 units.
    assert RunShard.objects.filter(run=run, status="done").count() == run.shards_total == 9
    manifest = run.manifest
    assert manifest["model"]["weights_digest"] == setup.version.weights_digest
    assert [d["sha256"] for d in manifest["datasets"]] == [
        v.sha256 for v in sorted(setup.datasets.values(), key=lambda v: v.pk)
    ]
    assert len(manifest["shards"]) == 9
    assert manifest["scoring"] == {"items_requested": 88, "items_scored": 84, "oom_backoffs": 0}
    assert manifest["effective_config"]["knowledge"]["proportion_interval"] == "wilson"
    assert manifest["engine"]["source_sha256"]
    # Audited: the run's creation, its start (a conditional UPDATE) and its end.
    changes = AuditEvent.objects.filter(object_type="evaluations.evaluationrun", object_id=run.pk)
    statuses = [e.changes.get("status") for e in changes.order_by("seq") if "status" in e.changes]
    assert statuses == [[None, "queued"], ["queued", "running"], ["running", "succeeded"]]


def test_a_run_is_started_once_however_often_its_message_comes(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    shards = run.shards_total
    with django_capture_on_commit_callbacks() as sent:
        assert services.run_start(run_id=run.pk) is None
    assert not sent
    assert RunShard.objects.filter(run=run).count() == shards


def test_a_redelivered_shard_writes_and_counts_nothing_twice(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    shard = RunShard.objects.get(run=run, index=0)
    assert str(services.shard_process(shard_id=shard.pk, worker="a/x:1")) == "done"
    before = run.__class__.objects.get(pk=run.pk).items_done
    assert str(services.shard_process(shard_id=shard.pk, worker="b/y:2")).startswith("skipped")
    assert ItemResult.objects.filter(run=run).count() == shard.items_total
    assert run.__class__.objects.get(pk=run.pk).items_done == before == shard.items_total


def _hold_elsewhere(shard: RunShard) -> Any:
    """Another worker's database connection, holding the shard as a live holder does."""
    import psycopg
    from django.db import connection

    from apps.evaluations.services.shards import HOLD_NAMESPACE

    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1", autocommit=True
    )
    held = other.execute("SELECT pg_try_advisory_lock(%s, %s)", [HOLD_NAMESPACE, shard.pk])
    assert held.fetchone() == (True,)
    return other


def test_a_shard_held_by_a_live_worker_is_not_run_twice_and_its_hold_ends_with_its_connection(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    shard = RunShard.objects.get(run=run, index=0)
    RunShard.objects.filter(pk=shard.pk).update(
        status="running", worker="elsewhere/boot:42", attempts=1, heartbeat_at=timezone.now()
    )
    holder = _hold_elsewhere(shard)
    assert str(services.shard_process(shard_id=shard.pk)).startswith("skipped")
    shard.refresh_from_db()
    assert (shard.status, shard.attempts, shard.worker) == ("running", 1, "elsewhere/boot:42")
    assert not ItemResult.objects.filter(run=run).exists()
    # The holder's connection ends (a killed worker, a terminated connection): its fresh
    # heartbeat does not matter, the next delivery takes the shard over at once.
    holder.close()
    assert str(services.shard_process(shard_id=shard.pk)) == "done"
    shard.refresh_from_db()
    assert shard.attempts == 2 and "taken over from elsewhere/boot:42" in shard.error


def test_a_shard_whose_process_died_on_this_machine_is_taken_over_at_once(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    dead = subprocess.Popen(["true"])
    dead.wait()
    shard = RunShard.objects.get(run=run, index=0)
    RunShard.objects.filter(pk=shard.pk).update(
        status="running", worker=f"{_machine()}:{dead.pid}", attempts=1, heartbeat_at=timezone.now()
    )
    assert str(services.shard_process(shard_id=shard.pk)) == "done"
    shard.refresh_from_db()
    assert shard.status == "done" and shard.attempts == 2
    assert "taken over" in shard.error
    assert ItemResult.objects.filter(run=run).count() == shard.items_total


def test_the_sweeper_requeues_a_silent_shard_and_the_run_completes(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    lost = RunShard.objects.get(run=run, index=0)
    stale = timezone.now() - timedelta(seconds=settings.CAREALIGN_SHARD_HEARTBEAT_TIMEOUT + 1)
    RunShard.objects.filter(pk=lost.pk).update(
        status="running", worker="gone/boot:7", attempts=1, heartbeat_at=stale
    )
    for shard in RunShard.objects.filter(run=run).exclude(pk=lost.pk):
        with django_capture_on_commit_callbacks(execute=True):
            services.shard_process(shard_id=shard.pk)
    run.refresh_from_db()
    assert run.status == "running"  # the chord cannot finish: one shard's worker is gone
    from worker import tasks

    with django_capture_on_commit_callbacks(execute=True):
        result = services.runs_sweep()
        assert result.requeue == [lost.pk]
        tasks.send_sweep(result)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    _each_item_once(run, knowledge_setup.rows)
    lost.refresh_from_db()
    assert lost.attempts == 2 and "requeued by the sweeper" in lost.error


def test_the_sweeper_fails_a_run_whose_shard_keeps_dying(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    stale = timezone.now() - timedelta(seconds=settings.CAREALIGN_SHARD_HEARTBEAT_TIMEOUT + 1)
    RunShard.objects.filter(run=run, index=2).update(
        status="running",
        worker="gone/boot:7",
        attempts=settings.CAREALIGN_SHARD_MAX_ATTEMPTS,
        heartbeat_at=stale,
    )
    assert services.runs_sweep().failed == 1
    run.refresh_from_db()
    assert run.status == "failed"
    assert "Shard 2 was started 3 times without finishing" in run.error


def test_the_sweeper_finalises_a_run_whose_shards_are_all_done(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks, shard_size=100)
    with django_capture_on_commit_callbacks():  # the finalise message is lost
        services.shard_process(shard_id=RunShard.objects.get(run=run).pk)
    assert services.runs_sweep().finalise == []  # it may still be finalising
    an_hour_ago = timezone.now() - timedelta(hours=1)
    RunShard.objects.filter(run=run).update(finished_at=an_hour_ago)
    EvaluationRun.objects.filter(pk=run.pk).update(dispatched_at=an_hour_ago)
    from worker import tasks

    with django_capture_on_commit_callbacks(execute=True):
        result = services.runs_sweep()
        assert result.finalise == [run.pk]
        tasks.send_sweep(result)
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_finalising_waits_for_every_shard_and_happens_once(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    assert services.run_finalize(run_id=run.pk) is None
    for shard in RunShard.objects.filter(run=run):
        with django_capture_on_commit_callbacks():
            services.shard_process(shard_id=shard.pk)
    assert services.run_finalize(run_id=run.pk) is not None
    assert services.run_finalize(run_id=run.pk) is None  # the chord body, after the last shard
    assert CheckResult.objects.filter(run=run).count() == 1


def test_cancelling_a_running_run_stops_its_shard_after_one_batch(
    knowledge_setup: EvalSetup,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    monkeypatch: Any,
) -> None:
    settings.CAREALIGN_SCORING_BATCH_SIZE = "1"
    settings.CAREALIGN_PROGRESS_INTERVAL = 0
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks, shard_size=100)
    batches = []
    score_shard = sharding.score_shard

    def cancel_during_first_batch(*args: Any, progress: Any, **kwargs: Any) -> Any:
        def report(done: int, total: int) -> None:
            batches.append(done)
            if len(batches) == 1:
                services.run_cancel(run=run)
            progress(done, total)

        return score_shard(*args, progress=report, **kwargs)

    monkeypatch.setattr(sharding, "score_shard", cancel_during_first_batch)
    shard = RunShard.objects.get(run=run)
    outcome = services.shard_process(shard_id=shard.pk)
    assert str(outcome) == "stopped: the run is cancelled"
    assert len(batches) == 1  # the next batch was never scored
    shard.refresh_from_db()
    run.refresh_from_db()
    assert (shard.status, run.status) == ("cancelled", "cancelled")
    assert not ItemResult.objects.filter(run=run).exists()


def test_a_cancelled_queued_run_never_starts(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks():
        run = services.run_create(
            suite=knowledge_setup.suite, model_version=knowledge_setup.version
        )
    services.run_cancel(run=run)
    assert services.run_start(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.status == "cancelled" and run.shards_total == 0
    with pytest.raises(ValidationError, match="this one is cancelled"):
        services.run_cancel(run=run)


def test_two_different_items_under_one_id_fail_the_run_with_the_reason(
    setup: EvalSetup, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.files import File

    from apps.registry import services as registry
    from tests.factories import DatasetFactory

    original = setup.datasets["knowledge"].file.path
    first = json.loads(Path(original).read_text().splitlines()[0])
    clash = tmp_path / "clash.jsonl"
    clash.write_text(json.dumps({**first, "gold": ["A" if first["gold"] != ["A"] else "B"]}) + "\n")
    with clash.open("rb") as handle:
        version = registry.dataset_version_create(
            dataset=DatasetFactory(organization=setup.org),
            upload=File(handle, name="clash.jsonl"),  # type: ignore[arg-type]
            format="jsonl",
            phi_status="none",
            licence="CC BY 4.0",
            provenance="test",
        )
    suite = services.suite_new_version(
        suite=setup.suite,
        datasets=[*setup.datasets.values(), version],
        dataset_checks={**setup.suite.dataset_checks, str(version.pk): ["knowledge"]},
    )
    from worker import tasks

    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_create(suite=suite, model_version=setup.version)
        tasks.send_run_start(run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("Planning failed: check knowledge: two different items share id")


def test_the_model_is_loaded_once_per_process(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from worker.engine import loading

    loading.clear_model_cache()
    real, calls = loading._load, []

    def counting(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(loading, "_load", counting)
    run = _planned(knowledge_setup, django_capture_on_commit_callbacks)
    for shard in RunShard.objects.filter(run=run):
        with django_capture_on_commit_callbacks():
            services.shard_process(shard_id=shard.pk)
    assert len(calls) == 1 and run.shards_total > 1


def test_a_hub_model_missing_from_the_cache_fails_the_run_with_a_readable_reason(
    knowledge_setup: EvalSetup, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.factories import ModelVersionFactory
    from worker import tasks

    version = ModelVersionFactory(model=knowledge_setup.model, weights_digest="")
    run = services.run_create(suite=knowledge_setup.suite, model_version=version)
    plan = services.run_start(run_id=run.pk)
    assert plan is not None
    with pytest.raises(services.ModelUnavailableError):  # the task records it, then re-raises
        tasks.shard_process.apply(args=[plan.shard_ids[0]])
    run.refresh_from_db()
    assert run.status == "failed"
    assert (
        f"hub model example/med-llm at revision {version.revision} could not be loaded on this "
        "worker: is it in the worker's Hugging Face cache" in run.error
    )
    assert "model folder not found" not in run.error
