"""Evaluation builders: small slices of the project's evaluation data, a locally stored
model version, a suite with its datasets uploaded through the registry's service, and runs.

The data are the first items of each file in fixtures/evaluation (one vignette's 15 variants,
three multilingual items in six languages), so a run of all four checks takes seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File

from apps.accounts.models import Organization
from apps.evaluations import services
from apps.evaluations.models import EvaluationSuite
from apps.registry import services as registry
from apps.registry.models import AIModel, DatasetVersion, ModelVersion
from tests.factories import (
    AIModelFactory,
    CheckResultFactory,
    DatasetFactory,
    EvaluationRunFactory,
    EvaluationSuiteFactory,
    ModelVersionFactory,
    metric,
)

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "evaluation"
# (check, file, which lines): small slices, each valid on its own.
SLICES: dict[str, tuple[str, Any]] = {
    "knowledge": ("knowledge.jsonl", lambda i, row: i < 12),
    "hallucination": ("hallucination.jsonl", lambda i, row: i < 6 or 40 <= i < 46),
    "bias": ("bias_vignettes.jsonl", lambda i, row: i < 15),
    "multilingual": ("multilingual.jsonl", lambda i, row: row["id"] in {"kn-001", "kn-002"}),
}
# Rows each check writes for those slices (multilingual: 2 items x 6 languages), each scored
# item with its option-prior twin (bias: 15 variants of v01 and its one prior).
ROWS = {"knowledge": 24, "hallucination": 24, "bias": 16, "multilingual": 24}
PARAMETERS = {"n_resamples": 50}


def slice_file(check: str, directory: Path) -> Path:
    name, keep = SLICES[check]
    rows = [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]
    path = directory / f"{check}-{name}"
    path.write_text("".join(json.dumps(r) + "\n" for i, r in enumerate(rows) if keep(i, r)))
    return path


def local_version(model: AIModel, path: Path, label: str = "1.0") -> ModelVersion:
    from worker.engine.loading import weights_digest

    version: ModelVersion = ModelVersionFactory(
        model=model,
        version_label=label,
        source_kind=ModelVersion.SourceKind.LOCAL,
        hub_id="",
        revision="",
        local_path=str(path),
        weights_digest=weights_digest(path),
    )
    return version


@dataclass
class EvalSetup:
    org: Organization
    model: AIModel
    version: ModelVersion
    datasets: dict[str, DatasetVersion]
    suite: EvaluationSuite

    @property
    def rows(self) -> int:
        return sum(ROWS[check] for check in self.suite.checks)


def make_setup(
    org: Organization,
    model_path: Path,
    tmp: Path,
    *,
    checks: tuple[str, ...] = ("knowledge", "hallucination", "bias", "multilingual"),
    thresholds: dict[str, Any] | None = None,
    drift_tolerance: dict[str, Any] | None = None,
) -> EvalSetup:
    model = AIModelFactory(organization=org, name="Tiny")
    version = local_version(model, model_path)
    datasets = {}
    for check in checks:
        path = slice_file(check, tmp)
        with path.open("rb") as handle:
            datasets[check] = registry.dataset_version_create(
                dataset=DatasetFactory(organization=org, name=f"{check} items"),
                upload=File(handle, name=path.name),  # type: ignore[arg-type]
                format="jsonl",
                phi_status="none",
                licence="CC BY 4.0",
                provenance="fixtures/evaluation",
            )
    suite = services.suite_create(
        organization=org,
        name="Default",
        checks=list(checks),
        datasets=list(datasets.values()),
        dataset_checks={str(v.pk): [check] for check, v in datasets.items()},
        parameters=PARAMETERS,
        thresholds=thresholds
        if thresholds is not None
        else ({"knowledge": {"accuracy": {">=": 0.0}}} if "knowledge" in checks else {}),
        drift_tolerance=drift_tolerance or {},
    )
    return EvalSetup(org=org, model=model, version=version, datasets=datasets, suite=suite)


def quick_suite(org: Organization, **fields: Any) -> EvaluationSuite:
    """A knowledge suite whose dataset is a row only (for tests that never score)."""
    suite: EvaluationSuite = EvaluationSuiteFactory(
        organization=org, name=fields.pop("name", "Quick"), **fields
    )
    return suite


def finished_run(
    suite: EvaluationSuite,
    version: ModelVersion,
    *,
    accuracy: float,
    trigger: str = "api",
    **fields: Any,
) -> Any:
    """A succeeded run with a knowledge result (accuracy judged against the suite's threshold)."""
    run = EvaluationRunFactory(
        suite=suite,
        model_version=version,
        succeeded=True,
        trigger=trigger,
        **fields,
    )
    bound = suite.thresholds["knowledge"]["accuracy"][">="]
    verdict = "pass" if accuracy >= bound else "fail"
    CheckResultFactory(
        run=run,
        check_name="knowledge",
        verdict=verdict,
        metrics=[metric("accuracy", accuracy, 10), metric("accuracy", 0.5, 4, "cardiology")],
        verdicts=[
            {
                "metric": "accuracy",
                "op": ">=",
                "threshold": bound,
                "value": accuracy,
                "verdict": verdict,
                "reason": "",
            }
        ],
    )
    return run
