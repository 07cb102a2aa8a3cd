"""Writes for shards: claim, score, write once; and the sweeper that rescues lost shards.

A shard is scored by whichever worker claims it. The claim is a conditional UPDATE against
the row as it was read, so two deliveries of one message cannot both hold it; the results
are written in the same transaction that marks the shard done, so a redelivered or
duplicated shard writes nothing twice and counts nothing twice.

A holder is presumed alive while its heartbeat (written with progress, at most every
CAREALIGN_PROGRESS_INTERVAL seconds) is younger than CAREALIGN_SHARD_HEARTBEAT_TIMEOUT. On
the holder's own machine a dead process is recognised at once, so a redelivery after
`kill -9` does not have to wait for the heartbeat to go stale.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from apps.evaluations.models import EvaluationRun, ItemResult, RunShard
from apps.evaluations.services import sharding
from apps.evaluations.services.runs import mark_failed, run_engine_config

logger = logging.getLogger(__name__)


class ShardStopped(Exception):
    """The shard must stop: its run was cancelled or failed, or another worker took it over."""

    def __init__(self, reason: str, *, cancelled: bool = False) -> None:
        super().__init__(reason)
        self.cancelled = cancelled


class ModelChangedError(Exception):
    """The model loaded for a run is not the one that was registered."""


@cache
def _machine() -> str:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "noboot"
    return f"{socket.gethostname()}/{boot}"


def worker_identity() -> str:
    """This process, as "host/boot:pid": a PID only means something on its own machine."""
    return f"{_machine()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").is_dir()
    return state not in ("Z", "X")  # a zombie has died; nobody reaped it yet


def _holder_gone(shard: RunShard, me: str, now: datetime) -> bool:
    if shard.worker == me or shard.heartbeat_at is None:
        return True
    if now - shard.heartbeat_at > timedelta(seconds=settings.CAREALIGN_SHARD_HEARTBEAT_TIMEOUT):
        return True
    machine, _, pid = shard.worker.rpartition(":")
    return machine == _machine() and pid.isdigit() and not _pid_alive(int(pid))


def shard_claim(*, shard_id: int, worker: str) -> RunShard | None:
    """Take a pending shard, or one whose holder is gone; None if it is not ours to run."""
    now = timezone.now()
    shard = RunShard.objects.select_related("run").get(pk=shard_id)
    run = shard.run
    if run.status != EvaluationRun.Status.RUNNING or run.cancel_requested:
        return None
    if shard.status == RunShard.Status.RUNNING and not _holder_gone(shard, worker, now):
        logger.info(
            "run %s shard %s: held by live worker %s (heartbeat %s); this delivery is skipped",
            run.pk,
            shard.index,
            shard.worker,
            shard.heartbeat_at,
        )
        return None
    if shard.status not in (RunShard.Status.PENDING, RunShard.Status.RUNNING):
        return None
    if shard.attempts >= settings.CAREALIGN_SHARD_MAX_ATTEMPTS:
        with transaction.atomic():
            mark_failed(run, _gave_up(shard))
        return None
    claimed = RunShard.objects.filter(
        pk=shard.pk, status=shard.status, worker=shard.worker, attempts=shard.attempts
    ).update(
        status=RunShard.Status.RUNNING,
        worker=worker,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        items_done=0,
        # A takeover is noted; a requeued shard keeps the note of why it was requeued.
        error=shard.error if shard.status == RunShard.Status.PENDING else _taken_over(shard),
    )
    if not claimed:
        return None
    if shard.status == RunShard.Status.RUNNING:
        logger.warning("run %s shard %s: %s", run.pk, shard.index, _taken_over(shard))
    shard.refresh_from_db()
    return shard


def _taken_over(shard: RunShard) -> str:
    return f"taken over from {shard.worker} (last heartbeat {shard.heartbeat_at})"


def _gave_up(shard: RunShard) -> str:
    return (
        f"Shard {shard.index} was started {shard.attempts} times without finishing "
        f"(last held by {shard.worker or 'no worker'}, last heartbeat {shard.heartbeat_at}); "
        f"giving up. {shard.error}".strip()
    )


class _Reporter:
    """The scorer's progress callback: heartbeat, live progress, cancellation, test delay."""

    def __init__(self, shard: RunShard, worker: str, units: int, delay: float) -> None:
        self.shard, self.worker, self.units, self.delay = shard, worker, max(units, 1), delay
        self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self.delay:
            time.sleep(self.delay)  # tests only: CAREALIGN_TEST_SHARD_DELAY seconds per batch
        now = time.monotonic()
        if now - self.last < settings.CAREALIGN_PROGRESS_INTERVAL:
            return
        self.last = now
        heartbeat(shard=self.shard, worker=self.worker, rows_done=self._rows(done))

    def _rows(self, units_done: int) -> int:
        return self.shard.items_total * min(units_done, self.units) // self.units


def heartbeat(*, shard: RunShard, worker: str, rows_done: int) -> None:
    """Say this holder is alive, publish progress; raise ShardStopped if it must stop."""
    alive = RunShard.objects.filter(
        pk=shard.pk, status=RunShard.Status.RUNNING, worker=worker
    ).update(heartbeat_at=timezone.now(), items_done=rows_done)
    if not alive:
        raise ShardStopped("another worker took this shard over, or it was reset")
    status, cancel = (
        EvaluationRun.objects.filter(pk=shard.run_id)
        .values_list("status", "cancel_requested")
        .get()
    )
    if cancel or status != EvaluationRun.Status.RUNNING:
        raise ShardStopped(f"the run is {status}", cancelled=True)
    refresh_progress(run_id=shard.run_id)


def refresh_progress(*, run_id: int) -> None:
    """Run progress = the items its shards have done, as a count and a percentage."""
    done = RunShard.objects.filter(run_id=run_id).aggregate(total=Sum("items_done"))["total"] or 0
    run = EvaluationRun.objects.filter(pk=run_id).values_list("items_total", "status").get()
    total, status = run
    if status != EvaluationRun.Status.RUNNING or not total:
        return
    EvaluationRun.objects.filter(pk=run_id, status=EvaluationRun.Status.RUNNING).update(
        items_done=min(done, total), progress=round(100.0 * min(done, total) / total, 2)
    )
    logger.info("run %s: %s/%s items (%.0f%%)", run_id, done, total, 100.0 * done / total)


def shard_process(*, shard_id: int, worker: str | None = None, delay_per_batch: float = 0.0) -> str:
    """Score one shard and store its results once; return what happened, for the task's log."""
    from worker.engine.loading import ModelSpec, load_model

    worker = worker or worker_identity()
    shard = RunShard.objects.select_related("run__model_version").filter(pk=shard_id).first()
    if shard is None:
        return "skipped: no such shard"
    run = shard.run
    if shard.status == RunShard.Status.DONE or run.status != EvaluationRun.Status.RUNNING:
        return "skipped: already done or run not running"
    version = run.model_version
    # Loaded once per worker process (the engine caches it), in the process that scores.
    loaded = load_model(ModelSpec(version.source, revision=version.revision or None))
    if version.weights_digest and loaded.weights_digest not in (None, version.weights_digest):
        raise ModelChangedError(
            f"the model files of {version} changed since it was registered (weights digest "
            f"{loaded.weights_digest[:12]}… instead of {version.weights_digest[:12]}…)"
        )
    claimed = shard_claim(shard_id=shard_id, worker=worker)
    if claimed is None:
        return "skipped: not claimable"
    try:
        records, manifest = _score(claimed, worker, loaded, delay_per_batch)
    except ShardStopped as exc:
        _release(claimed, worker, RunShard.Status.CANCELLED if exc.cancelled else None, str(exc))
        return f"stopped: {exc}"
    except BaseException as exc:
        # The task retries or fails the run; either way the shard must not look held.
        _release(claimed, worker, RunShard.Status.PENDING, f"{type(exc).__name__}: {exc}")
        raise
    return (
        "done"
        if shard_complete(shard=claimed, worker=worker, records=records, manifest=manifest)
        else "duplicate"
    )


def _score(
    shard: RunShard, worker: str, loaded: Any, delay: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from worker.engine.manifest import RunClock, build_manifest

    run = shard.run
    config = run_engine_config(run)
    batch = settings.CAREALIGN_SCORING_BATCH_SIZE
    batch_size: int | str = int(batch) if batch.isdigit() else "auto"
    clock = RunClock()
    records, counters = sharding.score_units(
        loaded,
        shard.units,
        seed=run.seed,
        batch_size=batch_size,
        progress=_Reporter(shard, worker, len(shard.units), delay),
    )
    clock.stop()
    manifest = build_manifest(
        loaded=loaded,
        clock=clock,
        checks=run.suite.checks,
        check_config=config,
        seed=run.seed,
        batch_size=batch_size,
    )
    manifest["scoring"] = counters
    return records, manifest


def _release(shard: RunShard, worker: str, status: str | None, reason: str) -> None:
    fields: dict[str, Any] = {"error": reason[:2000], "heartbeat_at": None}
    if status is not None:
        fields["status"] = status
    RunShard.objects.filter(pk=shard.pk, status=RunShard.Status.RUNNING, worker=worker).update(
        **fields
    )


@transaction.atomic
def shard_complete(
    *, shard: RunShard, worker: str, records: list[dict[str, Any]], manifest: dict[str, Any]
) -> bool:
    """Write a shard's results and mark it done, once; enqueue finalisation after the last one.

    The run row is locked first: completions of one run are serialised, so exactly one of
    them sees that no shard is left.
    """
    from worker.tasks import run_finalize as run_finalize_task

    run = EvaluationRun.objects.select_for_update().get(pk=shard.run_id)
    current = RunShard.objects.select_for_update().get(pk=shard.pk)
    if current.status == RunShard.Status.DONE:
        logger.info("run %s shard %s: already written by %s", run.pk, shard.index, current.worker)
        return False
    if run.status != EvaluationRun.Status.RUNNING:
        current.status = RunShard.Status.CANCELLED
        current.save(update_fields=["status"])
        return False
    ItemResult.objects.bulk_create(
        ItemResult(
            run_id=run.pk,
            shard_index=shard.index,
            check_name=record["check"],
            item_id=record["item_id"],
            language=record["language"],
            task=record["task"],
            group=sharding.record_group(record)[:100],
            correct=bool(record["correct"]),
            chosen=(record["chosen"] or "")[:8],
            gold=record["gold"],
            record=sharding.json_safe(record),
        )
        for record in records
    )
    now = timezone.now()
    current.status = RunShard.Status.DONE
    current.worker = worker
    current.items_done = current.items_total
    current.finished_at = now
    current.heartbeat_at = now
    current.manifest = sharding.json_safe(manifest)
    current.save(
        update_fields=["status", "worker", "items_done", "finished_at", "heartbeat_at", "manifest"]
    )
    refresh_progress(run_id=run.pk)
    if not RunShard.objects.filter(run_id=run.pk).exclude(status=RunShard.Status.DONE).exists():
        run_finalize_task.delay_on_commit(run.pk)
    return True


@transaction.atomic
def shard_fail(*, shard_id: int, reason: str) -> None:
    """A shard hit an error that retrying will not fix: the run fails with the reason."""
    shard = RunShard.objects.select_related("run").get(pk=shard_id)
    RunShard.objects.filter(pk=shard_id).exclude(status=RunShard.Status.DONE).update(
        status=RunShard.Status.FAILED, error=reason[:2000]
    )
    mark_failed(shard.run, f"Shard {shard.index} failed: {reason}")


def runs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Rescue runs whose chord cannot finish: requeue lost shards, finalise, or fail the run.

    - a running shard whose heartbeat is stale lost its worker: it is requeued, or the run
      fails once the shard has used up its attempts;
    - a pending shard dispatched long ago (its message lost) is dispatched again;
    - a run whose shards are all done but which is still running is finalised;
    - a queued run whose start message was lost is started again.
    Duplicated messages are harmless: every step checks the state it expects.
    """
    from worker.tasks import run_finalize as run_finalize_task
    from worker.tasks import run_start as run_start_task
    from worker.tasks import shard_process as shard_process_task

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CAREALIGN_SHARD_HEARTBEAT_TIMEOUT)
    lost_message = now - timedelta(seconds=settings.CAREALIGN_SHARD_REDISPATCH_AFTER)
    counts = {"requeued": 0, "redispatched": 0, "failed": 0, "finalised": 0, "restarted": 0}
    running = EvaluationRun.Status.RUNNING

    for shard in RunShard.objects.filter(
        run__status=running, status=RunShard.Status.RUNNING
    ).filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)):
        with transaction.atomic():
            if shard.attempts >= settings.CAREALIGN_SHARD_MAX_ATTEMPTS:
                mark_failed(shard.run, _gave_up(shard))
                counts["failed"] += 1
                continue
            requeued = RunShard.objects.filter(
                pk=shard.pk, status=RunShard.Status.RUNNING, heartbeat_at=shard.heartbeat_at
            ).update(
                status=RunShard.Status.PENDING,
                dispatched_at=now,
                error=f"requeued by the sweeper: {shard.worker} silent since {shard.heartbeat_at}",
            )
            if requeued:
                shard_process_task.delay_on_commit(shard.pk)
                counts["requeued"] += 1

    for shard in RunShard.objects.filter(
        run__status=running, status=RunShard.Status.PENDING, dispatched_at__lt=lost_message
    ):
        with transaction.atomic():
            if RunShard.objects.filter(pk=shard.pk, dispatched_at=shard.dispatched_at).update(
                dispatched_at=now
            ):
                shard_process_task.delay_on_commit(shard.pk)
                counts["redispatched"] += 1

    # A finalisation never outlives the default queue's hard limit: after it, sending another
    # cannot duplicate one that is still computing.
    settled = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    for run_id in (
        EvaluationRun.objects.filter(status=running, shards_total__gt=0, dispatched_at__lt=settled)
        .exclude(shards__status__in=[s for s in RunShard.Status.values if s != "done"])
        .exclude(shards__finished_at__gt=settled)
        .values_list("pk", flat=True)
    ):
        if EvaluationRun.objects.filter(pk=run_id, dispatched_at__lt=settled).update(
            dispatched_at=now
        ):
            run_finalize_task.delay(run_id)
            counts["finalised"] += 1

    for run_id in EvaluationRun.objects.filter(
        status=EvaluationRun.Status.QUEUED, cancel_requested=False, dispatched_at__lt=lost_message
    ).values_list("pk", flat=True):
        if EvaluationRun.objects.filter(pk=run_id, dispatched_at__lt=lost_message).update(
            dispatched_at=now
        ):
            run_start_task.delay(run_id)
            counts["restarted"] += 1
    if any(counts.values()):
        logger.warning("runs sweep: %s", counts)
    return counts
