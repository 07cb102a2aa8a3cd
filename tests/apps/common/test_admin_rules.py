"""The Django admin allows what the API allows, refuses what the API refuses, and audits
like the API: compliance officers with staff status cannot raise their own role or a token's;
every registry rule is refused by both doors; the add form of model versions is not a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership, Role
from apps.accounts.services import api_token_create
from apps.audit.models import AuditAction, AuditEvent
from apps.registry.models import AIModel, ModelVersion, ModelVersionDataset
from tests.builders.registry import MODEL
from tests.factories import (
    AIModelFactory,
    DatasetFactory,
    DatasetVersionFactory,
    MembershipFactory,
    ModelVersionFactory,
)

pytestmark = pytest.mark.django_db


def staff(user: Any) -> Client:
    user.is_staff = True
    user.save()
    apps = ["accounts", "registry"]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=apps))
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def form_data(response: Any, **changes: Any) -> dict[str, Any]:
    """What the browser would post back from a rendered admin form, with `changes`."""
    assert response.status_code == 200, response.status_code
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = field.widget.format_value(value) if value is not None else ""
        if hasattr(value, "pk"):
            data[name] = value.pk
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for index, sub in enumerate(formset.forms):
            for name in sub.fields:
                value = sub[name].value()
                data[f"{formset.prefix}-{index}-{name}"] = "" if value is None else value
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- permissions identical to the API's ----------------------------------------------------


def test_a_compliance_officer_cannot_raise_their_own_membership(personas) -> None:
    officer = personas.compliance_officer
    own = officer.memberships.get()
    client = staff(officer)

    url = f"/admin/accounts/membership/{own.pk}/change/"
    assert client.get(url).status_code in (302, 403)  # the API reserves memberships to admins
    assert client.post(url, {"role": Role.ADMIN}).status_code in (302, 403)
    refused = api(officer).patch(f"/api/v1/memberships/{own.pk}/", {"role": "admin"})
    assert refused.status_code in (403, 404)
    own.refresh_from_db()
    assert own.role == Role.COMPLIANCE_OFFICER


def test_token_roles_cannot_be_raised_in_the_admin(personas) -> None:
    token = api_token_create(
        organization=personas.org, created_by=personas.admin, name="ci", role=Role.AUDITOR
    ).token
    url = f"/admin/accounts/apitoken/{token.pk}/change/"

    officer = staff(personas.compliance_officer)
    assert officer.get(url).status_code in (302, 403)
    assert officer.post(url, {"role": Role.ADMIN}).status_code in (302, 403)
    # Admins see tokens but, as in the API, no token's role ever changes.
    admin = staff(personas.admin)
    assert admin.get(url).status_code == 200
    assert admin.post(url, {"role": Role.ADMIN, "name": "ci"}).status_code == 403
    token.refresh_from_db()
    assert token.role == Role.AUDITOR


def test_admins_revoke_tokens_in_the_admin(personas) -> None:
    token = api_token_create(
        organization=personas.org, created_by=personas.admin, name="ci", role=Role.AUDITOR
    ).token
    response = staff(personas.admin).post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_the_audit_event_records_the_role_held_before_the_change(personas) -> None:
    MembershipFactory(organization=personas.org, role=Role.ADMIN)  # a second admin
    own = personas.admin.memberships.get()
    client = staff(personas.admin)
    url = f"/admin/accounts/membership/{own.pk}/change/"

    response = client.post(url, form_data(client.get(url), role=Role.AUDITOR))

    assert response.status_code == 302
    own.refresh_from_db()
    assert own.role == Role.AUDITOR
    event = AuditEvent.objects.filter(
        organization=personas.org, action=AuditAction.UPDATE, object_type="accounts.membership"
    ).last()
    assert event is not None and event.changes["role"] == ["admin", "auditor"]
    assert (event.actor, event.actor_role, event.source) == ("user:admin", "admin", "admin")


def test_the_last_admin_cannot_be_demoted_or_removed_in_the_admin(personas) -> None:
    own = personas.admin.memberships.get()
    client = staff(personas.admin)
    url = f"/admin/accounts/membership/{own.pk}/change/"

    response = client.post(url, form_data(client.get(url), role=Role.AUDITOR))
    assert response.status_code == 200
    assert "last admin" in str(response.context["adminform"].form.errors)
    deleted = client.post(f"/admin/accounts/membership/{own.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    own.refresh_from_db()
    assert own.role == Role.ADMIN


def test_staff_cannot_add_members_without_their_consent(personas) -> None:
    assert staff(personas.admin).get("/admin/accounts/membership/add/").status_code == 403
    assert staff(personas.admin).get("/admin/accounts/user/add/").status_code == 403


def test_a_model_developer_edits_models_but_deletes_none_as_in_the_api(personas) -> None:
    model = AIModelFactory(organization=personas.org, name="Triage")
    client = staff(personas.model_developer)
    url = f"/admin/registry/aimodel/{model.pk}/change/"

    response = client.post(url, form_data(client.get(url), risk_class="high"))
    assert response.status_code == 302
    assert (
        client.post(f"/admin/registry/aimodel/{model.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    model.refresh_from_db()
    assert model.risk_class == "high"


def test_a_refused_admin_write_is_recorded_on_the_target_organisations_chain(personas) -> None:
    # The outsider is admin of the other organisation and auditor here.
    MembershipFactory(user=personas.outsider, organization=personas.org, role=Role.AUDITOR)
    model = AIModelFactory(organization=personas.org)
    client = staff(personas.outsider)

    response = client.post(f"/admin/registry/aimodel/{model.pk}/change/", {"name": "x"})

    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED)
    assert [e.organization_id for e in denied] == [personas.org.pk]
    assert denied.get().actor_role == Role.AUDITOR


def test_a_refused_api_create_is_recorded_on_the_target_organisations_chain(personas) -> None:
    MembershipFactory(user=personas.outsider, organization=personas.org, role=Role.AUDITOR)
    model = AIModelFactory(organization=personas.org)
    body = {"model": model.pk, "version_label": "1", "source_kind": "hub",
            "hub_id": "a/b", "revision": "a" * 40}  # fmt: skip

    response = api(personas.outsider).post("/api/v1/model-versions/", body, format="json")

    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action=AuditAction.PERMISSION_DENIED)
    assert [e.organization_id for e in denied] == [personas.org.pk]


# --- every registry rule, through both doors -----------------------------------------------


def test_the_add_model_version_form_is_refused_not_a_500(personas) -> None:
    assert staff(personas.admin).get("/admin/registry/modelversion/add/").status_code == 403
    admin_user = personas.auditor
    admin_user.is_superuser = True
    assert staff(admin_user).get("/admin/registry/modelversion/add/").status_code == 403


def _version_change(personas: Any, **changes: Any) -> tuple[Any, ModelVersion]:
    version = ModelVersionFactory(model=AIModelFactory(organization=personas.org))
    client = staff(personas.admin)
    url = f"/admin/registry/modelversion/{version.pk}/change/"
    return client.post(url, form_data(client.get(url), **changes)), version


@pytest.mark.parametrize(
    ("field", "value", "admin_value"),
    [
        ("alignment_techniques", ["astrology"], '["astrology"]'),
        ("alignment_techniques", ["rlhf", 3], '["rlhf", 3]'),
        ("base_model", "x" * 201, "x" * 201),
    ],
)
def test_model_version_rules_hold_in_both_doors(personas, field, value, admin_value) -> None:
    response, version = _version_change(personas, **{field: admin_value})
    assert response.status_code == 200 and field in response.context["adminform"].form.errors
    refused = api(personas.admin).patch(
        f"/api/v1/model-versions/{version.pk}/", {field: value}, format="json"
    )
    assert refused.status_code == 400 and field in refused.json()["error"]["fields"]
    stored = ModelVersion.objects.get(pk=version.pk)
    assert getattr(stored, field) == getattr(version, field)


def test_a_valid_model_version_change_is_saved_in_the_admin(personas) -> None:
    response, version = _version_change(
        personas, alignment_techniques='["rlhf", "rag"]', lifecycle_stage="deployment"
    )
    assert response.status_code == 302
    stage = version.lifecycle_stage
    version.refresh_from_db()
    assert version.alignment_techniques == ["rlhf", "rag"]
    # The stage moves only through its gate, in neither door by editing the field.
    assert version.lifecycle_stage == stage != "deployment"
    refused = api(personas.admin).patch(
        f"/api/v1/model-versions/{version.pk}/", {"lifecycle_stage": "deployment"}, format="json"
    )
    assert refused.status_code == 400


def _model_add(personas: Any, **changes: Any) -> Any:
    client = staff(personas.admin)
    data = {**MODEL, "organization": personas.org.pk, "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00", **changes}  # fmt: skip
    return client.post("/admin/registry/aimodel/add/", data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("risk_class", "astronomical"),
        ("decision_role", "decides"),
        ("application_area", "astrology"),
        ("name", "n" * 201),
        ("name", "Existing"),  # unique within the organisation
        ("intended_use", ""),
        ("intended_use", "x" * 10_001),  # free text is bounded (README: limits)
        ("out_of_scope_uses", "x" * 10_001),
    ],
)
def test_ai_model_rules_hold_in_both_doors(personas, field, value) -> None:
    AIModelFactory(organization=personas.org, name="Existing")
    before = AIModel.objects.count()

    response = _model_add(personas, **{field: value})
    errors = response.context["adminform"].form.errors
    assert response.status_code == 200 and (field in errors or "already exists" in str(errors))
    refused = api(personas.admin).post("/api/v1/models/", {**MODEL, field: value}, format="json")
    assert refused.status_code == 400 and field in refused.json()["error"]["fields"]
    assert AIModel.objects.count() == before


def test_an_owner_outside_the_organisation_is_refused_in_both_doors(personas) -> None:
    response = _model_add(personas, owner=personas.outsider.pk)
    assert response.status_code == 200 and "owner" in response.context["adminform"].form.errors
    refused = api(personas.admin).post(
        "/api/v1/models/", {**MODEL, "owner": "outsider"}, format="json"
    )
    assert refused.status_code == 400 and "owner" in refused.json()["error"]["fields"]


def test_renaming_a_model_to_a_taken_name_is_a_form_error_not_a_500(personas) -> None:
    AIModelFactory(organization=personas.org, name="Existing")
    model = AIModelFactory(organization=personas.org, name="Other")
    client = staff(personas.admin)
    url = f"/admin/registry/aimodel/{model.pk}/change/"

    response = client.post(url, form_data(client.get(url), name="Existing"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    refused = api(personas.admin).patch(f"/api/v1/models/{model.pk}/", {"name": "Existing"})
    assert refused.status_code == 400


def test_a_dataset_name_is_unique_within_the_organisation_in_both_doors(personas) -> None:
    DatasetFactory(organization=personas.org, name="Knowledge")
    response = staff(personas.admin).post(
        "/admin/registry/dataset/add/",
        {"organization": personas.org.pk, "name": "Knowledge", "created_at_0": "2026-01-01",
         "created_at_1": "00:00:00"},
    )  # fmt: skip
    assert response.status_code == 200 and response.context["adminform"].form.errors
    refused = api(personas.admin).post("/api/v1/datasets/", {"name": "Knowledge"}, format="json")
    assert refused.status_code == 400


def test_datasets_are_not_changed_or_deleted_in_the_admin_as_in_the_api(personas) -> None:
    dataset = DatasetFactory(organization=personas.org, name="Knowledge")
    client = staff(personas.admin)
    url = f"/admin/registry/dataset/{dataset.pk}/"
    assert client.post(url + "change/", {"name": "Renamed"}).status_code == 403
    assert client.post(url + "delete/", {"post": "yes"}).status_code == 403


def test_a_training_dataset_of_another_organisation_is_refused(personas) -> None:
    version = ModelVersionFactory(model=AIModelFactory(organization=personas.org))
    foreign = DatasetVersionFactory(dataset=DatasetFactory(organization=personas.other_org))
    link = ModelVersionDataset(model_version=version, dataset_version=foreign, role="evaluation")
    with pytest.raises(Exception, match="model's organisation"):
        link.full_clean()
    operator = personas.auditor
    operator.is_superuser = True
    client = staff(operator)
    url = f"/admin/registry/modelversion/{version.pk}/change/"
    data = form_data(client.get(url))
    data.update(
        {
            "dataset_links-TOTAL_FORMS": "1",
            "dataset_links-0-dataset_version": foreign.pk,
            "dataset_links-0-role": "evaluation",
            "dataset_links-0-model_version": version.pk,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert not ModelVersionDataset.objects.filter(model_version=version).exists()


def test_membership_rules_hold_in_the_model(personas) -> None:
    own = Membership.objects.get(user=personas.admin)
    own.role = Role.AUDITOR
    with pytest.raises(Exception, match="last admin"):
        own.full_clean()
