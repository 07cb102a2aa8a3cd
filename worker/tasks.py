"""Thin Celery tasks: load rows by id, call one service, record the outcome.

Names are explicit and stable (`worker.tasks.<name>`): messages waiting in a queue and beat's
periodic tasks refer to a task by name, so renaming a function must not rename its task
(tests/worker/test_tasks.py pins them). Queues and time limits: CELERY_TASK_ROUTES and
CELERY_TASK_ANNOTATIONS in governance/settings.py. Every task is idempotent (claims by
conditional UPDATE, shards written once), as late acknowledgement requires.

Errors: transient ones (database, broker) are retried with exponential backoff; any other
error ends the run with its reason, then propagates so Celery records the failure.

Sending: this module is the only one that sends tasks. Services return what should happen
next (a run's plan, a shard that was the last, the sweeper's findings); the functions at the
end send it after the transaction commits. A send that fails because the broker is down is
logged and left to the sweeper, which sends again what waited too long: the caller (an API
request creating a run) never fails for it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import Task, chord
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from apps.audit import services as audit
from apps.audit.services import audit_context
from apps.evaluations import services
from governance.celery import app

logger = logging.getLogger(__name__)

BROKER_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    ConnectionError,
)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, *BROKER_ERRORS)
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


@app.task(bind=True, name="worker.tasks.run_start", **RETRY)  # type: ignore[untyped-decorator]
def run_start(self: Task, run_id: int) -> bool:
    with _as_worker(self):
        try:
            plan = services.run_start(run_id=run_id)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            services.run_fail(run_id=run_id, reason=f"Starting the run failed: {_describe(exc)}")
            raise
        if plan is not None:
            send_run_plan(plan)
        return plan is not None


@app.task(bind=True, name="worker.tasks.shard_process", **RETRY)  # type: ignore[untyped-decorator]
def shard_process(self: Task, shard_id: int) -> str:
    with _as_worker(self):
        try:
            outcome = services.shard_process(shard_id=shard_id)
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
        if outcome.last and outcome.run_id is not None:
            send_run_finalize(outcome.run_id)
        return str(outcome)


@app.task(bind=True, name="worker.tasks.run_finalize", **RETRY)  # type: ignore[untyped-decorator]
def run_finalize(self: Task, run_id: int) -> str | None:
    """Finalise a run; database errors (a cancelled statement, a lock timeout) are retried."""
    with _as_worker(self):
        run = services.run_finalize(run_id=run_id)
        return None if run is None else f"{run.status} ({run.verdict})"


@app.task(bind=True, name="worker.tasks.runs_sweep", **RETRY)  # type: ignore[untyped-decorator]
def runs_sweep(self: Task) -> dict[str, int]:
    with _as_worker(self):
        result = services.runs_sweep(queue_depth=_queue_depth("gpu"))
        send_sweep(result)
        return result.counts()


@app.task(bind=True, name="worker.tasks.schedule_fire", **RETRY)  # type: ignore[untyped-decorator]
def schedule_fire(self: Task, schedule_id: int) -> int | None:
    with _as_worker(self):
        run = services.schedule_fire(schedule_id=schedule_id)
        if run is None:
            return None
        send_run_start(run.pk)
        return run.pk


@app.task(bind=True, name="worker.tasks.model_card_render", **RETRY)  # type: ignore[untyped-decorator]
def model_card_render(self: Task, card_id: str, generation: int) -> str | None:
    """Render a draft model card; a redelivered or outdated request does nothing."""
    from apps.reports.services import model_card_render as render

    with _as_worker(self):
        card = render(card_id=card_id, generation=generation)
        return None if card is None else card.status


@app.task(bind=True, name="worker.tasks.model_card_issue", **RETRY)  # type: ignore[untyped-decorator]
def model_card_issue(self: Task, card_id: str, generation: int) -> str | None:
    """Render, sign and freeze an issuing model card; a redelivered request does nothing."""
    from apps.reports.services import model_card_issue_finish as finish

    with _as_worker(self):
        card = finish(card_id=card_id, generation=generation)
        return None if card is None else card.status


@app.task(bind=True, name="worker.tasks.reasoning_study", **RETRY)  # type: ignore[untyped-decorator]
def reasoning_study(self: Task, run_id: int, user_id: int | None = None) -> str | None:
    """The reasoning-mode study of a succeeded run, issued as a signed report."""
    from apps.accounts.models import User
    from apps.reports.reasoning_runs import reasoning_report_for_run

    with _as_worker(self):
        user = User.objects.filter(pk=user_id).first() if user_id else None
        return str(reasoning_report_for_run(run_id=run_id, user=user).pk)


def _queue_depth(queue: str) -> int | None:
    """Messages waiting in a queue (None if the broker cannot say)."""
    try:
        with app.connection_for_write() as conn:
            return int(conn.default_channel.queue_declare(queue=queue, passive=True).message_count)
    except Exception:  # a queue never declared, a broker that cannot count: unknown
        logger.info("cannot count the messages waiting in queue %s", queue, exc_info=True)
        return None


# Sends give up after two quick tries: a request must not wait for a broker that is down,
# and whatever was not sent, the sweeper sends again.
SEND: dict[str, Any] = {
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
}


def _send_on_commit(what: str, send: Callable[[], object]) -> None:
    def guarded() -> None:
        try:
            send()
        except BROKER_ERRORS as exc:
            logger.warning("%s not sent (%s); the sweeper sends it again", what, _describe(exc))

    transaction.on_commit(guarded)


def send_run_start(run_id: int) -> None:
    """Send a queued run's start after commit (callers: the API, schedules, the demo)."""
    _send_on_commit(f"run {run_id}: start", lambda: run_start.apply_async((run_id,), **SEND))


def send_run_plan(plan: services.RunPlan) -> None:
    """Send a planned run's shards as a chord whose body finalises the run.

    The chord is the fast path only: the last shard to finish also sends the finalisation,
    and the sweeper finds runs whose chord can never finish (docs C2).
    """
    body = run_finalize.si(plan.run_id)
    header = [shard_process.si(shard_id) for shard_id in plan.shard_ids]
    _send_on_commit(f"run {plan.run_id}: {len(header)} shards", lambda: chord(header)(body))


def send_shard(shard_id: int) -> None:
    _send_on_commit(f"shard {shard_id}", lambda: shard_process.apply_async((shard_id,), **SEND))


def send_run_finalize(run_id: int) -> None:
    _send_on_commit(
        f"run {run_id}: finalisation", lambda: run_finalize.apply_async((run_id,), **SEND)
    )


def send_sweep(result: services.SweepResult) -> None:
    """Send what the sweeper found: shards again, finalisations, lost starts."""
    for shard_id in [*result.requeue, *result.redispatch]:
        send_shard(shard_id)
    for run_id in result.finalise:
        send_run_finalize(run_id)
    for run_id in result.restart:
        send_run_start(run_id)


def send_model_card_render(card_id: str, generation: int) -> None:
    """Send a draft model card's render after commit."""
    _send_on_commit(
        f"model card {card_id}: render",
        lambda: model_card_render.apply_async((card_id, generation), **SEND),
    )


def send_model_card_issue(card_id: str, generation: int) -> None:
    """Send an issuing model card's render, signing and freezing after commit."""
    _send_on_commit(
        f"model card {card_id}: issue",
        lambda: model_card_issue.apply_async((card_id, generation), **SEND),
    )


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


def send_audit_chain_verify(verification_id: int) -> None:
    """Send an organisation's audit-chain verification after commit."""
    _send_on_commit(
        f"audit verification {verification_id}",
        lambda: audit_chain_verify.apply_async((verification_id,), **SEND),
    )


def send_reasoning_study(run_id: int, user_id: int | None) -> None:
    """Send a run's reasoning-mode study after commit (gpu queue: it loads the model)."""
    _send_on_commit(
        f"run {run_id}: reasoning-mode study",
        lambda: reasoning_study.apply_async((run_id, user_id), **SEND),
    )
