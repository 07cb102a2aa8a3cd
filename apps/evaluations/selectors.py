"""Reads for evaluations: runs and their progress, per-item results, comparisons, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.common.tenancy import Actor, scope
from apps.evaluations.models import (
    DriftAlert,
    EvaluationRun,
    EvaluationSuite,
    ItemResult,
)
from apps.registry.models import AIModel, ModelVersion


def run_list(*, actor: Actor) -> QuerySet[EvaluationRun]:
    return scope(EvaluationRun.objects.all(), actor).select_related(
        "organization", "suite", "model_version__model", "started_by"
    )


def run_eta_seconds(run: EvaluationRun, *, now: datetime | None = None) -> float | None:
    """Time left at the observed rate of stored items (None until some are, or when stalled).

    The rate is the items stored by the last stored shard over the time it took from the
    start, so the estimate does not grow while a slow shard is scored; time since then is
    taken off.
    """
    if run.status != EvaluationRun.Status.RUNNING or run.stalled_reason or not run.started_at:
        return None
    if not run.items_done or not run.items_total or run.progress_at is None:
        return None
    taken = (run.progress_at - run.started_at).total_seconds()
    if taken <= 0:
        return None
    left = max(run.items_total - run.items_done, 0) * taken / run.items_done
    since = ((now or timezone.now()) - run.progress_at).total_seconds()
    return round(max(left - since, 0.0), 1)


def run_display_status(run: EvaluationRun) -> str:
    """The status shown: "stalled" for a queued or running run that makes no progress."""
    active = (EvaluationRun.Status.QUEUED, EvaluationRun.Status.RUNNING)
    return "stalled" if run.status in active and run.stalled_reason else run.status


def run_items(
    *,
    run: EvaluationRun,
    check: str | None = None,
    language: str | None = None,
    group: str | None = None,
    task: str | None = None,
    wrong: bool | None = None,
) -> QuerySet[ItemResult]:
    """A run's per-item results, optionally only one check, language, group, or wrong ones."""
    items = ItemResult.objects.filter(run=run)
    if check:
        items = items.filter(check_name=check)
    if language:
        items = items.filter(language=language)
    if group:
        items = items.filter(group=group)
    if task:
        items = items.filter(task=task)
    if wrong is not None:
        items = items.filter(correct=not wrong)
    return items.order_by("check_name", "item_id", "language")


def latest_suite(suite: EvaluationSuite) -> EvaluationSuite:
    """The newest version of a suite (a schedule follows its suite's changes)."""
    return (
        EvaluationSuite.objects.filter(organization_id=suite.organization_id, name=suite.name)
        .order_by("-version")
        .first()
    ) or suite


def deployed_version(model: AIModel) -> ModelVersion | None:
    """The version of a model in deployment (or monitoring): the newest such, if several."""
    stages = (ModelVersion.LifecycleStage.DEPLOYMENT, ModelVersion.LifecycleStage.MONITORING)
    return (
        ModelVersion.objects.filter(model=model, lifecycle_stage__in=stages)
        .order_by("-created_at", "-pk")
        .first()
    )


def previous_run(run: EvaluationRun) -> EvaluationRun | None:
    """The last successful run before `run` of the same suite (any version) on the same model."""
    return (
        EvaluationRun.objects.filter(
            organization_id=run.organization_id,
            suite__name=run.suite.name,
            model_version__model_id=run.model_version.model_id,
            status=EvaluationRun.Status.SUCCEEDED,
        )
        .filter(Q(created_at__lt=run.created_at) | Q(created_at=run.created_at, pk__lt=run.pk))
        .order_by("-created_at", "-pk")
        .first()
    )


def _tolerance(
    tolerances: dict[str, Any], check: str, name: str, group: str | None
) -> float | None:
    keys = (
        [f"{check}.{name}[{group}]", f"{check}.{name}[*]"]
        if group
        else [f"{check}.{name}", f"{check}.*", "*"]
    )
    for key in keys:
        if key in tolerances:
            return float(tolerances[key])
    return None


def _direction(thresholds: dict[str, Any], check: str, name: str, group: str | None) -> int | None:
    spec = thresholds.get(check) or {}
    for key in ([f"{name}[{group}]"] if group else []) + [name]:
        ops = spec.get(key) or {}
        if ">=" in ops:
            return 1
        if "<=" in ops:
            return -1
    from worker.engine.checks import metric_direction  # the engine's checks, loaded on use

    return metric_direction(check, name)


# long: one pass over metrics and verdicts building the two tables the API returns
def run_comparison(*, previous: EvaluationRun, run: EvaluationRun) -> dict[str, Any]:
    """Per metric: the change from `previous` to `run`, and whether it is beyond tolerance.

    Tolerances come from `run`'s suite (`drift_tolerance`): "check.metric", "check.*" or
    "*" for overall metrics, "check.metric[group]" or "check.metric[*]" for a group's. A
    regression is a change beyond tolerance in the worse direction. A newly failed
    threshold is one that fails now and did not fail before.
    """
    tolerances = run.suite.drift_tolerance or {}
    thresholds = run.suite.thresholds or {}
    before = {result.check_name: result for result in previous.check_results.all()}
    metrics: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for result in run.check_results.all().order_by("check_name"):
        check = result.check_name
        old = before.get(check)
        old_metrics = {(m["name"], m.get("group")): m for m in (old.metrics if old else [])}
        for metric in result.metrics:
            name, group = metric["name"], metric.get("group")
            value = metric.get("value")
            prior = (old_metrics.get((name, group)) or {}).get("value")
            change = value - prior if value is not None and prior is not None else None
            tolerance = _tolerance(tolerances, check, name, group)
            direction = _direction(thresholds, check, name, group)
            beyond = change is not None and tolerance is not None and abs(change) > tolerance
            metrics.append(
                {
                    "check": check,
                    "metric": name,
                    "group": group,
                    "previous": prior,
                    "value": value,
                    "change": change,
                    "tolerance": tolerance,
                    "higher_is_better": None if direction is None else direction > 0,
                    "beyond_tolerance": beyond,
                    "regression": bool(
                        beyond
                        and direction is not None
                        and change is not None
                        and change * direction < 0
                    ),
                }
            )
        old_verdicts = {v["metric"]: v for v in (old.verdicts if old else [])}
        for verdict in result.verdicts:
            prior_verdict = (old_verdicts.get(verdict["metric"]) or {}).get("verdict")
            verdicts.append(
                {
                    "check": check,
                    "metric": verdict["metric"],
                    "previous": prior_verdict,
                    "verdict": verdict["verdict"],
                    "value": verdict.get("value"),
                    "threshold": f"{verdict['op']} {verdict['threshold']:g}",
                    "newly_failed": verdict["verdict"] == "fail" and prior_verdict != "fail",
                }
            )
    return {
        "previous_run": previous.pk,
        "run": run.pk,
        "previous_suite_version": previous.suite.version,
        "suite_version": run.suite.version,
        "metrics": metrics,
        "verdicts": verdicts,
        "regressions": sum(1 for m in metrics if m["regression"]),
        "newly_failed": sum(1 for v in verdicts if v["newly_failed"]),
    }


def drift_alert_list(*, actor: Actor) -> QuerySet[DriftAlert]:
    return scope(DriftAlert.objects.all(), actor).select_related("model", "run", "previous_run")


def model_drift_flagged(model: AIModel) -> bool:
    """The portal's flag on a model: it has a drift alert nobody has acknowledged yet."""
    return DriftAlert.objects.filter(model=model, acknowledged_at__isnull=True).exists()
