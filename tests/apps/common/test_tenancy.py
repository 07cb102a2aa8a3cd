"""The one scoping helper: which organisations' rows an actor may see."""

from __future__ import annotations

import pytest

from apps.accounts.models import ApiToken, Membership, Organization, Role
from apps.accounts.services import api_token_create
from apps.common.tenancy import SYSTEM, Actor, actor_for_user, org_id_of, scope, tenant_field
from apps.registry.models import AIModel, DatasetVersion, ModelVersion, ModelVersionDataset
from tests.factories import (
    AIModelFactory,
    DatasetVersionFactory,
    ModelVersionDatasetFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(personas):
    """One chain of tenant rows in each organisation."""
    built = {}
    for org in (personas.org, personas.other_org):
        version = ModelVersionFactory(model=AIModelFactory(organization=org))
        dataset_version = DatasetVersionFactory(dataset__organization=org)
        link = ModelVersionDatasetFactory(model_version=version, dataset_version=dataset_version)
        built[org.pk] = {"version": version, "dataset_version": dataset_version, "link": link}
    return built


@pytest.mark.parametrize(
    "model",
    [
        Organization,
        Membership,
        ApiToken,
        AIModel,
        ModelVersion,
        DatasetVersion,
        ModelVersionDataset,
    ],
)
def test_scope_keeps_only_the_actors_organisations(personas, rows, model):
    api_token_create(
        organization=personas.other_org, created_by=personas.outsider, name="b", role=Role.ADMIN
    )
    api_token_create(organization=personas.org, created_by=personas.admin, name="a", role="admin")
    actor = actor_for_user(personas.auditor)

    scoped = scope(model.objects.all(), actor)

    assert scoped.exists()
    assert {org_id_of(obj) for obj in scoped} == {personas.org.pk}
    assert model.objects.count() > scoped.count()


def test_follows_multi_level_tenant_paths(personas, rows):
    link = rows[personas.org.pk]["link"]

    assert tenant_field(ModelVersionDataset) == "model_version__model__organization"
    assert org_id_of(link) == personas.org.pk
    assert org_id_of(personas.other_org) == personas.other_org.pk


def test_an_actor_without_memberships_sees_nothing(personas, rows):
    assert not scope(AIModel.objects.all(), SYSTEM).exists()
    assert not scope(AIModel.objects.all(), actor_for_user(None)).exists()


def test_a_member_of_two_organisations_sees_both(personas, rows):
    Membership.objects.create(
        user=personas.auditor, organization=personas.other_org, role=Role.AUDITOR
    )

    scoped = scope(AIModel.objects.all(), actor_for_user(personas.auditor))

    assert scoped.count() == 2


def test_actor_roles_are_per_organisation(personas):
    actor = actor_for_user(personas.model_developer)

    assert actor.role_in(personas.org.pk) == Role.MODEL_DEVELOPER
    assert actor.role_in(personas.other_org.pk) is None
    assert actor.has_role(personas.org.pk, [Role.MODEL_DEVELOPER, Role.ADMIN])
    assert not actor.has_role(personas.org.pk, [Role.ADMIN])
    assert not actor.has_role(None, Role.values)
    assert actor.label == "user:model_developer"


def test_refuses_to_scope_a_model_that_is_not_tenant_data(personas):
    from apps.accounts.models import User

    with pytest.raises(TypeError, match="not tenant data"):
        scope(User.objects.all(), Actor())
