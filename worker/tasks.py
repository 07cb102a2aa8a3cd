"""Thin Celery tasks: load rows by id, call one service, record the outcome.

Names are explicit and stable (`worker.tasks.<name>`): messages waiting in a queue and beat's
periodic tasks refer to a task by name, so renaming a function must not rename its task
(tests/worker/test_tasks.py pins them). Queues and time limits: CELERY_TASK_ROUTES and
CELERY_TASK_ANNOTATIONS in governance/settings.py. Every task is idempotent (claims by
conditional UPDATE, shards written once), as late acknowledgement requires.

Errors: transient ones (database, broker) are retried with exponential backoff; any other
error ends the run with its reason, then propagates so Celery records the failure.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.audit import services as audit
from apps.audit.services import audit_context
from apps.evaluations import services
from governance.celery import app

TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,  # well below the visibility timeout: a countdown past it loops
    "retry_jitter": True,
    "max_retries": 5,
}


@worker_init.connect  # type: ignore[untyped-decorator]
def _import_libraries(**kwargs: Any) -> None:
    """Import torch and transformers once in the worker's main process, before it forks.

    Each prefork child then starts scoring at once instead of importing them itself (after a
    child is killed too). Importing does not initialise CUDA, only using it does, so the
    children can still use the GPU; the model itself is loaded in the child, by the first
    shard (worker.engine.loading caches it per process).
    """
    if settings.CAREALIGN_WORKER_PRELOAD:
        for module in ("torch", "transformers", "transformers.modeling_utils"):
            importlib.import_module(module)


@contextmanager
def _as_worker(task: Task) -> Iterator[None]:
    with audit_context(source="worker", actor=f"system:{task.name}"):
        yield


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _test_delay() -> float:
    """Seconds to sleep per scored batch: only tests set it, to make a shard slow on purpose."""
    return float(os.environ.get("CAREALIGN_TEST_SHARD_DELAY") or 0)


@app.task(bind=True, name="worker.tasks.run_start", **RETRY)  # type: ignore[untyped-decorator]
def run_start(self: Task, run_id: int) -> bool:
    with _as_worker(self):
        try:
            return services.run_start(run_id=run_id)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            services.run_fail(run_id=run_id, reason=f"Starting the run failed: {_describe(exc)}")
            raise


@app.task(bind=True, name="worker.tasks.shard_process", **RETRY)  # type: ignore[untyped-decorator]
def shard_process(self: Task, shard_id: int) -> str:
    with _as_worker(self):
        try:
            return services.shard_process(shard_id=shard_id, delay_per_batch=_test_delay())
        except TRANSIENT_ERRORS:
            raise
        except SoftTimeLimitExceeded as exc:
            services.shard_fail(
                shard_id=shard_id,
                reason=f"it ran past the soft time limit ({self.soft_time_limit} s): "
                "use a smaller shard size",
            )
            raise exc
        except Exception as exc:
            services.shard_fail(shard_id=shard_id, reason=_describe(exc))
            raise


@app.task(bind=True, name="worker.tasks.run_finalize", **RETRY)  # type: ignore[untyped-decorator]
def run_finalize(self: Task, run_id: int) -> str | None:
    with _as_worker(self):
        run = services.run_finalize(run_id=run_id)
        return None if run is None else f"{run.status} ({run.verdict})"


@app.task(bind=True, name="worker.tasks.runs_sweep", **RETRY)  # type: ignore[untyped-decorator]
def runs_sweep(self: Task) -> dict[str, int]:
    with _as_worker(self):
        return services.runs_sweep()


@app.task(bind=True, name="worker.tasks.schedule_fire", **RETRY)  # type: ignore[untyped-decorator]
def schedule_fire(self: Task, schedule_id: int) -> int | None:
    with _as_worker(self):
        run = services.schedule_fire(schedule_id=schedule_id)
        return None if run is None else run.pk


@app.task(bind=True, name="worker.tasks.model_card_render", **RETRY)  # type: ignore[untyped-decorator]
def model_card_render(self: Task, card_id: str, generation: int) -> str | None:
    """Render a draft model card; a redelivered or outdated request does nothing."""
    from apps.reports.services import model_card_render as render

    with _as_worker(self):
        card = render(card_id=card_id, generation=generation)
        return None if card is None else card.status


@app.task(bind=True, name="worker.tasks.audit_chain_verify", **RETRY)  # type: ignore[untyped-decorator]
def audit_chain_verify(self: Task, verification_id: int) -> str | None:
    """Re-walk one organisation's audit chain and store what was found."""
    with _as_worker(self):
        try:
            verification = audit.chain_verification_run(verification_id=verification_id)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            audit.chain_verification_fail(verification_id=verification_id, reason=_describe(exc))
            raise
        return None if verification is None else verification.summary
