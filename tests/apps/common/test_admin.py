"""Django admin is scoped like the API: staff of A see and change only A's rows."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from apps.accounts.models import Membership, Role
from apps.accounts.services import api_token_create
from tests.builders.accounts import PASSWORD
from tests.factories import (
    AIModelFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db

APPS = ["accounts", "registry"]


def staff(user: Any, *codenames_prefixes: str) -> Any:
    user.is_staff = True
    user.save()
    perms = Permission.objects.filter(content_type__app_label__in=APPS)
    if codenames_prefixes:
        perms = perms.filter(codename__regex=rf"^({'|'.join(codenames_prefixes)})_")
    user.user_permissions.set(perms)
    return user


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def rows(personas) -> dict[str, dict[str, Any]]:
    """A row of every admin model in each organisation, each with a recognisable label."""
    built = {}
    for org, tag, owner in [
        (personas.org, "alpha", personas.admin),
        (personas.other_org, "bravo", personas.outsider),
    ]:
        model = AIModelFactory(organization=org, name=f"model-{tag}")
        dataset = DatasetFactory(organization=org, name=f"dataset-{tag}")
        built[tag] = {
            "organization": org,
            "membership": owner.memberships.get(),
            "apitoken": api_token_create(
                organization=org, created_by=owner, name=f"token-{tag}", role=Role.AUDITOR
            ).token,
            "aimodel": model,
            "modelversion": ModelVersionFactory(model=model, version_label=f"version-{tag}"),
            "dataset": dataset,
            "datasetversion": DatasetVersionFactory(
                dataset=dataset, sha256=("a" if tag == "alpha" else "b") * 64
            ),
            "user": owner,
        }
    return built


ADMIN_MODELS = {
    "organization": ("accounts", "St Example Hospital", "Other Payer"),
    "membership": ("accounts", "St Example Hospital", "Other Payer"),
    "apitoken": ("accounts", "token-alpha", "token-bravo"),
    "user": ("accounts", "clinical_reviewer", "outsider"),
    "aimodel": ("registry", "model-alpha", "model-bravo"),
    "modelversion": ("registry", "version-alpha", "version-bravo"),
    "dataset": ("registry", "dataset-alpha", "dataset-bravo"),
    "datasetversion": ("registry", "a" * 64, "b" * 64),
}


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_staff_see_only_their_organisations_rows(personas, rows, model):
    app, mine, theirs = ADMIN_MODELS[model]
    client = signed_in(staff(personas.admin))

    response = client.get(f"/admin/{app}/{model}/")

    assert response.status_code == 200
    content = response.content.decode()
    assert mine in content
    assert theirs not in content


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_staff_cannot_open_another_organisations_row(personas, rows, model):
    app = ADMIN_MODELS[model][0]
    client = signed_in(staff(personas.admin))

    response = client.get(f"/admin/{app}/{model}/{rows['bravo'][model].pk}/change/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_a_superuser_sees_every_organisation(personas, rows, model):
    app, mine, theirs = ADMIN_MODELS[model]
    operator = personas.auditor
    operator.is_superuser = operator.is_staff = True
    operator.save()

    content = signed_in(operator).get(f"/admin/{app}/{model}/").content.decode()

    assert mine in content and theirs in content


def test_choices_in_forms_offer_only_the_staff_members_organisations(personas, rows):
    client = signed_in(staff(personas.admin))

    form = client.get("/admin/registry/aimodel/add/").context["adminform"].form

    assert list(form.fields["organization"].queryset) == [personas.org]
    assert personas.outsider not in form.fields["owner"].queryset


def test_staff_cannot_add_a_row_to_another_organisation(personas, rows):
    client = signed_in(staff(personas.admin))

    response = client.post(
        "/admin/registry/aimodel/add/",
        {
            "organization": personas.other_org.pk,
            "name": "planted",
            "intended_use": "x",
            "decision_role": "informs",
            "application_area": "patient_care",
            "risk_class": "low",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )

    assert response.status_code == 200  # the form is shown again with the error
    assert not rows["bravo"]["organization"].ai_models.filter(name="planted").exists()


def test_inline_dataset_choices_are_scoped(personas, rows):
    client = signed_in(staff(personas.admin))
    version = rows["alpha"]["modelversion"]

    response = client.get(f"/admin/registry/modelversion/{version.pk}/change/")

    formset = response.context["inline_admin_formsets"][0].formset
    choices = (
        formset.forms[0].fields["dataset_version"].queryset
        if formset.forms
        else formset.empty_form.fields["dataset_version"].queryset
    )
    assert list(choices) == [rows["alpha"]["datasetversion"]]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLINICAL_REVIEWER])
def test_only_the_apis_writers_change_rows(personas, rows, role):
    client = signed_in(staff(personas.user(role)))
    model = rows["alpha"]["aimodel"]

    listed = client.get("/admin/registry/aimodel/")
    response = client.post(f"/admin/registry/aimodel/{model.pk}/change/", {"name": "renamed"})

    assert listed.status_code == 200
    assert response.status_code == 403
    model.refresh_from_db()
    assert model.name == "model-alpha"


def test_a_role_does_not_replace_the_django_change_permission(personas, rows):
    client = signed_in(staff(personas.admin, "view"))
    model = rows["alpha"]["aimodel"]

    response = client.post(f"/admin/registry/aimodel/{model.pk}/change/", {"name": "renamed"})

    assert response.status_code == 403
    model.refresh_from_db()
    assert model.name == "model-alpha"


def test_dataset_versions_are_immutable_in_the_admin(personas, rows):
    client = signed_in(staff(personas.admin))
    version = rows["alpha"]["datasetversion"]

    add = client.get("/admin/registry/datasetversion/add/")
    change = client.post(f"/admin/registry/datasetversion/{version.pk}/change/", {"licence": "x"})
    delete = client.post(f"/admin/registry/datasetversion/{version.pk}/delete/", {"post": "yes"})

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    version.refresh_from_db()
    assert version.licence == "CC BY 4.0"


def test_staff_cannot_grant_platform_privileges(personas, rows):
    client = signed_in(staff(personas.admin))

    form = (
        client.get(f"/admin/accounts/user/{personas.auditor.pk}/change/").context["adminform"].form
    )

    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert "email" in form.fields


def test_staff_cannot_change_a_person_who_also_belongs_to_another_organisation(personas, rows):
    Membership.objects.create(
        user=personas.auditor, organization=personas.other_org, role="auditor"
    )
    client = signed_in(staff(personas.admin))

    response = client.post(
        f"/admin/accounts/user/{personas.auditor.pk}/change/",
        {"username": "auditor", "email": "taken-over@example.org"},
    )

    assert response.status_code == 403
    personas.auditor.refresh_from_db()
    assert personas.auditor.email == "auditor@example.org"
