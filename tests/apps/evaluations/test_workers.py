"""Real Celery workers, a real Redis broker and PostgreSQL: runs end to end, crash safety,
redelivery after the visibility timeout, and two beats firing one schedule.

Workers are `celery -A governance worker` subprocesses on the test database, started and
killed by the tests (always killed at teardown). Only timing is simulated: a worker started
with CAREALIGN_TEST_SHARD_DELAY sleeps after each scored batch (tests/builders/celery_main.py
injects it; the product has no such hook) so that a shard is slow enough to be killed mid-way
or to outlive a short visibility timeout; everything else is the production code path.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from apps.evaluations import services
from apps.evaluations.models import CheckResult, EvaluationRun, RunShard
from tests.builders.evaluations import EvalSetup, make_setup
from tests.builders.processes import (
    Celery,
    Process,
    assert_each_item_once,
    finished,
    pid_of,
    shard_half_way,
    wait_for,
)
from worker.tasks import send_run_start

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_run_of_every_check_completes_on_a_real_worker_with_live_progress(
    celery: Celery, setup: EvalSetup, client_for: Any
) -> None:
    celery.worker("w1", CAREALIGN_TEST_SHARD_DELAY="0.2")
    api = client_for("model_developer")
    response = api.post(
        "/api/v1/runs/",
        {"suite": setup.suite.pk, "model_version": setup.version.pk, "shard_size": 12},
        format="json",
    )
    assert response.status_code == 202, response.json()
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    seen: list[dict[str, Any]] = []

    def progressing() -> bool:
        body = api.get(f"/api/v1/runs/{run.pk}/").json()
        seen.append(body)
        return body["status"] not in ("queued", "running")

    wait_for(progressing, 180, "the run to finish", step=0.5)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert_each_item_once(run, setup)
    assert run.shards_total == 7  # 84 work units in shards of 12
    assert CheckResult.objects.filter(run=run).count() == 4
    # Live progress: the API showed the run part-way, with a time estimate.
    partial = [b for b in seen if b["status"] == "running" and 0 < b["items_done"] < setup.rows]
    assert partial, [(b["status"], b["items_done"]) for b in seen]
    assert any(b["eta_seconds"] is not None and 0 < b["progress"] < 100 for b in partial)
    assert seen[-1]["progress"] == 100 and seen[-1]["verdict"] not in ("", "pass")
    assert {shard["worker"] for shard in run.manifest["shards"]}
    assert run.manifest["datasets"] and run.manifest["model"]["weights_digest"]


def test_a_worker_killed_mid_shard_loses_and_duplicates_nothing(
    celery: Celery, personas: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    setup = make_setup(personas.org, tiny_model_path, tmp_path, checks=("knowledge",))
    slow = {"CAREALIGN_TEST_SHARD_DELAY": "0.5"}
    # w1 takes back a dead worker's messages after 8 s (the visibility timeout); w2 and w3
    # would wait 10 minutes, so when only they are left, the sweeper has to rescue a shard.
    w1 = celery.worker("w1", wait=False, CELERY_VISIBILITY_TIMEOUT="8", **slow)
    w2 = celery.worker("w2", wait=False, CELERY_VISIBILITY_TIMEOUT="600", **slow)
    celery.ready(w1, w2)
    rounds = [
        ("child", None),  # the pool child dies; its worker requeues the message at once
        ("worker", w2),  # a whole worker dies; w1 gets the message after the timeout
        ("sweeper", w1),  # a whole worker dies; only the sweeper can requeue the shard
    ]
    workers = [w1, w2]
    for how, target in rounds:
        if how == "sweeper":
            celery.ready(workers[-1])
        run, victim = shard_half_way(setup, target)
        pid = pid_of(victim)
        assert any(worker.owns(pid) for worker in workers), f"{victim.worker} is not ours"
        if how == "child":
            os.kill(pid, signal.SIGKILL)
        else:
            assert target is not None
            target.kill()
        if how == "worker":  # a new worker joins while the run recovers
            workers.append(celery.worker("w3", wait=False, CELERY_VISIBILITY_TIMEOUT="600", **slow))
        if how == "sweeper":
            from worker.tasks import runs_sweep

            def swept(run: EvaluationRun = run) -> EvaluationRun | None:
                runs_sweep.delay()
                return finished(run)

            wait_for(swept, 120, f"run {run.pk} rescued by the sweeper", step=2)
        wait_for(lambda run=run: finished(run), 120, f"run {run.pk} to finish")
        assert run.status == "succeeded", (how, run.error)
        assert_each_item_once(run, setup)
        victim.refresh_from_db()
        assert victim.status == "done" and victim.attempts == 2, (how, victim.attempts)
        if how == "sweeper":
            assert "requeued by the sweeper" in victim.error


def test_a_shard_longer_than_the_visibility_timeout_runs_once(
    celery: Celery, personas: Any, tiny_model_path: Path, tmp_path: Path
) -> None:
    setup = make_setup(personas.org, tiny_model_path, tmp_path, checks=("knowledge",))
    slow = {
        "CAREALIGN_TEST_SHARD_DELAY": "1",
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CAREALIGN_SHARD_HEARTBEAT_TIMEOUT": "6",
    }
    first = celery.worker("w1", wait=False, **slow)
    second = celery.worker("w2", wait=False, **slow)
    celery.ready(first, second)
    run = services.run_create(suite=setup.suite, model_version=setup.version, shard_size=100)
    send_run_start(run.pk)
    wait_for(lambda: finished(run), 150, "the run to finish")
    assert run.status == "succeeded", run.error
    assert_each_item_once(run, setup)
    shard = RunShard.objects.get(run=run)
    # Redis handed the unacknowledged shard out again while it ran (the duplicate was seen
    # and skipped), yet it was claimed and scored exactly once.
    logs = first.text() + second.text()
    assert re.search(rf"run {run.pk} shard 0: held by live worker", logs), logs[-3000:]
    assert shard.attempts == 1
    assert shard.error == ""


def test_two_beats_create_one_run_per_due_time(
    celery: Celery, setup: EvalSetup, tmp_path: Path
) -> None:
    schedule = services.schedule_create(
        organization=setup.org,
        name="Every minute",
        suite=setup.suite,
        model=setup.model,
        target="fixed",
        model_version=setup.version,
        cron="* * * * *",
    )
    worker = celery.worker("w1", queues="default")
    # Start the beats well before a minute boundary, so both see the same due time.
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    beats = [celery.beat("beat1"), celery.beat("beat2")]
    # "2026-03-02 10:05:00,012 INFO celery.beat Scheduler: Sending due task <name>" (UTC:
    # Django sets TZ from TIME_ZONE). A beat sends at its start for the current due time,
    # then at each minute.
    sent = re.compile(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d):\d\d,\d+ INFO celery\.beat Scheduler: Sending due "
        rf"task {re.escape(schedule.periodic_task.name)} ",
        re.MULTILINE,
    )

    def minutes(beat: Process) -> list[str]:
        return sent.findall(beat.text())

    both = wait_for(
        lambda: set(minutes(beats[0])) & set(minutes(beats[1])), 90, "both beats to send"
    )
    sends = minutes(beats[0]) + minutes(beats[1])
    done = re.compile(r"Task worker\.tasks\.schedule_fire\[[^\]]+\] succeeded")
    wait_for(lambda: len(done.findall(worker.text())) >= len(sends), 30, "every firing handled")
    runs = EvaluationRun.objects.filter(schedule=schedule)
    due_keys = sorted(runs.values_list("due_key", flat=True))
    # One run per due time that was sent, however many beats sent it.
    expected = sorted({f"schedule:{schedule.pk}:{m.replace(' ', 'T')}Z" for m in sends})
    assert due_keys == expected, (due_keys, sends)
    assert len(sends) > len(due_keys) and both
    assert {run.trigger for run in runs} == {"schedule"}
