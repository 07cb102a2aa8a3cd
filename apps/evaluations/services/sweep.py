"""The sweeper: find runs that cannot go on by themselves and say what to send again.

It runs every minute in every mode (beat; `make demo` starts one inside its worker). It
changes rows itself (requeue a shard, fail a run, mark a run stalled) and returns the
messages to send (`SweepResult`), which the task layer sends after commit. Re-sending is
harmless by design: every step checks the state it expects, a shard is claimed once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.evaluations.models import EvaluationRun, RunShard
from apps.evaluations.services.runs import mark_failed
from apps.evaluations.services.shards import gave_up, holder_connected, holder_process_gone
from apps.evaluations.services.steps import SweepResult

logger = logging.getLogger(__name__)

RUNNING = EvaluationRun.Status.RUNNING


def runs_sweep(*, now: datetime | None = None, queue_depth: int | None = None) -> SweepResult:
    """Rescue runs whose messages or workers were lost; mark runs that make no progress.

    - a running shard whose holder is gone (its database connection closed; where holds are
      not used, its heartbeat stale or its process dead on this machine) is requeued, or its
      run fails once the shard has used up its attempts;
    - a pending shard, or a queued run, sent more than CAREALIGN_SHARD_REDISPATCH_AFTER ago
      is sent again when the gpu queue is empty (`queue_depth` 0, or unknown): its message
      was lost (a broker restart). Past the visibility timeout it is sent again regardless;
    - a run whose shards are all stored but which is still running is finalised again;
    - a queued or running run with no progress for CAREALIGN_RUN_STALLED_AFTER is marked
      stalled, with the reason (progress clears it).
    """
    now = now or timezone.now()
    result = SweepResult()
    _requeue_lost_holders(now, result)
    lost = now - timedelta(seconds=settings.CAREALIGN_SHARD_REDISPATCH_AFTER)
    if queue_depth:  # messages still wait in the queue: only the long-lost are sent again
        lost = now - timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT)
    _redispatch(now, lost, result)
    _finalise(now, result)
    _mark_stalled(now, result)
    if any(result.counts().values()):
        logger.warning("runs sweep: %s", result.counts())
    return result


def _holder_gone(shard: RunShard, stale: datetime) -> bool:
    connected = holder_connected(shard_id=shard.pk)
    if connected is not None:
        return not connected
    # Without holds (SQLite): a stale heartbeat, or a holder process dead on this machine
    # (the embedded default runs its worker on the sweeper's machine).
    stale_heartbeat = shard.heartbeat_at is None or shard.heartbeat_at < stale
    return stale_heartbeat or holder_process_gone(shard)


def _requeue_lost_holders(now: datetime, result: SweepResult) -> None:
    stale = now - timedelta(seconds=settings.CAREALIGN_SHARD_HEARTBEAT_TIMEOUT)
    for shard in RunShard.objects.filter(run__status=RUNNING, status=RunShard.Status.RUNNING):
        if not _holder_gone(shard, stale):
            continue
        with transaction.atomic():
            if shard.attempts >= settings.CAREALIGN_SHARD_MAX_ATTEMPTS:
                mark_failed(shard.run, gave_up(shard))
                result.failed += 1
                continue
            requeued = RunShard.objects.filter(
                pk=shard.pk,
                status=RunShard.Status.RUNNING,
                worker=shard.worker,
                heartbeat_at=shard.heartbeat_at,
            ).update(
                status=RunShard.Status.PENDING,
                dispatched_at=now,
                error=f"requeued by the sweeper: {shard.worker} gone "
                f"(last heartbeat {shard.heartbeat_at})",
            )
            if requeued:
                result.requeue.append(shard.pk)


def _redispatch(now: datetime, lost: datetime, result: SweepResult) -> None:
    for shard in RunShard.objects.filter(
        run__status=RUNNING, status=RunShard.Status.PENDING, dispatched_at__lt=lost
    ):
        if RunShard.objects.filter(
            pk=shard.pk, status=RunShard.Status.PENDING, dispatched_at=shard.dispatched_at
        ).update(dispatched_at=now):
            result.redispatch.append(shard.pk)
    for run_id in EvaluationRun.objects.filter(
        status=EvaluationRun.Status.QUEUED, cancel_requested=False, dispatched_at__lt=lost
    ).values_list("pk", flat=True):
        if EvaluationRun.objects.filter(
            pk=run_id, status=EvaluationRun.Status.QUEUED, dispatched_at__lt=lost
        ).update(dispatched_at=now):
            result.restart.append(run_id)


def _finalise(now: datetime, result: SweepResult) -> None:
    # The last shard sends the finalisation (and the chord's body does); this re-sends it when
    # both were lost (none started), or when one started longer ago than a task can live:
    # a run whose items are all stored can always be finalised again.
    waited = now - timedelta(seconds=settings.CAREALIGN_SHARD_REDISPATCH_AFTER)
    outlived = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    not_done = [status for status in RunShard.Status.values if status != RunShard.Status.DONE]
    candidates = (
        EvaluationRun.objects.filter(status=RUNNING, shards_total__gt=0)
        .exclude(shards__status__in=not_done)
        .annotate(last_stored=Max("shards__finished_at"))
        .filter(last_stored__lt=waited)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=waited))
        .filter(Q(finalize_started_at__isnull=True) | Q(finalize_started_at__lt=outlived))
    )
    for run_id in candidates.values_list("pk", flat=True):
        if (
            EvaluationRun.objects.filter(pk=run_id, status=RUNNING)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=waited))
            .update(dispatched_at=now)
        ):
            result.finalise.append(run_id)


def _mark_stalled(now: datetime, result: SweepResult) -> None:
    since = now - timedelta(seconds=settings.CAREALIGN_RUN_STALLED_AFTER)
    # No shard stored for a while, and no worker scoring one (a fresh heartbeat).
    quiet = (
        EvaluationRun.objects.filter(stalled_reason="")
        .filter(
            Q(status=RUNNING, progress_at__lt=since)
            | Q(status=RUNNING, progress_at__isnull=True, started_at__lt=since)
            | Q(status=EvaluationRun.Status.QUEUED, cancel_requested=False, created_at__lt=since)
        )
        .exclude(shards__status=RunShard.Status.RUNNING, shards__heartbeat_at__gte=since)
    )
    for run in quiet:
        reason = _stall_reason(run, now)
        if EvaluationRun.objects.filter(pk=run.pk, status=run.status, stalled_reason="").update(
            stalled_reason=reason
        ):
            result.stalled += 1
            logger.warning("run %s stalled: %s", run.pk, reason)


def _stall_reason(run: EvaluationRun, now: datetime) -> str:
    last = run.progress_at or run.started_at or run.created_at
    minutes = max(int((now - last).total_seconds() // 60), 1)
    if run.status == EvaluationRun.Status.QUEUED:
        return (
            f"no gpu worker has started it in {minutes} min; its start is sent again when "
            "the gpu queue is empty (is a worker on the gpu queue running?)"
        )
    shards = run.shards.all()
    pending = sum(1 for shard in shards if shard.status == RunShard.Status.PENDING)
    done = sum(1 for shard in shards if shard.status == RunShard.Status.DONE)
    if pending:
        return (
            f"no progress for {minutes} min: {pending} shard(s) wait for a gpu worker "
            f"({done} of {len(shards)} stored); their messages are sent again when the "
            "queue is empty (is a worker on the gpu queue running?)"
        )
    if done == len(shards):
        return (
            f"every shard is stored but the run has not been finalised for {minutes} min; "
            "its finalisation is sent again (is a worker on the default queue running?)"
        )
    return f"no progress for {minutes} min: no worker reported on its running shards"
