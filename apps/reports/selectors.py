"""Reads for model cards: the card context (a fixed number of queries), card lists, lookups
by digest for verification, the audit chain head and the sign-offs a card shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.common.tenancy import Actor, scope
from apps.evaluations.models import (
    CheckResult,
    DriftAlert,
    EvaluationRun,
    EvaluationSuite,
    Schedule,
)
from apps.registry.models import DatasetVersion, ModelVersion, ModelVersionDataset
from apps.reports.constants import DATA_ORIGINS, DRIFT_WINDOW_DAYS, FORMATS, HISTORY_RUNS
from apps.reports.context import CardContext, RunFacts
from apps.reports.document import iso
from apps.reports.models import CardProfile, ComparisonReport, ModelCard, ModelDocumentation


def model_card_list(*, actor: Actor) -> QuerySet[ModelCard]:
    return scope(ModelCard.objects.all(), actor).select_related(
        "model", "model_version", "organization", "superseded_by"
    )


def model_card_by_digest(*, sha256: str) -> tuple[ModelCard, str] | None:
    """The issued (or superseded) card one of whose files has this SHA-256, and the format.

    Deliberately not scoped: whoever holds a card may learn whether it is authentic.
    """
    sha256 = sha256.lower()
    query = Q()
    for fmt in FORMATS:
        query |= Q(**{f"{fmt}_sha256": sha256})
    card = (
        ModelCard.objects.filter(query, status__in=ModelCard.FROZEN)
        .select_related("model", "model_version", "organization", "superseded_by")
        .first()
    )
    if card is None:
        return None
    fmt = next(f for f in FORMATS if card.sha256_of(f) == sha256)
    return card, fmt


def model_card_claimed(*, card_id: str) -> ModelCard | None:
    """The card a file names (by id), whatever its state; None if the id is not a card."""
    try:
        return (
            ModelCard.objects.select_related("model", "model_version", "organization")
            .filter(pk=card_id)
            .first()
        )
    except (ValueError, ValidationError):
        return None


def documentation_values(*, model_id: int) -> dict[str, Any]:
    doc = ModelDocumentation.objects.filter(model_id=model_id).first()
    return dict(doc.values) if doc else {}


def audit_state(*, organization_id: int) -> dict[str, Any]:
    """Head of the organisation's audit chain; its sequence is the number of events (no gaps)."""
    if not django_apps.is_installed("apps.audit"):
        return {"chain_head_sequence": None, "chain_head_hash": None, "event_count": 0}
    from apps.audit.selectors import audit_chain_head

    head = audit_chain_head(organization_id=organization_id)
    return {
        "chain_head_sequence": head.seq,
        "chain_head_hash": head.hash,
        "event_count": head.seq,
    }


def card_signatures(
    card: ModelCard | None = None, *, model_version: ModelVersion | None = None
) -> list[dict[str, Any]]:
    """Sign-offs shown on a card: of its model version and that version's evaluation runs.

    Each is {"signer_name", "signer_role", "meaning", "stage", "signed_at" (ISO 8601 UTC),
    "record_digest", "current", "comment"} (21 CFR 11.50: printed name, time, meaning), plus
    "withdrawn", "target_type", "subject" and the older aliases "printed_name", "role",
    "lifecycle_stage" and "stale" (not current). Oldest first.
    """
    version = model_version if model_version is not None else getattr(card, "model_version", None)
    if version is None or not django_apps.is_installed("apps.signoffs"):
        return []
    from apps.signoffs.selectors import signatures_for_model_version

    return signatures_for_model_version(model_version=version)


def _origin(origins: dict[str, str], suite_name: str) -> str | None:
    origin = origins.get(suite_name)
    return origin if origin in DATA_ORIGINS else None


def _latest_runs(version: ModelVersion, origins: dict[str, str]) -> list[RunFacts]:
    """The latest succeeded run of each suite (by name) on the version, newest first."""
    runs = (
        EvaluationRun.objects.filter(model_version=version, status=EvaluationRun.Status.SUCCEEDED)
        .select_related("suite")
        .order_by("-finished_at", "-created_at", "-pk")
    )
    latest: dict[str, EvaluationRun] = {}
    for run in runs:
        latest.setdefault(run.suite.name, run)
    chosen = list(latest.values())
    checks: dict[int, dict[str, CheckResult]] = {run.pk: {} for run in chosen}
    for check in CheckResult.objects.filter(run__in=chosen).order_by("run_id", "check_name"):
        checks[check.run_id][check.check_name] = check
    suite_ids = {run.suite_id for run in chosen}
    datasets: dict[int, list[DatasetVersion]] = {sid: [] for sid in suite_ids}
    through = EvaluationSuite.datasets.through
    links = list(
        through.objects.filter(evaluationsuite_id__in=suite_ids).select_related(
            "datasetversion__dataset"
        )
    )
    for link in links:
        datasets[link.evaluationsuite_id].append(link.datasetversion)
    return [
        RunFacts(
            run=run,
            suite_name=run.suite.name,
            suite_label=f"{run.suite.name} v{run.suite.version}",
            origin=_origin(origins, run.suite.name),
            checks=checks[run.pk],
            datasets=datasets.get(run.suite_id, []),
        )
        for run in chosen
    ]


# long: every read a card needs in one place, so its fixed query count stays visible
def card_context_load(
    *, model_version_id: int, now: datetime | None = None, exclude_card: Any = None
) -> CardContext:
    """Load everything a card is built from, in a fixed number of queries."""
    now = now or timezone.now()
    version = ModelVersion.objects.select_related("model__organization").get(pk=model_version_id)
    model = version.model
    doc = ModelDocumentation.objects.filter(model=model).first()
    values = dict(doc.values) if doc else {}
    origins = values.get("evaluation_data_origin") or {}
    training = list(
        ModelVersionDataset.objects.filter(model_version=version)
        .select_related("dataset_version__dataset")
        .order_by("role", "dataset_version_id")
    )
    runs = _latest_runs(version, origins if isinstance(origins, dict) else {})
    history = list(
        CheckResult.objects.filter(
            run__model_version__model=model,
            run__status=EvaluationRun.Status.SUCCEEDED,
            check_name="knowledge",
        )
        .select_related("run__model_version")
        .order_by("-run__finished_at", "-run_id")[:HISTORY_RUNS]
    )
    window = now - timedelta(days=DRIFT_WINDOW_DAYS)
    schedules = list(
        Schedule.objects.filter(model=model)
        .select_related("suite", "model_version")
        .order_by("name")
    )
    counts = dict(
        EvaluationRun.objects.filter(schedule__in=schedules, created_at__gte=window)
        .values_list("schedule_id")
        .annotate(n=Count("pk"))
        .values_list("schedule_id", "n")
    )
    alerts = list(
        DriftAlert.objects.filter(model=model, created_at__gte=window).order_by("-created_at")
    )
    versions = list(ModelVersion.objects.filter(model=model).order_by("created_at", "pk"))
    previous = ModelCard.objects.filter(model=model, status__in=ModelCard.FROZEN)
    if exclude_card is not None:
        previous = previous.exclude(pk=exclude_card)
    previous_issued = [
        {
            "profile_title": CardProfile(profile).label,
            "version": number,
            "issued_at": iso(issued_at) or "",
            "status": status,
        }
        for profile, number, issued_at, status in previous.order_by("issued_at").values_list(
            "profile", "version", "issued_at", "status"
        )
    ]
    return CardContext(
        organization=model.organization,
        model=model,
        version=version,
        documentation=values,
        documentation_revision=doc.revision if doc else 0,
        training_links=training,
        runs=runs,
        history=[(check.run, check) for check in reversed(history)],
        schedules=schedules,
        schedule_run_counts={int(k): int(v) for k, v in counts.items()},
        drift_alerts=alerts,
        versions=versions,
        signatures=card_signatures(model_version=version),
        audit=audit_state(organization_id=model.organization_id),
        now=now,
        previous_issued=previous_issued,
        comparison_reports=comparison_report_citations(model_version_id=version.pk),
    )


def comparison_report_citations(*, model_version_id: int) -> list[dict[str, Any]]:
    """The latest comparison report of each kind for a version, as a card cites it."""
    found: dict[str, dict[str, Any]] = {}
    reports = ComparisonReport.objects.filter(model_version_id=model_version_id).only(
        "id", "kind", "created_at", "pdf_sha256", "json_sha256", "summary"
    )
    for report in reports.order_by("-created_at"):
        found.setdefault(
            report.kind,
            {
                "id": str(report.pk),
                "kind": report.kind,
                "title": report.get_kind_display(),
                "created_at": iso(report.created_at),
                "pdf_sha256": report.pdf_sha256,
                "json_sha256": report.json_sha256,
                "summary": report.summary,
            },
        )
    return list(found.values())
