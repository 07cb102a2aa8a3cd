"""Writes for evaluation runs: create, claim and plan, cancel, fail, finalise.

A run's life: `run_create` (queued; the caller has the task layer send its start after
commit) -> `run_start` (a worker claims it with a conditional UPDATE, plans the work units
with the engine and stores the shards; it returns the plan, which the task layer sends as a
chord) -> shards (services/shards.py) -> `run_finalize` (metrics, verdicts, manifest,
drift). Every step may run twice (redelivery, sweeper, chord body and last shard both
finalising): each checks the state it expects and does nothing otherwise.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.common import filestore
from apps.evaluations.models import (
    CheckResult,
    EvaluationRun,
    EvaluationSuite,
    ItemResult,
    RunShard,
    Schedule,
)
from apps.evaluations.services.steps import RunPlan
from apps.registry.models import DatasetVersion, ModelVersion
from worker.engine import sharding
from worker.engine.checks.base import effective_parameters

logger = logging.getLogger(__name__)

ACTIVE = (EvaluationRun.Status.QUEUED, EvaluationRun.Status.RUNNING)


def audit_run_change(run: EvaluationRun, changes: dict[str, list[Any]]) -> None:
    """Record a change made by a conditional UPDATE (which sends no save signal)."""
    audit_record(
        action=AuditAction.UPDATE, organization=run.organization_id, obj=run, changes=changes
    )


@transaction.atomic
def run_create(
    *,
    suite: EvaluationSuite,
    model_version: ModelVersion,
    trigger: str = EvaluationRun.Trigger.API,
    started_by: User | None = None,
    started_by_token: ApiToken | None = None,
    schedule: Schedule | None = None,
    due_key: str | None = None,
    seed: int | None = None,
    shard_size: int | None = None,
) -> EvaluationRun:
    """Queue a run of `suite` on `model_version`; the caller has its start sent after commit."""
    if model_version.model.organization_id != suite.organization_id:
        raise ValidationError(
            {
                "model_version": [
                    "The model version and the suite belong to different organisations."
                ]
            }
        )
    if shard_size is not None and shard_size < 1:
        raise ValidationError({"shard_size": ["Must be at least 1."]})
    return EvaluationRun.objects.create(
        organization_id=suite.organization_id,
        model_version=model_version,
        suite=suite,
        trigger=trigger,
        started_by=started_by,
        started_by_token=started_by_token,
        schedule=schedule,
        due_key=due_key,
        seed=int(suite.parameters.get("seed", 0)) if seed is None else seed,
        shard_size=shard_size or settings.CAREALIGN_SHARD_SIZE,
        dispatched_at=timezone.now(),
    )


@transaction.atomic
def run_rerun(
    *,
    run: EvaluationRun,
    started_by: User | None = None,
    started_by_token: ApiToken | None = None,
) -> EvaluationRun:
    """Queue the same suite version, model version, seed and shard size again, linked."""
    if run.status != EvaluationRun.Status.SUCCEEDED:
        raise ValidationError(
            {"run": [f"Only a succeeded run can be rerun; run {run.pk} is {run.status}."]}
        )
    again = run_create(
        suite=run.suite,
        model_version=run.model_version,
        trigger=EvaluationRun.Trigger.API,
        started_by=started_by,
        started_by_token=started_by_token,
        seed=run.seed,
        shard_size=run.shard_size,
    )
    again.rerun_of = run
    again.save(update_fields=["rerun_of"])
    return again


def _reproduction(run: EvaluationRun, stored: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether a rerun gave bit-identical metrics, verdicts and per-item records."""
    from worker.engine.rerun import MAX_DIFFERENCES, differences

    original = run.rerun_of
    assert original is not None
    old = {
        r.check_name: {"verdict": r.verdict, "metrics": r.metrics, "verdicts": r.verdicts}
        for r in CheckResult.objects.filter(run=original)
    }
    new = {
        r["check"]: {"verdict": r["verdict"], "metrics": r["metrics"], "verdicts": r["verdicts"]}
        for r in stored
    }
    found = differences(old, new, "checks")

    def records(of: EvaluationRun) -> dict[str, Any]:
        rows = ItemResult.objects.filter(run=of).values_list(
            "check_name", "item_id", "language", "record"
        )
        return {f"{c}/{i}/{lang}": _without_position(r) for c, i, lang, r in rows}

    found += differences(records(original), records(run), "items")
    for key in ("weights_digest",):
        was = (original.manifest.get("model") or {}).get(key)
        now = (run.manifest.get("model") or {}).get(key)
        if was != now:
            found.insert(0, f"model.{key}: {was!r} != {now!r}")
    return {
        "run": original.pk,
        "reproduced": not found,
        "differences": found[:MAX_DIFFERENCES],
        "n_differences": len(found),
    }


def _without_position(record: dict[str, Any]) -> dict[str, Any]:
    # Where a row sat in its shard is bookkeeping, not a result.
    return {k: v for k, v in record.items() if k != "position"}


def run_start(*, run_id: int) -> RunPlan | None:
    """Claim a queued run and plan its shards; None if it was not ours to start (or failed)."""
    with transaction.atomic():
        now = timezone.now()
        claimed = EvaluationRun.objects.filter(
            pk=run_id, status=EvaluationRun.Status.QUEUED, cancel_requested=False
        ).update(status=EvaluationRun.Status.RUNNING, started_at=now)
        if not claimed:
            logger.info("run %s: not queued any more, not started again", run_id)
            return None
        run = EvaluationRun.objects.select_related("suite", "model_version").get(pk=run_id)
        audit_run_change(run, {"status": ["queued", "running"], "started_at": [None, now]})
        try:
            units, rows_per_check = _plan(run)
        except sharding.PlanError as exc:
            mark_failed(run, f"Planning failed: {exc}")
            return None
        chunks = sharding.split(units, run.shard_size)
        shards = RunShard.objects.bulk_create(
            RunShard(
                run=run,
                index=index,
                units=chunk,
                items_total=sum(len(unit["rows"]) for unit in chunk),
                dispatched_at=now,
            )
            for index, chunk in enumerate(chunks)
        )
        run.items_total = sum(rows_per_check.values())
        run.shards_total = len(shards)
        run.manifest = {
            "plan": {
                "rows_per_check": rows_per_check,
                "units": len(units),
                "units_sha256": sharding.units_digest(units),
            }
        }
        run.progress_at = now
        run.save(update_fields=["items_total", "shards_total", "manifest", "progress_at"])
        shard_ids = tuple(shard.pk for shard in shards)
        logger.info("run %s: %s items in %s shards", run_id, run.items_total, len(shard_ids))
    return RunPlan(run_id=run_id, shard_ids=shard_ids)


def _plan(run: EvaluationRun) -> tuple[list[dict[str, Any]], dict[str, int]]:
    from worker.engine.readers import DatasetFormatError, read_items

    suite = run.suite
    config = run_engine_config(run)
    items: dict[str, list[Any]] = defaultdict(list)
    for version in suite.datasets.order_by("pk"):
        targets = suite.dataset_checks.get(str(version.pk)) or suite.checks
        try:
            with filestore.local_copy(str(version.file.name)) as path:
                read = list(read_items(path, fmt=version.format))
        except (DatasetFormatError, OSError) as exc:
            raise sharding.PlanError(f"dataset version {version.pk}: {exc}") from exc
        for check in targets:
            if check in suite.checks:
                items[check].extend(read)
    units, rows_per_check = sharding.plan_units(
        checks=suite.checks, config=config, items_by_check=items
    )
    if not units:
        raise sharding.PlanError("the suite's datasets hold no items for its checks")
    return units, rows_per_check


def run_engine_config(run: EvaluationRun) -> dict[str, Any]:
    return sharding.engine_config(
        parameters=run.suite.parameters, thresholds=run.suite.thresholds, seed=run.seed
    )


def mark_failed(run: EvaluationRun, reason: str) -> None:
    """Mark a queued or running run failed with a reason (in the caller's transaction)."""
    now = timezone.now()
    updated = EvaluationRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
        status=EvaluationRun.Status.FAILED, error=reason, finished_at=now, stalled_reason=""
    )
    if updated:
        audit_run_change(run, {"status": [run.status, "failed"], "error": ["", reason]})
        RunShard.objects.filter(run_id=run.pk, status=RunShard.Status.PENDING).update(
            status=RunShard.Status.CANCELLED
        )
        logger.warning("run %s failed: %s", run.pk, reason)


@transaction.atomic
def run_fail(*, run_id: int, reason: str) -> None:
    run = EvaluationRun.objects.get(pk=run_id)
    mark_failed(run, reason)


@transaction.atomic
def run_cancel(*, run: EvaluationRun) -> EvaluationRun:
    """Cancel a queued or running run; running shards stop at their next progress report."""
    now = timezone.now()
    previous = EvaluationRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()
    updated = EvaluationRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
        status=EvaluationRun.Status.CANCELLED,
        cancel_requested=True,
        finished_at=now,
        stalled_reason="",
    )
    if not updated:
        raise ValidationError(
            {"status": [f"Only a queued or running run can be cancelled; this one is {previous}."]}
        )
    RunShard.objects.filter(run_id=run.pk, status=RunShard.Status.PENDING).update(
        status=RunShard.Status.CANCELLED
    )
    run.refresh_from_db()
    audit_run_change(run, {"status": [previous, "cancelled"], "cancel_requested": [False, True]})
    return run


# long: claim, compute and write of a run's finish in order; the order is the locking protocol
def run_finalize(*, run_id: int) -> EvaluationRun | None:
    """Compute metrics and verdicts once every shard is stored; None if not (yet) ours to do.

    Database errors propagate, so the task retries them: a cancelled statement or a lock
    timeout never fails a run whose items are all stored. Only an error of the checks
    themselves (which a retry would repeat) fails the run, with its reason.
    """
    from apps.evaluations.services.drift import drift_compare

    run = EvaluationRun.objects.select_related("suite", "model_version").filter(pk=run_id).first()
    if run is None or run.status != EvaluationRun.Status.RUNNING:
        return None
    shards = list(run.shards.order_by("index"))
    if not shards or any(shard.status != RunShard.Status.DONE for shard in shards):
        return None
    EvaluationRun.objects.filter(pk=run_id, status=EvaluationRun.Status.RUNNING).update(
        finalize_started_at=timezone.now()
    )
    records = list(ItemResult.objects.filter(run=run).values_list("record", flat=True))
    datasets = list(run.suite.datasets.select_related("dataset").order_by("pk"))
    # The metrics are computed outside the lock (bootstraps take a while); the write below
    # re-checks that no other finaliser got there first.
    try:
        results, manifest = _compute(run, shards, records, datasets)
    except DatabaseError:
        raise
    except Exception as exc:  # an error of the checks ends the run, with its reason
        logger.exception("run %s: computing the checks failed", run_id)
        run_fail(run_id=run_id, reason=f"Computing the checks failed: {type(exc).__name__}: {exc}")
        return None
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().get(pk=run_id)
        if run.status != EvaluationRun.Status.RUNNING:
            return None
        stored = [sharding.json_safe(result.to_dict()) for result in results]
        CheckResult.objects.bulk_create(
            CheckResult(
                run=run,
                check_name=result["check"],
                verdict=result["verdict"],
                metrics=result["metrics"],
                verdicts=result["verdicts"],
                details=result["details"],
            )
            for result in stored
        )
        run.status = EvaluationRun.Status.SUCCEEDED
        run.verdict = _overall([result.verdict for result in results])
        run.manifest = manifest
        if run.rerun_of_id is not None:
            run.manifest["rerun_of"] = _reproduction(run, stored)
        run.items_done = run.items_total
        run.progress = 100.0
        run.stalled_reason = ""
        run.finished_at = timezone.now()
        run.save(
            update_fields=[
                "status",
                "verdict",
                "manifest",
                "items_done",
                "progress",
                "stalled_reason",
                "finished_at",
            ]
        )
        drift_compare(run=run)
    logger.info("run %s: %s (%s)", run_id, run.status, run.verdict)
    return run


# The run's verdict is its worst check's, in this order; it passes only if every check does.
_RUN_VERDICT_ORDER = ("fail", "incomplete", "insufficient_data", "inconclusive", "not_evaluated")


def _overall(verdicts: list[str]) -> str:
    for state in _RUN_VERDICT_ORDER:
        if state in verdicts:
            return state if state != "not_evaluated" else CheckResult.Verdict.INCOMPLETE
    return CheckResult.Verdict.PASS if verdicts else CheckResult.Verdict.INCOMPLETE


def _compute(
    run: EvaluationRun,
    shards: list[RunShard],
    records: list[dict[str, Any]],
    datasets: list[DatasetVersion],
) -> tuple[list[Any], dict[str, Any]]:
    """The checks' results from the stored records, by the engine's one evaluation path."""
    planned = run.manifest.get("plan", {}).get("rows_per_check", {})
    units = [unit for shard in shards for unit in shard.units]
    rows = sharding.rows_by_check(run.suite.checks, units, records, planned)
    results = sharding.compute_checks(
        checks=run.suite.checks, config=run_engine_config(run), seed=run.seed, rows=rows
    )
    return results, _manifest(run, shards, planned, datasets)


# long: the run manifest as one literal, key by key as it is stored and shown
def _manifest(
    run: EvaluationRun,
    shards: list[RunShard],
    planned: dict[str, int],
    datasets: list[DatasetVersion],
) -> dict[str, Any]:
    """The run's manifest: one shard's engine manifest, plus every shard and the datasets."""
    digests = {(shard.manifest.get("model") or {}).get("weights_digest") for shard in shards}
    if len(digests) > 1:
        raise ValueError(
            f"shards were scored with different model weights: {sorted(map(str, digests))}"
        )
    first = dict(shards[0].manifest)
    finished = timezone.now()
    manifest: dict[str, Any] = {
        **{key: value for key, value in first.items() if key not in _PER_SHARD},
        "run": {
            "id": run.pk,
            "suite": {"id": run.suite_id, "name": run.suite.name, "version": run.suite.version},
            "model_version": {
                "id": run.model_version_id,
                "label": run.model_version.version_label,
                "source": run.model_version.source,
            },
            "trigger": run.trigger,
            "shard_size": run.shard_size,
        },
        "effective_config": {
            name: effective_parameters(name, run_engine_config(run)) for name in run.suite.checks
        },
        "datasets": [
            {
                "dataset_version": version.pk,
                "dataset": version.dataset.name,
                "version": version.version,
                "name": version.original_filename,
                "format": version.format,
                "sha256": version.sha256,
                "checks": run.suite.dataset_checks.get(str(version.pk)) or run.suite.checks,
            }
            for version in datasets
        ],
        "shards": [
            {
                "index": shard.index,
                "worker": shard.worker,
                "attempts": shard.attempts,
                "items": shard.items_total,
                "device": shard.manifest.get("device"),
                "started_at": shard.manifest.get("started_at"),
                "ended_at": shard.manifest.get("ended_at"),
                "wall_seconds": shard.manifest.get("wall_seconds"),
            }
            for shard in shards
        ],
        "scoring": {
            "items_requested": sum(planned.values()),
            "items_scored": sum(len(shard.units) for shard in shards),
            "oom_backoffs": sum(
                int((shard.manifest.get("scoring") or {}).get("oom_backoffs", 0))
                for shard in shards
            ),
        },
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "ended_at": finished.isoformat(),
        "wall_seconds": round((finished - run.started_at).total_seconds(), 3)
        if run.started_at
        else None,
        "gpu_seconds": round(sum(float(s.manifest.get("gpu_seconds") or 0) for s in shards), 3),
        "cpu_seconds": round(sum(float(s.manifest.get("cpu_seconds") or 0) for s in shards), 3),
    }
    return manifest


_PER_SHARD = {"started_at", "ended_at", "wall_seconds", "gpu_seconds", "cpu_seconds", "scoring"}
