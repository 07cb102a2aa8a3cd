"""Real Celery workers, a real Redis broker and PostgreSQL: runs end to end, crash safety,
redelivery after the visibility timeout, and two beats firing one schedule.

Workers are `celery -A governance worker` subprocesses on the test database, started and
killed by the tests (always killed at teardown). Only timing is simulated: the
CAREALIGN_TEST_SHARD_DELAY hook sleeps after each scored batch so that a shard is slow enough
to be killed mid-way or to outlive a short visibility timeout; everything else is the
production code path.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from apps.evaluations import services
from apps.evaluations.models import CheckResult, EvaluationRun, ItemResult, RunShard
from tests.apps.evaluations.conftest import EvalSetup, make_setup

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

CELERY = str(Path(sys.executable).with_name("celery"))
BROKER = os.environ.get("CAREALIGN_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="session")
def key_prefix() -> str:
    """This test run's own Redis keys: other runs sharing the database never see its messages."""
    return f"carealign-test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def broker(key_prefix: str) -> Iterator[str]:
    """Point this process's Celery app at Redis (not in-process) for the test, then back."""
    import redis

    from governance.celery import app

    client = redis.Redis.from_url(BROKER)

    def clean() -> None:  # only this run's keys: the database may be shared
        for key in client.scan_iter(match=f"{key_prefix}*"):
            client.delete(key)

    clean()
    names = ("broker_url", "result_backend", "task_always_eager")
    names += ("broker_transport_options", "result_backend_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(
        broker_url=BROKER,
        result_backend=BROKER,
        task_always_eager=False,
        broker_transport_options={
            **saved["broker_transport_options"],
            "global_keyprefix": key_prefix,
        },
        result_backend_transport_options={
            **saved["result_backend_transport_options"],
            "global_keyprefix": key_prefix,
        },
    )
    _drop_connections(app)
    try:
        yield BROKER
    finally:
        _drop_connections(app)
        app.conf.update(saved)
        clean()
        client.close()


def _drop_connections(app: Any) -> None:
    # Celery caches its connection and producer pools on first use (an in-process test may
    # have made them for the empty broker URL): forget them, so sends use the Redis above.
    # (Not closed: kombu keeps pools per URL and would hand the closed one out again.)
    app._pool = None
    app.amqp._producer_pool = None


class Process:
    """A celery subprocess in its own process group, logging to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [CELERY, "-A", "governance", *args],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def owns(self, pid: int) -> bool:
        try:
            return os.getpgid(pid) == self.popen.pid
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        """kill -9 of the whole worker: the main process and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


class Celery:
    """Starts workers and beats for a test; kills every one of them at teardown."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env, self.started = tmp, env, []  # type: list[Process]

    def worker(
        self, name: str, queues: str = "gpu,default", wait: bool = True, **env: str
    ) -> Process:
        process = Process(
            [
                "worker",
                "-Q",
                queues,
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            {**self.env, **env},
            self.tmp / f"{name}.log",
        )
        self.started.append(process)
        if wait:
            self.ready(process)
        return process

    @staticmethod
    def ready(*processes: Process) -> None:
        for process in processes:
            wait_for(lambda p=process: " ready." in p.text(), 90, f"{process.log.stem} ready")

    def beat(self, name: str) -> Process:
        process = Process(
            ["beat", "--loglevel", "INFO", "--pidfile=", "--max-interval", "1"],
            self.env,
            self.tmp / f"{name}.log",
        )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            process.kill()


@pytest.fixture
def celery(broker: str, key_prefix: str, tmp_path: Path) -> Iterator[Celery]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_KEY_PREFIX": key_prefix,
        "CAREALIGN_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "CAREALIGN_LOG_LEVEL": "INFO",
        "CAREALIGN_PROGRESS_INTERVAL": "1",
        "CAREALIGN_SHARD_HEARTBEAT_TIMEOUT": "4",
        "CAREALIGN_SCORING_BATCH_SIZE": "1",
        "CELERY_BROKER_RESTORE_INTERVAL": "1",
    }
    manager = Celery(tmp_path, env)
    try:
        yield manager
    finally:
        manager.stop_all()


def _finished(run: EvaluationRun) -> EvaluationRun | None:
    run.refresh_from_db()
    return run if run.status not in ("queued", "running") else None


def _assert_each_item_once(run: EvaluationRun, setup: EvalSetup) -> None:
    rows = ItemResult.objects.filter(run=run)
    assert run.items_total == setup.rows
    assert rows.count() == setup.rows
    duplicated = rows.values("check_name", "item_id", "language").annotate(n=Count("id"))
    assert not duplicated.filter(n__gt=1).exists()


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
    assert response.status_code == 201, response.json()
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    seen: list[dict[str, Any]] = []

    def progressing() -> bool:
        body = api.get(f"/api/v1/runs/{run.pk}/").json()
        seen.append(body)
        return body["status"] not in ("queued", "running")

    wait_for(progressing, 180, "the run to finish", step=0.5)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    _assert_each_item_once(run, setup)
    assert run.shards_total == 7  # 84 work units in shards of 12
    assert CheckResult.objects.filter(run=run).count() == 4
    # Live progress: the API showed the run part-way, with a time estimate.
    partial = [b for b in seen if b["status"] == "running" and 0 < b["items_done"] < setup.rows]
    assert partial, [(b["status"], b["items_done"]) for b in seen]
    assert any(b["eta_seconds"] is not None and 0 < b["progress"] < 100 for b in partial)
    assert seen[-1]["progress"] == 100 and seen[-1]["verdict"] not in ("", "pass")
    assert {shard["worker"] for shard in run.manifest["shards"]}
    assert run.manifest["datasets"] and run.manifest["model"]["weights_digest"]


def _pid_of(shard: RunShard) -> int:
    return int(shard.worker.rpartition(":")[2])


def _victim(setup: EvalSetup, process: Process | None) -> tuple[EvaluationRun, RunShard]:
    """Start runs until a shard is half-way in `process` (any worker if None)."""
    for _ in range(4):
        run = services.run_create(suite=setup.suite, model_version=setup.version, shard_size=3)

        def half_way(run: EvaluationRun = run) -> RunShard | bool | None:
            for shard in RunShard.objects.filter(run=run, status="running", items_done__gt=0):
                if shard.items_done < shard.items_total and (
                    process is None or process.owns(_pid_of(shard))
                ):
                    return shard
            return _finished(run) is not None  # True: finished, never half-way in `process`

        found = wait_for(half_way, 120, f"a shard of run {run.pk} half-way", step=0.1)
        if isinstance(found, RunShard):
            return run, found
    raise AssertionError("no shard ran in the chosen worker")


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
        run, victim = _victim(setup, target)
        pid = _pid_of(victim)
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
                return _finished(run)

            wait_for(swept, 120, f"run {run.pk} rescued by the sweeper", step=2)
        wait_for(lambda run=run: _finished(run), 120, f"run {run.pk} to finish")
        assert run.status == "succeeded", (how, run.error)
        _assert_each_item_once(run, setup)
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
    wait_for(lambda: _finished(run), 150, "the run to finish")
    assert run.status == "succeeded", run.error
    _assert_each_item_once(run, setup)
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
