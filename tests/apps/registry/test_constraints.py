"""Vocabularies hold in the database too: a write that skips validation (a shell, a bulk
update) cannot store a value the API and the admin refuse."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.accounts.models import ApiToken, Membership
from apps.accounts.services import api_token_create
from apps.registry.models import AIModel, DatasetVersion, ModelVersion, ModelVersionDataset
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (AIModel, "decision_role"),
        (AIModel, "application_area"),
        (AIModel, "risk_class"),
        (ModelVersion, "lifecycle_stage"),
        (DatasetVersion, "format"),
        (DatasetVersion, "phi_status"),
        (ModelVersionDataset, "role"),
        (Membership, "role"),
        (ApiToken, "role"),
    ],
)
def test_unknown_vocabulary_is_refused_by_the_database(personas, model, field) -> None:
    version = ModelVersionFactory(model=AIModelFactory(organization=personas.org))
    dataset_version = DatasetVersionFactory()
    ModelVersionDataset.objects.create(
        model_version=version, dataset_version=dataset_version, role="evaluation"
    )
    api_token_create(organization=personas.org, created_by=personas.admin, name="t", role="auditor")
    row = model.objects.first()
    assert row is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: "astrology"})
