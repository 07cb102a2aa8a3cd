"""Writes for shards: hold, claim, score, write once (the sweeper is in sweep.py).

A shard is scored by whichever worker claims it. The claim is a conditional UPDATE against
the row as it was read, so two deliveries of one message cannot both hold it; the results
are written in the same transaction that marks the shard done, so a redelivered or
duplicated shard writes nothing twice and counts nothing twice.

Who holds a shard: on PostgreSQL the holder takes a session advisory lock on the shard
before it claims it and keeps it until the results are written, so the hold is released, or
expires with the holder's database connection (a killed worker, a terminated connection):
another delivery, or the sweeper, takes the shard over at once. Elsewhere (SQLite) a holder
is presumed alive while its heartbeat (written with progress, at most every
CAREALIGN_PROGRESS_INTERVAL seconds) is younger than CAREALIGN_SHARD_HEARTBEAT_TIMEOUT; on
the holder's own machine a dead process is recognised at once.

Run progress counts stored work only (the items of shards whose results are written), so it
never goes down and never counts work that a takeover or a cancellation discards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.evaluations.models import EvaluationRun, ItemResult, RunShard
from apps.evaluations.services.runs import mark_failed, run_engine_config
from apps.evaluations.services.steps import ShardOutcome
from worker.engine import sharding

logger = logging.getLogger(__name__)


class ShardStopped(Exception):
    """The shard must stop: its run was cancelled or failed, or another worker took it over."""

    def __init__(self, reason: str, *, cancelled: bool = False) -> None:
        super().__init__(reason)
        self.cancelled = cancelled


class ModelChangedError(Exception):
    """The model loaded for a run is not the one that was registered."""


class ModelUnavailableError(Exception):
    """The worker cannot load the run's model (a readable reason for the run's error)."""


# Advisory locks of shard holds: (this namespace, shard id) in PostgreSQL's two-key space,
# which never meets the one-key space of the audit chains' locks.
HOLD_NAMESPACE = 0x52554E53  # "RUNS"


def _holds() -> bool:
    return connection.vendor == "postgresql"


def _hold_key(shard_id: int) -> list[int]:
    return [HOLD_NAMESPACE, shard_id % 2**31]


def hold_take(*, shard_id: int) -> bool:
    """Take the shard's hold on this database connection; False if a live one holds it."""
    if not _holds():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", _hold_key(shard_id))
        return bool(cursor.fetchone()[0])


def hold_release(*, shard_id: int) -> None:
    """Release the hold (a broken connection has released it already)."""
    if _holds():
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", _hold_key(shard_id))


_HELD = """SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
    AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 2 AND granted {})"""


def hold_kept(*, shard_id: int) -> bool:
    """Whether this connection still holds the shard (it is lost with a replaced connection)."""
    if not _holds():
        return True
    with connection.cursor() as cursor:
        cursor.execute(_HELD.format("AND pid = pg_backend_pid()"), _hold_key(shard_id))
        return bool(cursor.fetchone()[0])


def holder_connected(*, shard_id: int) -> bool | None:
    """Whether any database connection holds the shard; None where holds are not used."""
    if not _holds():
        return None
    with connection.cursor() as cursor:
        cursor.execute(_HELD.format(""), _hold_key(shard_id))
        return bool(cursor.fetchone()[0])


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
    """Whether the shard's holder is gone; the caller holds the shard's hold (if used)."""
    if _holds() or shard.worker == me or shard.heartbeat_at is None:
        return True  # on PostgreSQL, a live holder's connection would hold it, not us
    if now - shard.heartbeat_at > timedelta(seconds=settings.CAREALIGN_SHARD_HEARTBEAT_TIMEOUT):
        return True
    return holder_process_gone(shard)


def holder_process_gone(shard: RunShard) -> bool:
    """Whether the holder's process is known dead: only on its own machine can we tell."""
    machine, _, pid = shard.worker.rpartition(":")
    return machine == _machine() and pid.isdigit() and not _pid_alive(int(pid))


def shard_claim(*, shard_id: int, worker: str) -> RunShard | None:
    """Take a pending shard, or one whose holder is gone; None if it is not ours to run.

    The caller holds the shard's hold (`hold_take`) on PostgreSQL.
    """
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
            mark_failed(run, gave_up(shard))
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


def gave_up(shard: RunShard) -> str:
    return (
        f"Shard {shard.index} was started {shard.attempts} times without finishing "
        f"(last held by {shard.worker or 'no worker'}, last heartbeat {shard.heartbeat_at}); "
        f"giving up. {shard.error}".strip()
    )


class _Reporter:
    """The scorer's progress callback: heartbeat, live progress, cancellation."""

    def __init__(self, shard: RunShard, worker: str, units: int) -> None:
        self.shard, self.worker, self.units = shard, worker, max(units, 1)
        self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < settings.CAREALIGN_PROGRESS_INTERVAL:
            return
        self.last = now
        heartbeat(shard=self.shard, worker=self.worker, rows_done=self._rows(done))

    def _rows(self, units_done: int) -> int:
        return self.shard.items_total * min(units_done, self.units) // self.units


def heartbeat(*, shard: RunShard, worker: str, rows_done: int) -> None:
    """Say this holder is alive and how far it is; raise ShardStopped if it must stop."""
    now = timezone.now()
    alive = RunShard.objects.filter(
        pk=shard.pk, status=RunShard.Status.RUNNING, worker=worker
    ).update(heartbeat_at=now, items_done=rows_done)
    if not alive:
        raise ShardStopped("another worker took this shard over, or it was reset")
    if not hold_kept(shard_id=shard.pk):
        raise ShardStopped("its hold was lost with its database connection")
    status, cancel = (
        EvaluationRun.objects.filter(pk=shard.run_id)
        .values_list("status", "cancel_requested")
        .get()
    )
    if cancel or status != EvaluationRun.Status.RUNNING:
        raise ShardStopped(f"the run is {status}", cancelled=True)
    # A live worker scoring is progress, even before its results are stored.
    EvaluationRun.objects.filter(pk=shard.run_id, status=EvaluationRun.Status.RUNNING).exclude(
        stalled_reason=""
    ).update(stalled_reason="")


def refresh_progress(*, run_id: int) -> None:
    """Run progress = the items of its stored shards: it never goes down."""
    done = (
        RunShard.objects.filter(run_id=run_id, status=RunShard.Status.DONE).aggregate(
            total=Sum("items_total")
        )["total"]
        or 0
    )
    total, status = (
        EvaluationRun.objects.filter(pk=run_id).values_list("items_total", "status").get()
    )
    if status != EvaluationRun.Status.RUNNING or not total:
        return
    done = min(done, total)
    EvaluationRun.objects.filter(
        pk=run_id, status=EvaluationRun.Status.RUNNING, items_done__lt=done
    ).update(
        items_done=done,
        progress=round(100.0 * done / total, 2),
        progress_at=timezone.now(),
        stalled_reason="",
    )
    logger.info("run %s: %s/%s items stored (%.0f%%)", run_id, done, total, 100.0 * done / total)


def _load(version: Any) -> Any:
    """The run's model, loaded once per worker process; a readable error if it cannot be."""
    from worker.engine.loading import ModelLoadError, ModelSpec, load_model

    hub = version.source_kind == "hub"
    source = version.hub_id if hub else version.local_path
    try:
        return load_model(ModelSpec(source, revision=version.revision or None))
    except ModelLoadError as exc:
        if hub:
            raise ModelUnavailableError(
                f"hub model {version.hub_id} at revision {version.revision} could not be "
                f"loaded on this worker: is it in the worker's Hugging Face cache (HF_HOME; "
                f"HF_HUB_OFFLINE is {os.environ.get('HF_HUB_OFFLINE') or 'unset'})? {exc}"
            ) from exc
        raise ModelUnavailableError(
            f"local model {version.local_path} could not be loaded on this worker: {exc}"
        ) from exc


def shard_process(*, shard_id: int, worker: str | None = None) -> ShardOutcome:
    """Score one shard and store its results once; say what happened and if it was the last."""
    worker = worker or worker_identity()
    shard = RunShard.objects.select_related("run__model_version").filter(pk=shard_id).first()
    if shard is None:
        return ShardOutcome("skipped: no such shard")
    run = shard.run
    if shard.status == RunShard.Status.DONE or run.status != EvaluationRun.Status.RUNNING:
        return ShardOutcome("skipped: already done or run not running", run.pk)
    version = run.model_version
    # Loaded once per worker process (the engine caches it), in the process that scores.
    loaded = _load(version)
    if version.weights_digest and loaded.weights_digest not in (None, version.weights_digest):
        raise ModelChangedError(
            f"the model files of {version} changed since it was registered (weights digest "
            f"{loaded.weights_digest[:12]}… instead of {version.weights_digest[:12]}…)"
        )
    if not hold_take(shard_id=shard_id):
        logger.info(
            "run %s shard %s: held by live worker %s (its connection holds it); "
            "this delivery is skipped",
            run.pk,
            shard.index,
            shard.worker,
        )
        return ShardOutcome("skipped: held by a live worker", run.pk)
    try:
        return _process_held(shard_id, worker, loaded)
    finally:
        hold_release(shard_id=shard_id)


def _process_held(shard_id: int, worker: str, loaded: Any) -> ShardOutcome:
    claimed = shard_claim(shard_id=shard_id, worker=worker)
    if claimed is None:
        return ShardOutcome("skipped: not claimable")
    run_id = claimed.run_id
    try:
        records, manifest = _score(claimed, worker, loaded)
    except ShardStopped as exc:
        _release(claimed, worker, RunShard.Status.CANCELLED if exc.cancelled else None, str(exc))
        return ShardOutcome(f"stopped: {exc}", run_id)
    except BaseException as exc:
        # The task retries or fails the run; either way the shard must not look held.
        _release(claimed, worker, RunShard.Status.PENDING, f"{type(exc).__name__}: {exc}")
        raise
    stored, last = shard_complete(shard=claimed, worker=worker, records=records, manifest=manifest)
    return ShardOutcome("done" if stored else "duplicate", run_id, last=last)


def _score(
    shard: RunShard, worker: str, loaded: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from worker.engine.manifest import RunClock, build_manifest
    from worker.engine.scoring import BatchSize

    run = shard.run
    config = run_engine_config(run)
    batch = settings.CAREALIGN_SCORING_BATCH_SIZE
    batch_size: BatchSize = int(batch) if batch.isdigit() else "auto"
    clock = RunClock()
    records, counters = sharding.score_shard(
        loaded,
        shard.units,
        seed=run.seed,
        batch_size=batch_size,
        progress=_Reporter(shard, worker, len(shard.units)),
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
    try:
        RunShard.objects.filter(pk=shard.pk, status=RunShard.Status.RUNNING, worker=worker).update(
            **fields
        )
    except DatabaseError:
        # The connection is gone (and the hold with it on PostgreSQL): the next delivery or
        # the sweeper takes the shard over.
        logger.warning("run %s shard %s: could not release it", shard.run_id, shard.index)
        connection.close()


@transaction.atomic
def shard_complete(
    *, shard: RunShard, worker: str, records: list[dict[str, Any]], manifest: dict[str, Any]
) -> tuple[bool, bool]:
    """Write a shard's results and mark it done, once; return (stored, it was the last).

    The run row is locked first: completions of one run are serialised, so exactly one of
    them sees that no shard is left.
    """
    run = EvaluationRun.objects.select_for_update().get(pk=shard.run_id)
    current = RunShard.objects.select_for_update().get(pk=shard.pk)
    if current.status == RunShard.Status.DONE:
        logger.info("run %s shard %s: already written by %s", run.pk, shard.index, current.worker)
        return False, False
    if run.status != EvaluationRun.Status.RUNNING:
        current.status = RunShard.Status.CANCELLED
        current.save(update_fields=["status"])
        return False, False
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
    last = not RunShard.objects.filter(run_id=run.pk).exclude(status=RunShard.Status.DONE).exists()
    return True, last


@transaction.atomic
def shard_fail(*, shard_id: int, reason: str) -> None:
    """A shard hit an error that retrying will not fix: the run fails with the reason."""
    shard = RunShard.objects.select_related("run").get(pk=shard_id)
    RunShard.objects.filter(pk=shard_id).exclude(status=RunShard.Status.DONE).update(
        status=RunShard.Status.FAILED, error=reason[:2000]
    )
    mark_failed(shard.run, f"Shard {shard.index} failed: {reason}")
