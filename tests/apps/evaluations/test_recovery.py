"""Recovery with real workers and the default recovery settings: the embedded default
answers at once and runs the same tasks; a killed worker and messages lost with the broker
are recovered within five minutes, every item stored once."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from apps.evaluations import services
from apps.evaluations.models import EvaluationRun, RunShard
from tests.builders.evaluations import EvalSetup, make_setup
from tests.builders.processes import (
    BROKER,
    Celery,
    assert_each_item_once,
    finished,
    shard_half_way,
    wait_for,
)
from worker.tasks import send_run_start

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_the_embedded_default_answers_202_at_once_and_a_real_worker_runs_the_evaluation(
    embedded: Celery, knowledge_setup: EvalSetup, client_for: Any
) -> None:
    worker = embedded.worker("embedded")
    api = client_for("model_developer")
    body = {"suite": knowledge_setup.suite.pk, "model_version": knowledge_setup.version.pk}
    response = api.post("/api/v1/runs/", {**body, "shard_size": 5}, format="json")
    # Answered before any evaluation: the request only queued the run.
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued" and response.json()["items_done"] == 0
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    wait_for(lambda: finished(run), 180, "the worker to finish the run")
    assert run.status == "succeeded", (run.error, worker.text()[-3000:])
    assert_each_item_once(run, knowledge_setup)
    assert run.shards_total == 5  # 12 items and their 12 option-prior twins, in shards of 5
    # The same tasks as production ran in the worker, the chord's results kept in the database.
    assert "worker.tasks.shard_process" in worker.text()
    from django_celery_results.models import TaskResult

    assert TaskResult.objects.filter(task_name="worker.tasks.shard_process").count() >= 3


def test_a_killed_worker_is_recovered_within_five_minutes_with_default_settings(
    celery: Celery, personas: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    """kill -9 of a whole worker (main process and pool) with the recovery settings at their
    defaults: the shard's hold ends with the dead worker's connection, so beat's next sweep
    (every minute) requeues it; no visibility timeout or heartbeat timeout is waited for."""
    setup = make_setup(personas.org, tiny_model_path, tmp_path, checks=("knowledge",))
    defaults = {
        "CAREALIGN_PROGRESS_INTERVAL": "5",
        "CAREALIGN_SHARD_HEARTBEAT_TIMEOUT": "300",
        "CELERY_BROKER_RESTORE_INTERVAL": "100",
        "CAREALIGN_TEST_SHARD_DELAY": "3",  # a shard of 3 items takes 9 s: half-way at 6 s
    }
    first = celery.worker("w1", **defaults)
    run, victim = shard_half_way(setup, first)
    first.kill()
    killed = time.monotonic()
    celery.worker("w2", **defaults)
    celery.beat("beat")
    wait_for(lambda: finished(run), 300, f"run {run.pk} to recover from the killed worker")
    assert run.status == "succeeded", run.error
    assert_each_item_once(run, setup)
    victim.refresh_from_db()
    assert victim.status == "done" and victim.attempts == 2
    assert "requeued by the sweeper" in victim.error
    logging.getLogger(__name__).info("recovered %.0f s after the kill", time.monotonic() - killed)


def test_shards_lost_with_the_broker_are_sent_again_within_five_minutes_by_default(
    celery: Celery, personas: Any, tiny_model_path: Path, tmp_path: Path, key_prefix: str
) -> None:
    """A broker restart loses the pending shard messages (their Redis lists are dropped);
    with the default CAREALIGN_SHARD_REDISPATCH_AFTER, beat's sweeper sends them again once
    the gpu queue is empty, and every item is stored once."""
    import redis

    setup = make_setup(personas.org, tiny_model_path, tmp_path, checks=("knowledge",))
    celery.worker("w1", CAREALIGN_TEST_SHARD_DELAY="1")
    run = services.run_create(suite=setup.suite, model_version=setup.version, shard_size=3)
    send_run_start(run.pk)
    wait_for(lambda: RunShard.objects.filter(run=run, status="running").exists(), 120, "a shard")
    client = redis.Redis.from_url(BROKER)
    lost = 0
    for key in client.scan_iter(match=f"{key_prefix}gpu*"):
        if client.type(key) == b"list":
            lost += client.llen(key)
            client.delete(key)
    client.close()
    assert lost >= 1  # shards still waiting for the worker were lost
    celery.beat("beat")
    wait_for(lambda: finished(run), 300, f"run {run.pk} to recover its lost shards")
    assert run.status == "succeeded", run.error
    assert_each_item_once(run, setup)
