"""Alignment evidence: compare model versions scored by the same suite version on the same items.

The statistics live in the engine (worker/engine/compare.py); this module picks the runs,
refuses comparisons that would not be like for like, loads item-level correctness with one
query per run, lists what each version was trained and aligned with, and records that the
report was produced.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.common.tenancy import Actor, scope
from apps.evaluations import selectors
from apps.evaluations.models import EvaluationRun, EvaluationSuite, ItemResult
from apps.registry.models import ModelVersion
from worker.engine.choice import PRIOR_SUFFIX
from worker.engine.compare import Outcome, compare_versions, generalisation_map

REPORT_FORMAT = "carealign.version-comparison/1"


class ComparisonRefused(Exception):
    """The versions cannot be compared like for like; the message says why."""


def _latest_succeeded(version: ModelVersion, suite: EvaluationSuite) -> EvaluationRun:
    run = (
        EvaluationRun.objects.filter(
            model_version=version, suite=suite, status=EvaluationRun.Status.SUCCEEDED
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if run is None:
        other = (
            EvaluationRun.objects.filter(
                model_version=version, status=EvaluationRun.Status.SUCCEEDED
            )
            .select_related("suite")
            .order_by("-created_at")
            .first()
        )
        hint = (
            f" Its latest succeeded run used {other.suite} (suite id {other.suite_id}); runs of "
            "different suite versions score different items or thresholds and are not compared."
            if other is not None
            else ""
        )
        raise ComparisonRefused(
            f"{version} has no succeeded run of {suite} (suite id {suite.pk}).{hint}"
        )
    return run


def run_outcomes(run: EvaluationRun) -> tuple[dict[str, Outcome], dict[str, str]]:
    """Item-level correctness of a run keyed by check/item/language, and each key's check."""
    # Option-prior twins (the options without the question) are baselines, not items.
    rows: QuerySet[ItemResult, tuple[str, str, str, str, bool]] = (
        ItemResult.objects.filter(run=run)
        .exclude(item_id__endswith=PRIOR_SUFFIX)
        .values_list("check_name", "item_id", "language", "group", "correct")
    )
    outcomes: dict[str, Outcome] = {}
    check_of: dict[str, str] = {}
    for check, item_id, language, group, correct in rows:
        key = f"{check}/{item_id}/{language}"
        # Bias groups are demographic ("sex=female"); elsewhere the group is the specialty.
        labels = {"language": language}
        if group:
            labels["group" if "=" in group else "specialty"] = group
        outcomes[key] = Outcome(bool(correct), labels)
        check_of[key] = check
    return outcomes, check_of


def _version_facts(version: ModelVersion, run: EvaluationRun) -> dict[str, Any]:
    links = version.dataset_links.select_related("dataset_version__dataset").order_by("id")
    return {
        "model_version": version.pk,
        "label": str(version),
        "base_model": version.base_model,
        "alignment_techniques": list(version.alignment_techniques or []),
        "training_datasets": [
            {
                "dataset_version": link.dataset_version_id,
                "name": str(link.dataset_version),
                "role": link.role,
                "rows": link.dataset_version.row_count,
            }
            for link in links
        ],
        "run": run.pk,
        "run_finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "verdict": run.verdict,
    }


def _load_versions(actor: Actor, version_ids: list[int]) -> list[ModelVersion]:
    if len(version_ids) < 2:
        raise ComparisonRefused("Name at least two model versions to compare.")
    if len(set(version_ids)) != len(version_ids):
        raise ComparisonRefused("A model version is named twice.")
    found = {
        v.pk: v
        for v in scope(ModelVersion.objects.all(), actor)
        .select_related("model")
        .filter(pk__in=version_ids)
    }
    missing = [pk for pk in version_ids if pk not in found]
    if missing:
        raise ComparisonRefused(f"No such model version: {', '.join(map(str, missing))}.")
    return [found[pk] for pk in version_ids]


def version_comparison(*, actor: Actor, suite_id: int, version_ids: list[int]) -> dict[str, Any]:
    """Each later version against the first (the baseline), on the items both runs scored;
    producing it is audited (a download of the comparison)."""
    report = version_comparison_data(actor=actor, suite_id=suite_id, version_ids=version_ids)
    audit_record(
        action=AuditAction.DOWNLOAD,
        organization=report["suite"]["organization"],
        object_type="evaluations.versioncomparison",
        object_id=",".join(str(pk) for pk in version_ids),
        label=f"Version comparison on {report['suite']['label']}: "
        + " vs ".join(v["label"] for v in report["versions"]),
        changes={"runs": [v["run"] for v in report["versions"]], "suite": report["suite"]["id"]},
        actor=actor,
    )
    return report


def version_comparison_data(
    *, actor: Actor, suite_id: int, version_ids: list[int]
) -> dict[str, Any]:
    """The comparison itself, unaudited: the caller records what it does with it (the API
    a download, apps/reports/comparison_report.py the creation of a signed report)."""
    suite = scope(EvaluationSuite.objects.all(), actor).filter(pk=suite_id).first()
    if suite is None:
        raise ComparisonRefused(f"No such suite: {suite_id}.")
    versions = _load_versions(actor, version_ids)
    if len({v.model.organization_id for v in versions} | {suite.organization_id}) != 1:
        raise ComparisonRefused("The suite and the versions belong to different organisations.")
    runs = [_latest_succeeded(v, suite) for v in versions]
    loaded = [run_outcomes(run) for run in runs]
    baseline, baseline_checks = loaded[0]
    comparisons = []
    for version, run, (outcomes, checks) in zip(versions[1:], runs[1:], loaded[1:], strict=True):
        result = compare_versions(baseline, outcomes, check_of={**baseline_checks, **checks})
        if not result.rows:
            raise ComparisonRefused(
                f"Run {runs[0].pk} and run {run.pk} scored no item in common, although they "
                "used the same suite version."
            )
        comparisons.append(
            {"baseline": versions[0].pk, "candidate": version.pk, **result.as_dict()}
        )
    maps = []
    for run, (outcomes, _) in zip(runs, loaded, strict=True):
        previous = selectors.previous_run(run)
        previous_outcomes = run_outcomes(previous)[0] if previous is not None else None
        cells = generalisation_map(outcomes, previous=previous_outcomes)
        maps.append(
            {
                "model_version": run.model_version_id,
                "run": run.pk,
                "previous_run": previous.pk if previous is not None else None,
                "cells": [cell.as_dict() for cell in cells],
            }
        )
    return {
        "format": REPORT_FORMAT,
        "suite": {
            "id": suite.pk,
            "name": suite.name,
            "version": suite.version,
            "label": str(suite),
            "organization": suite.organization_id,
        },
        "versions": [_version_facts(v, r) for v, r in zip(versions, runs, strict=True)],
        "comparisons": comparisons,
        "generalisation": maps,
    }
