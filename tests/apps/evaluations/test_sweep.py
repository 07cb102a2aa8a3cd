"""The sweeper: lost messages sent again, runs without progress marked stalled, finalisation
retried after a transient database error (a real cancelled statement on PostgreSQL)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.evaluations import services
from apps.evaluations.models import EvaluationRun, ItemResult, RunShard
from tests.builders.evaluations import EvalSetup
from worker import tasks


def _planned(setup: EvalSetup, shard_size: int = 4) -> EvaluationRun:
    run = services.run_create(suite=setup.suite, model_version=setup.version, shard_size=shard_size)
    assert services.run_start(run_id=run.pk) is not None
    run.refresh_from_db()
    return run


def _age(run: EvaluationRun, seconds: float) -> None:
    """Make the run's messages and progress look `seconds` old."""
    then = timezone.now() - timedelta(seconds=seconds)
    RunShard.objects.filter(run=run).update(dispatched_at=then)
    EvaluationRun.objects.filter(pk=run.pk).update(
        dispatched_at=then, progress_at=then, started_at=then, created_at=then
    )


@pytest.mark.django_db
def test_lost_shard_messages_are_sent_again_once_the_queue_is_empty(
    knowledge_setup: EvalSetup, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = _planned(knowledge_setup)
    pending = sorted(RunShard.objects.filter(run=run).values_list("pk", flat=True))
    assert services.runs_sweep(queue_depth=0).redispatch == []  # sent just now: not lost
    _age(run, settings.CAREALIGN_SHARD_REDISPATCH_AFTER + 1)
    # Messages still wait in the queue: they are behind others, not lost.
    assert services.runs_sweep(queue_depth=len(pending)).redispatch == []
    found = services.runs_sweep(queue_depth=0)  # a broker restart emptied the queue
    assert sorted(found.redispatch) == pending
    assert services.runs_sweep(queue_depth=0).redispatch == []  # not again at once
    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_sweep(found)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert ItemResult.objects.filter(run=run).count() == knowledge_setup.rows


@pytest.mark.django_db
def test_a_run_without_progress_is_stalled_with_the_reason_until_it_progresses(
    knowledge_setup: EvalSetup, settings: Any
) -> None:
    run = _planned(knowledge_setup)
    assert services.runs_sweep(queue_depth=0).stalled == 0
    _age(run, settings.CAREALIGN_RUN_STALLED_AFTER + 1)
    assert services.runs_sweep(queue_depth=0).stalled == 1
    run.refresh_from_db()
    assert run.status == "running"
    assert run.stalled_reason.startswith("no progress for 5 min: 6 shard(s) wait for a gpu worker")
    from apps.evaluations.selectors import run_display_status, run_eta_seconds

    assert run_display_status(run) == "stalled" and run_eta_seconds(run) is None
    first = RunShard.objects.filter(run=run).order_by("index").first()
    assert first is not None
    services.shard_process(shard_id=first.pk)  # a worker stores a shard: progress
    run.refresh_from_db()
    assert run.stalled_reason == "" and run_display_status(run) == "running"
    assert run.items_done == first.items_total


@pytest.mark.django_db
def test_a_queued_run_nobody_starts_is_stalled_with_the_reason(
    knowledge_setup: EvalSetup, settings: Any
) -> None:
    run = services.run_create(suite=knowledge_setup.suite, model_version=knowledge_setup.version)
    _age(run, settings.CAREALIGN_RUN_STALLED_AFTER + 1)
    found = services.runs_sweep(queue_depth=0)
    assert found.restart == [run.pk] and found.stalled == 1
    run.refresh_from_db()
    assert "no gpu worker has started it in 5 min" in run.stalled_reason


@pytest.mark.django_db
def test_progress_counts_stored_shards_only_and_never_goes_down(
    knowledge_setup: EvalSetup,
) -> None:
    run = _planned(knowledge_setup)
    shards = list(RunShard.objects.filter(run=run).order_by("index"))
    services.shard_process(shard_id=shards[0].pk)
    run.refresh_from_db()
    stored = run.items_done
    assert stored == shards[0].items_total and run.progress_at is not None
    # A shard being scored elsewhere reports its own count; the run counts only stored work.
    RunShard.objects.filter(pk=shards[1].pk).update(status="running", items_done=3)
    from apps.evaluations.services.shards import refresh_progress

    refresh_progress(run_id=run.pk)
    run.refresh_from_db()
    assert run.items_done == stored
    # The taken-over shard starts again from 0: the run's count does not go down.
    RunShard.objects.filter(pk=shards[1].pk).update(status="pending", items_done=0)
    refresh_progress(run_id=run.pk)
    run.refresh_from_db()
    assert run.items_done == stored


def _blocked_backend(table: str, deadline: float) -> int:
    """The pid of the backend waiting for a lock on `table` (the finaliser's INSERT)."""
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s AND pid <> pg_backend_pid()",
                [f'INSERT INTO "{table}"%'],
            )
            row = cursor.fetchone()
        if row:
            return int(row[0])
        time.sleep(0.1)
    raise AssertionError(f"nothing waited for {table}")


@pytest.mark.slow  # threads, a table lock and a wait for the blocked statement
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_statement_during_finalisation_is_retried_and_the_run_succeeds(
    knowledge_setup: EvalSetup, caplog: Any
) -> None:
    run = _planned(knowledge_setup)
    for shard in RunShard.objects.filter(run=run):
        services.shard_process(shard_id=shard.pk)  # every item stored; not finalised yet
    db = connection.settings_dict
    locker = psycopg.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1")
    locker.execute("LOCK TABLE evaluations_checkresult IN ACCESS EXCLUSIVE MODE")
    outcome: dict[str, Any] = {}

    def finalise() -> None:
        try:
            outcome["result"] = tasks.run_finalize.apply(args=[run.pk], throw=False)
        finally:
            connection.close()

    caplog.set_level(logging.INFO, logger="celery.app.trace")
    worker = threading.Thread(target=finalise)
    worker.start()
    try:
        pid = _blocked_backend("evaluations_checkresult", time.monotonic() + 60)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [pid])  # what an operator may do
        time.sleep(0.5)
    finally:
        locker.rollback()
        locker.close()
        worker.join(timeout=120)
    # Succeeded after one retry; 12 items are too few for any decision (minimum n 30).
    assert outcome["result"].get() == "succeeded (insufficient_data)"
    retries = [r.getMessage() for r in caplog.records if "Retry in" in r.getMessage()]
    assert len(retries) == 1 and "canceling statement" in retries[0], retries
    run.refresh_from_db()
    assert run.status == "succeeded" and run.error == ""
