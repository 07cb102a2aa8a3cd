"""Evaluation suites: created once, changed only by adding a version."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Organization, User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.evaluations.models import EvaluationSuite
from apps.registry.models import DatasetVersion
from worker.engine import sharding
from worker.engine.reasoning import study_config_from

_VERSIONED = (
    "description",
    "checks",
    "parameters",
    "thresholds",
    "drift_tolerance",
    "datasets",
    "dataset_checks",
)


def _validate(
    *,
    organization: Organization,
    checks: list[str],
    parameters: dict[str, Any],
    thresholds: dict[str, Any],
    drift_tolerance: dict[str, Any],
    datasets: list[DatasetVersion],
    dataset_checks: dict[str, Any],
) -> None:
    errors: dict[str, list[str]] = {}
    if not checks:
        errors["checks"] = [f"Name at least one check: {', '.join(sharding.check_names())}."]
    if len(set(checks)) != len(checks):
        errors["checks"] = ["A check is named twice."]
    if not isinstance(parameters, dict) or not isinstance(thresholds, dict):
        errors["parameters"] = ["Parameters and thresholds are JSON objects."]
    else:
        unknown = sorted(set(thresholds) - set(checks))
        if unknown:
            errors["thresholds"] = [
                f"Thresholds for checks not in the suite: {', '.join(unknown)}."
            ]
        config = sharding.engine_config(parameters=parameters, thresholds=thresholds, seed=0)
        problems = sharding.validate_check_config(checks, config)
        if problems:
            errors.setdefault("checks", []).extend(f"{k}: {v}" for k, v in problems.items())
        if "reasoning_study" in parameters:  # the reasoning-mode study (apps/reports)
            try:
                study_config_from(parameters["reasoning_study"])
            except ValueError as exc:
                errors["parameters"] = [str(exc)]
    if not isinstance(drift_tolerance, dict) or any(
        isinstance(v, bool) or not isinstance(v, int | float) or v < 0
        for v in drift_tolerance.values()
    ):
        errors["drift_tolerance"] = [
            'Map "check.metric" (or "check.metric[group]", "check.*", "*") to a number >= 0.'
        ]
    if not datasets:
        errors["datasets"] = ["Name at least one dataset version."]
    if any(version.dataset.organization_id != organization.pk for version in datasets):
        errors["datasets"] = ["Every dataset version must belong to the suite's organisation."]
    ids = {str(version.pk) for version in datasets}
    if not isinstance(dataset_checks, dict):
        errors["dataset_checks"] = ['Map dataset version ids to check names: {"12": ["bias"]}.']
    else:
        for key, names in dataset_checks.items():
            if key not in ids:
                errors.setdefault("dataset_checks", []).append(
                    f"{key} is not one of the suite's dataset versions."
                )
            elif not isinstance(names, list) or not set(names) <= set(checks):
                errors.setdefault("dataset_checks", []).append(
                    f"{key}: a list of the suite's checks ({', '.join(checks)})."
                )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def suite_create(
    *,
    organization: Organization,
    name: str,
    checks: list[str],
    datasets: Iterable[DatasetVersion],
    parameters: dict[str, Any] | None = None,
    thresholds: dict[str, Any] | None = None,
    drift_tolerance: dict[str, Any] | None = None,
    dataset_checks: dict[str, Any] | None = None,
    description: str = "",
    created_by: User | None = None,
) -> EvaluationSuite:
    """Create version 1 of a suite."""
    if EvaluationSuite.objects.filter(organization=organization, name=name).exists():
        raise ValidationError({"name": ["A suite with this name exists; add a version to it."]})
    return _save(
        organization=organization,
        name=name,
        version=1,
        fields={
            "description": description,
            "checks": list(checks),
            "parameters": parameters or {},
            "thresholds": thresholds or {},
            "drift_tolerance": drift_tolerance or {},
            "datasets": list(datasets),
            "dataset_checks": dataset_checks or {},
        },
        created_by=created_by,
    )


@transaction.atomic
def suite_new_version(
    *, suite: EvaluationSuite, created_by: User | None = None, **changes: Any
) -> EvaluationSuite:
    """A suite is never edited: its next version copies it with the changes applied."""
    unknown = set(changes) - set(_VERSIONED)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    # Locking the versions serialises two concurrent changes of one suite.
    versions = EvaluationSuite.objects.select_for_update().filter(
        organization_id=suite.organization_id, name=suite.name
    )
    latest = max(versions.values_list("version", flat=True), default=0)
    fields = {
        "description": suite.description,
        "checks": suite.checks,
        "parameters": suite.parameters,
        "thresholds": suite.thresholds,
        "drift_tolerance": suite.drift_tolerance,
        "datasets": list(suite.datasets.all()),
        "dataset_checks": suite.dataset_checks,
        **changes,
    }
    return _save(
        organization=suite.organization,
        name=suite.name,
        version=latest + 1,
        fields=fields,
        created_by=created_by,
    )


def _save(
    *,
    organization: Organization,
    name: str,
    version: int,
    fields: dict[str, Any],
    created_by: User | None,
) -> EvaluationSuite:
    datasets = list(fields.pop("datasets"))
    description = fields.pop("description")
    _validate(organization=organization, datasets=datasets, **fields)
    suite = EvaluationSuite.objects.create(
        organization=organization,
        name=name,
        version=version,
        description=description,
        created_by=created_by,
        **fields,
    )
    suite.datasets.set(datasets)
    # Many-to-many links send no save signal: the datasets are recorded explicitly.
    audit_record(
        action=AuditAction.UPDATE,
        organization=organization,
        obj=suite,
        changes={"datasets": [[], sorted(version.pk for version in datasets)]},
    )
    return suite


@transaction.atomic
def suite_delete(*, suite: EvaluationSuite) -> None:
    """Delete a suite version nothing refers to; one with runs or schedules is kept."""
    if suite.runs.exists() or suite.schedules.exists():
        raise ValidationError(
            {"non_field_errors": ["This suite version has runs or schedules; it is kept."]}
        )
    suite.datasets.clear()
    suite.delete()
