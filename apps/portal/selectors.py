"""Reads that put the apps' own selectors together for portal pages (no rules of their own)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from apps.common.tenancy import Actor, scope
from apps.evaluations import selectors as evaluations
from apps.evaluations.models import CheckResult, DriftAlert, EvaluationRun
from apps.registry.models import AIModel, Dataset, ModelVersion
from apps.reports import selectors as reports
from apps.reports.models import ModelCard

ACTIVE = (EvaluationRun.Status.QUEUED, EvaluationRun.Status.RUNNING)


def models_for(*, actor: Actor, organization_id: int) -> QuerySet[AIModel]:
    return scope(AIModel.objects.all(), actor).filter(organization_id=organization_id)


def versions_for(*, actor: Actor, organization_id: int) -> QuerySet[ModelVersion]:
    return (
        scope(ModelVersion.objects.select_related("model"), actor)
        .filter(model__organization_id=organization_id)
        .order_by("model__name", "-created_at")
    )


def datasets_for(*, actor: Actor, organization_id: int) -> QuerySet[Dataset]:
    return scope(Dataset.objects.prefetch_related("versions"), actor).filter(
        organization_id=organization_id
    )


def runs_for(*, actor: Actor, organization_id: int) -> QuerySet[EvaluationRun]:
    return evaluations.run_list(actor=actor).filter(organization_id=organization_id)


def active_runs(*, actor: Actor, organization_id: int) -> QuerySet[EvaluationRun]:
    return runs_for(actor=actor, organization_id=organization_id).filter(status__in=ACTIVE)


def open_alerts(*, actor: Actor, organization_id: int) -> QuerySet[DriftAlert]:
    return (
        evaluations.drift_alert_list(actor=actor)
        .filter(organization_id=organization_id, acknowledged_at__isnull=True)
        .select_related("model")
    )


def cards_for(*, actor: Actor, organization_id: int) -> QuerySet[ModelCard]:
    return reports.model_card_list(actor=actor).filter(organization_id=organization_id)


def latest_decisions(model: AIModel) -> list[CheckResult]:
    """The newest decision of each check on any version of the model (finished runs only)."""
    results = (
        CheckResult.objects.filter(
            run__model_version__model=model, run__status=EvaluationRun.Status.SUCCEEDED
        )
        .select_related("run__suite", "run__model_version")
        .order_by("check_name", "-run__created_at", "-run__pk")
    )
    newest: dict[str, CheckResult] = {}
    for result in results:
        newest.setdefault(result.check_name, result)
    return list(newest.values())


def model_rows(*, actor: Actor, organization_id: int) -> list[dict[str, Any]]:
    """Each model with its newest version, its stage, open drift and latest decisions."""
    rows = []
    for model in models_for(actor=actor, organization_id=organization_id):
        newest = model.versions.order_by("-created_at", "-pk").first()
        rows.append(
            {
                "model": model,
                "version": newest,
                "drift": evaluations.model_drift_flagged(model),
                "decisions": latest_decisions(model),
            }
        )
    return rows


def metric_ci(metric: dict[str, Any]) -> tuple[Any, Any]:
    """A metric's interval, whichever of the engine's two spellings it carries."""
    low = metric.get("ci_low", metric.get("low"))
    high = metric.get("ci_high", metric.get("high"))
    return low, high


def history(model: AIModel) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Finished runs of the model, per suite name, per `check.metric[group]`: one series each.

    Each point says which model version and suite version it comes from, so a chart never
    mixes them silently.
    """
    runs = (
        EvaluationRun.objects.filter(
            model_version__model=model, status=EvaluationRun.Status.SUCCEEDED
        )
        .select_related("suite", "model_version")
        .prefetch_related("check_results")
        .order_by("created_at", "pk")
    )
    series: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        for result in run.check_results.all():
            for metric in result.metrics or []:
                if metric.get("group"):
                    continue  # per-group values are on the run page
                low, high = metric_ci(metric)
                key = f"{result.check_name}.{metric['name']}"
                series[run.suite.name][key].append(
                    {
                        "run": run,
                        "value": metric.get("value"),
                        "ci_low": low,
                        "ci_high": high,
                        "n": metric.get("n"),
                        "unit": metric.get("unit", ""),
                        "label": f"{run.model_version.version_label} · s{run.suite.version} · "
                        f"{run.created_at:%m-%d %H:%M}",
                    }
                )
    return {suite: dict(metrics) for suite, metrics in series.items()}
