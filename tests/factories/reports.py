"""Reports: documentation and cards through the reports services."""

from __future__ import annotations

from typing import Any

import factory

from apps.reports.models import ModelCard, ModelDocumentation
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
