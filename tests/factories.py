"""factory_boy factories for the domain; personas are built from these in conftest.py."""

from __future__ import annotations

import factory

from apps.accounts.models import Membership, Organization, Role, User
from apps.registry.models import (
    AIModel,
    Dataset,
    DatasetVersion,
    ModelVersion,
    ModelVersionDataset,
)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organization.Kind.PROVIDER


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.COMPLIANCE_OFFICER


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
    dataset_version = factory.SubFactory(DatasetVersionFactory)
    role = ModelVersionDataset.Role.FINE_TUNING
