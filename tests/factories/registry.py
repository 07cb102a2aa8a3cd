"""Registry: models, versions and datasets as rows (dataset files are uploaded through
the API or `apps.registry.services` by the tests that need them)."""

from __future__ import annotations

import factory

from apps.registry.models import (
    AIModel,
    Dataset,
    DatasetVersion,
    ModelVersion,
    ModelVersionDataset,
)
from tests.factories.accounts import OrganizationFactory


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Model {n}")
    intended_use = "Drafts discharge summaries for clinician review."
    intended_users = "Hospitalists"
    target_population = "Adult inpatients"
    decision_role = AIModel.DecisionRole.INFORMS
    application_area = AIModel.ApplicationArea.CLINICAL_WORKFLOW
    risk_class = AIModel.RiskClass.MODERATE


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    model = factory.SubFactory(AIModelFactory)
    version_label = factory.Sequence(lambda n: f"1.{n}")
    source_kind = ModelVersion.SourceKind.HUB
    hub_id = "example/med-llm"
    revision = factory.Sequence(lambda n: f"{n:040x}")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Dataset {n}")


class DatasetVersionFactory(factory.django.DjangoModelFactory):
    """A dataset version row; its file is not on disk (upload tests go through the API)."""

    class Meta:
        model = DatasetVersion

    dataset = factory.SubFactory(DatasetFactory)
    version = factory.Sequence(lambda n: n + 1)
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    file = factory.LazyAttribute(lambda v: f"datasets/{v.sha256[:2]}/{v.sha256}.jsonl")
    original_filename = "items.jsonl"
    size_bytes = 100
    format = DatasetVersion.Format.JSONL
    row_count = 1
    languages = factory.LazyFunction(lambda: ["en"])
    specialties = factory.LazyFunction(lambda: ["cardiology"])
    tasks = factory.LazyFunction(lambda: {"mcq": 1})
    phi_status = DatasetVersion.PhiStatus.NONE
    licence = "CC BY 4.0"
    provenance = "Written by the test suite"


class ModelVersionDatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersionDataset

    model_version = factory.SubFactory(ModelVersionFactory)
    dataset_version = factory.SubFactory(
        DatasetVersionFactory,
        dataset__organization=factory.SelfAttribute("...model_version.model.organization"),
    )
    role = ModelVersionDataset.Role.FINE_TUNING
