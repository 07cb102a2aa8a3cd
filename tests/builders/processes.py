"""Real Celery worker and beat processes for tests: started on the test database, killed at
teardown (the fixtures are in conftest.py), and the waits and checks the tests share."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import Count

from apps.evaluations import services
from apps.evaluations.models import EvaluationRun, ItemResult, RunShard
from worker.tasks import send_run_start

if TYPE_CHECKING:
    from tests.builders.evaluations import EvalSetup

# `celery`, with the slowness the tests ask for (CAREALIGN_TEST_SHARD_DELAY, celery_main.py).
CELERY = [sys.executable, "-m", "tests.builders.celery_main"]
BROKER = os.environ.get("CAREALIGN_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def drop_connections(app: Any) -> None:
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
                [*CELERY, "-A", "governance", *args],
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


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def finished(run: EvaluationRun) -> EvaluationRun | None:
    run.refresh_from_db()
    return run if run.status not in ("queued", "running") else None


def assert_each_item_once(run: EvaluationRun, setup: EvalSetup) -> None:
    rows = ItemResult.objects.filter(run=run)
    assert run.items_total == setup.rows
    assert rows.count() == setup.rows
    duplicated = rows.values("check_name", "item_id", "language").annotate(n=Count("id"))
    assert not duplicated.filter(n__gt=1).exists()


def pid_of(shard: RunShard) -> int:
    return int(shard.worker.rpartition(":")[2])


def shard_half_way(setup: EvalSetup, process: Process | None) -> tuple[EvaluationRun, RunShard]:
    """Start runs until a shard is half-way in `process` (any worker if None)."""
    for _ in range(4):
        run = services.run_create(suite=setup.suite, model_version=setup.version, shard_size=3)
        send_run_start(run.pk)

        def half_way(run: EvaluationRun = run) -> RunShard | bool | None:
            for shard in RunShard.objects.filter(run=run, status="running", items_done__gt=0):
                if shard.items_done < shard.items_total and (
                    process is None or process.owns(pid_of(shard))
                ):
                    return shard
            return finished(run) is not None  # True: finished, never half-way in `process`

        found = wait_for(half_way, 120, f"a shard of run {run.pk} half-way", step=0.1)
        if isinstance(found, RunShard):
            return run, found
    raise AssertionError("no shard ran in the chosen worker")
