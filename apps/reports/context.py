"""The card context: everything a card is built from, loaded once by
`selectors.card_context_load` and read by the document builder and the profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.accounts.models import Organization
    from apps.evaluations.models import CheckResult, DriftAlert, EvaluationRun, Schedule
    from apps.registry.models import AIModel, DatasetVersion, ModelVersion, ModelVersionDataset


@dataclass
class RunFacts:
    """The latest succeeded run of one suite on the card's model version."""

    run: EvaluationRun
    suite_name: str
    suite_label: str
    origin: str | None  # same_source | external | local | None (not classified)
    checks: dict[str, CheckResult]
    datasets: list[DatasetVersion]

    @property
    def date(self) -> str:
        when = self.run.finished_at or self.run.created_at
        return when.date().isoformat()

    @property
    def label(self) -> str:
        return f"{self.suite_label}, run {self.run.pk} ({self.date})"


@dataclass
class CardContext:
    """Everything a card is built from, loaded once."""

    organization: Organization
    model: AIModel
    version: ModelVersion
    documentation: dict[str, Any]
    documentation_revision: int
    training_links: list[ModelVersionDataset]
    runs: list[RunFacts]
    history: list[tuple[EvaluationRun, CheckResult]]  # knowledge results, oldest first
    schedules: list[Schedule]
    schedule_run_counts: dict[int, int]
    drift_alerts: list[DriftAlert]
    versions: list[ModelVersion]  # all versions of the model, oldest first
    signatures: list[dict[str, Any]]
    audit: dict[str, Any]
    now: datetime
    previous_issued: list[dict[str, Any]] = field(default_factory=list)
    # Comparison reports this version is the subject of, cited with their digests.
    comparison_reports: list[dict[str, Any]] = field(default_factory=list)

    def runs_with(self, *checks: str, origin: str | None | bool = True) -> list[RunFacts]:
        """Runs holding any of the checks; origin=True means any origin."""
        return [
            r
            for r in self.runs
            if any(c in r.checks for c in checks) and (origin is True or r.origin == origin)
        ]
