"""Reports: documentation and cards through the reports services."""

from __future__ import annotations

from typing import Any

import factory

from apps.reports.models import ComparisonReport, ModelCard, ModelDocumentation
from tests.factories.base import ServiceFactory
from tests.factories.registry import AIModelFactory, ModelVersionFactory


class ModelDocumentationFactory(ServiceFactory):
    class Meta:
        model = ModelDocumentation

    model = factory.SubFactory(AIModelFactory)
    values = factory.LazyFunction(lambda: {"summary": "Answers medication questions."})

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.reports.services import model_documentation_update

        return model_documentation_update(**fields)


class ModelCardFactory(ServiceFactory):
    """A card requested for rendering (status "rendering"; the render task is not sent)."""

    class Meta:
        model = ModelCard

    model_version = factory.SubFactory(ModelVersionFactory)
    profile = "chai"

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.reports.services import model_card_request

        return model_card_request(**fields)


class ComparisonReportFactory(ServiceFactory):
    """A signed paired comparison of two versions of one model, built through the service:
    both versions have a succeeded run of the same suite, with the same items (the second
    version gets the first item right that the first version got wrong)."""

    class Meta:
        model = ComparisonReport

    baseline = factory.SubFactory(ModelVersionFactory, version_label="1.0")

    @classmethod
    def service(cls, **fields: Any) -> Any:
        from apps.common.tenancy import Actor
        from apps.reports.comparison_report import version_comparison_report_create
        from tests.factories.evaluations import (
            CheckResultFactory,
            EvaluationRunFactory,
            EvaluationSuiteFactory,
            ItemResultFactory,
        )

        baseline = fields["baseline"]
        newer = ModelVersionFactory(model=baseline.model, version_label="1.1")
        org = baseline.model.organization
        suite = EvaluationSuiteFactory(organization=org)
        for version, first_correct in ((baseline, False), (newer, True)):
            run = EvaluationRunFactory(suite=suite, model_version=version, succeeded=True)
            CheckResultFactory(run=run, check_name="knowledge")
            for i in range(3):
                ItemResultFactory(
                    run=run,
                    check_name="knowledge",
                    item_id=f"q{i}",
                    correct=first_correct if i == 0 else True,
                )
        return version_comparison_report_create(
            actor=Actor(roles={org.pk: "admin"}),
            suite_id=suite.pk,
            version_ids=[baseline.pk, newer.pk],
        )
