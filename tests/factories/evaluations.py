"""Evaluations: suites and schedules through their services (they check the datasets and
the cron); runs and their results as rows, for tests that state what a run produced."""

from __future__ import annotations

from typing import Any

import factory

from apps.evaluations.models import (
    CheckResult,
    DriftAlert,
    EvaluationRun,
    EvaluationSuite,
    ItemResult,
    RunShard,
    Schedule,
)
from tests.factories.accounts import OrganizationFactory
from tests.factories.base import ServiceFactory
from tests.factories.registry import AIModelFactory, DatasetVersionFactory, ModelVersionFactory


class EvaluationSuiteFactory(ServiceFactory):
    """A knowledge suite whose dataset is a row only (for tests that never score)."""

    class Meta:
        model = EvaluationSuite

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Suite {n}")
    checks = factory.LazyFunction(lambda: ["knowledge"])
    datasets = factory.LazyAttribute(
        lambda o: [DatasetVersionFactory(dataset__organization=o.organization)]
    )
    thresholds = factory.LazyFunction(lambda: {"knowledge": {"accuracy": {">=": 0.5}}})
    drift_tolerance = factory.LazyFunction(lambda: {"knowledge.accuracy": 0.05})

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.evaluations.services import suite_create

        return suite_create(**fields)


class EvaluationRunFactory(factory.django.DjangoModelFactory):
    """A run row (queued); `succeeded=True` makes it a finished one."""

    class Meta:
        model = EvaluationRun

    suite = factory.SubFactory(EvaluationSuiteFactory)
    organization = factory.SelfAttribute("suite.organization")
    model_version = factory.SubFactory(
        ModelVersionFactory, model__organization=factory.SelfAttribute("...organization")
    )

    class Params:
        succeeded = factory.Trait(
            status=EvaluationRun.Status.SUCCEEDED,
            progress=100,
            items_total=10,
            items_done=10,
        )


class RunShardFactory(factory.django.DjangoModelFactory):
    """A shard row; its one unit is a placeholder (shards that are scored come from a run's
    plan: `apps.evaluations.services.run_start`)."""

    class Meta:
        model = RunShard

    run = factory.SubFactory(EvaluationRunFactory)
    index = factory.Sequence(lambda n: n)
    items_total = 10
    units = factory.LazyFunction(lambda: [{"key": "[]", "rows": []}])


def metric(name: str, value: float | None, n: int = 10, group: str | None = None) -> dict:
    """A metric as the engine stores it (no interval)."""
    return {
        "name": name,
        "value": value,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "unit": "proportion",
        "group": group,
    }


class CheckResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckResult

    run = factory.SubFactory(EvaluationRunFactory, succeeded=True)
    check_name = "knowledge"
    verdict = CheckResult.Verdict.PASS
    metrics = factory.LazyFunction(lambda: [metric("accuracy", 0.8)])
    verdicts = factory.LazyFunction(
        lambda: [
            {
                "metric": "accuracy",
                "op": ">=",
                "threshold": 0.5,
                "value": 0.8,
                "verdict": "pass",
                "reason": "",
            }
        ]
    )


class ItemResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ItemResult

    run = factory.SubFactory(EvaluationRunFactory, succeeded=True)
    shard_index = 0
    check_name = "knowledge"
    item_id = factory.Sequence(lambda n: f"q{n}")
    correct = True
    chosen = "A"
    gold = factory.LazyFunction(lambda: ["A"])
    record = factory.LazyAttribute(
        lambda o: {"id": o.item_id, "correct": o.correct, "chosen": o.chosen, "gold": o.gold}
    )


class ScheduleFactory(ServiceFactory):
    class Meta:
        model = Schedule

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Weekly {n}")
    suite = factory.SubFactory(
        EvaluationSuiteFactory, organization=factory.SelfAttribute("..organization")
    )
    model = factory.SubFactory(AIModelFactory, organization=factory.SelfAttribute("..organization"))
    cron = "0 3 * * 1"

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.evaluations.services import schedule_create

        return schedule_create(**fields)


class DriftAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DriftAlert

    previous_run = factory.SubFactory(EvaluationRunFactory, succeeded=True)
    run = factory.SubFactory(
        EvaluationRunFactory,
        succeeded=True,
        suite=factory.SelfAttribute("..previous_run.suite"),
        model_version=factory.SelfAttribute("..previous_run.model_version"),
    )
    organization = factory.SelfAttribute("run.organization")
    model = factory.SelfAttribute("run.model_version.model")
    kind = DriftAlert.Kind.REGRESSION
    check_name = "knowledge"
    metric = "accuracy"
    previous_value = 0.68
    value = 0.62
    tolerance = 0.05
    message = "knowledge accuracy fell from 0.68 to 0.62 (tolerance 0.05)"
