"""The thin Celery tasks: stable names, queues and limits, and what they do with errors.

Real workers, a real broker and beat are exercised in tests/apps/evaluations/test_workers.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError

from apps.evaluations.models import EvaluationRun, RunShard
from apps.evaluations.services import ShardOutcome
from governance.celery import app
from worker import tasks

# Queued messages and beat's periodic tasks refer to these names: they must never change.
NAMES = {
    tasks.run_start: "worker.tasks.run_start",
    tasks.shard_process: "worker.tasks.shard_process",
    tasks.run_finalize: "worker.tasks.run_finalize",
    tasks.runs_sweep: "worker.tasks.runs_sweep",
    tasks.schedule_fire: "worker.tasks.schedule_fire",
}


def test_task_names_do_not_change() -> None:
    for task, name in NAMES.items():
        assert task.name == name
        assert app.tasks[name].run is task.run


def test_gpu_work_goes_to_the_gpu_queue_and_the_rest_to_default() -> None:
    router = app.amqp.router
    queues = {name: router.route({}, name)["queue"].name for name in NAMES.values()}
    assert queues == {
        "worker.tasks.run_start": "gpu",
        "worker.tasks.shard_process": "gpu",
        "worker.tasks.run_finalize": "default",
        "worker.tasks.runs_sweep": "default",
        "worker.tasks.schedule_fire": "default",
    }


def test_celery_is_set_up_for_long_gpu_tasks() -> None:
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    # Each queue has its own limits, the soft one first.
    assert (tasks.shard_process.soft_time_limit, tasks.shard_process.time_limit) == (6900, 7200)
    assert (tasks.run_start.soft_time_limit, tasks.run_start.time_limit) == (6900, 7200)
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (1740, 1800)
    # One visibility timeout in the three places Redis reads it, longer than any shard.
    timeouts = {
        conf.broker_transport_options["visibility_timeout"],
        conf.result_backend_transport_options["visibility_timeout"],
        conf.visibility_timeout,
    }
    assert timeouts == {10800} and tasks.shard_process.time_limit < 10800
    # Retries for transient errors, with backoff well under the visibility timeout.
    for task in NAMES:
        assert OperationalError in task.autoretry_for
        assert task.retry_backoff and task.retry_backoff_max < conf.visibility_timeout


def test_beat_runs_the_sweeper_every_minute() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["carealign-runs-sweep"]
    assert entry["task"] == "worker.tasks.runs_sweep"
    assert str(entry["schedule"]) == "<crontab: * * * * * (m/h/dM/MY/d)>"


@pytest.fixture
def shard(personas: Any) -> RunShard:
    from tests.factories import EvaluationRunFactory, EvaluationSuiteFactory, RunShardFactory

    suite = EvaluationSuiteFactory(organization=personas.org)
    run = EvaluationRunFactory(suite=suite, status="running")
    return RunShardFactory(run=run, index=0, items_total=1)


@pytest.mark.django_db
def test_a_shard_that_fails_for_good_fails_its_run_with_the_reason(
    shard: RunShard, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> str:
        raise ValueError("the tokenizer has no pad token")

    monkeypatch.setattr(tasks.services, "shard_process", broken)
    with pytest.raises(ValueError):
        tasks.shard_process.apply(args=[shard.pk])
    shard.refresh_from_db()
    assert shard.status == "failed"
    run = EvaluationRun.objects.get(pk=shard.run_id)
    assert run.status == "failed"
    assert run.error == "Shard 0 failed: ValueError: the tokenizer has no pad token"


@pytest.mark.django_db
def test_a_transient_error_is_retried(shard: RunShard, monkeypatch: Any) -> None:
    calls: list[dict[str, Any]] = []

    def flaky(**kwargs: Any) -> ShardOutcome:
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return ShardOutcome("done", shard.run_id)

    monkeypatch.setattr(tasks.services, "shard_process", flaky)
    # throw=False: eager mode then retries in place instead of raising Retry.
    assert tasks.shard_process.apply(args=[shard.pk], throw=False).get() == "done"
    assert [call["shard_id"] for call in calls] == [shard.pk, shard.pk]
    assert EvaluationRun.objects.get(pk=shard.run_id).status == "running"
