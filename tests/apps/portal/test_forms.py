"""Portal forms that turn typed answers into what the services take (no JSON for people)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership, Role, ServiceAccount
from apps.portal.cardfields import CardFieldsForm, action_for, checklist, fillable, hint_targets
from apps.reports.models import ModelDocumentation
from apps.reports.profiles import PROFILES
from apps.reports.services import model_documentation_update
from tests.factories import AIModelFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db

MISSING = [
    {"fill_hint": "Model cards → documentation → keywords (PATCH /api/v1/model-documentation/1/)"},
    {"fill_hint": "Registry → model → out_of_scope_uses (PATCH /api/v1/models/<id>/)"},
    {
        "fill_hint": "… classify it as external in "
        "Model cards → documentation → evaluation_data_origin"
    },
    {"fill_hint": "Model cards → documentation → demographic_input_features (PATCH …)"},
    {"fill_hint": "Evaluations → schedules: re-evaluate this model on a schedule"},
    # One item backed by two registry fields (the payer card's population and users).
    {"fill_hint": "Registry → model → target_population, intended_users (PATCH /api/v1/models/)"},
    {"fill_hint": "Registry → model version → base_model / alignment_techniques (PATCH …)"},
]


def test_fill_hints_name_the_inputs_to_show() -> None:
    targets = fillable(MISSING)
    assert targets.docs == ["keywords", "evaluation_data_origin", "demographic_input_features"]
    assert targets.model_fields == ["out_of_scope_uses", "target_population", "intended_users"]
    assert targets.version_fields == ["base_model", "alignment_techniques"]


def _form(model: Any, data: dict[str, Any], **kwargs: Any) -> CardFieldsForm:
    return CardFieldsForm(
        data,
        targets=fillable(MISSING),
        model=model,
        version=ModelVersionFactory(model=model),
        suites=["Core", "External set"],
        **kwargs,
    )


def test_typed_answers_become_documentation_the_service_accepts(personas: Any) -> None:
    model = AIModelFactory(organization=personas.org)
    form = _form(
        model,
        {
            "doc__keywords": "triage\n\n referral ",
            "origin__0": "same_source",
            "origin__1": "",
            "model__out_of_scope_uses": "Paediatrics",
            "model__target_population": "Adults referred by their GP",
            "version__alignment_techniques": ["instruction_tuning"],
        },
        values={"evaluation_data_origin": {"Older suite": "external"}},
    )
    assert form.is_valid(), form.errors
    values = form.documentation_values()
    assert values == {
        "keywords": ["triage", "referral"],
        "demographic_input_features": [],  # none ticked: an answer, not a gap
        # the suites the form does not show keep their answer
        "evaluation_data_origin": {"Older suite": "external", "Core": "same_source"},
    }
    assert form.model_values() == {
        "out_of_scope_uses": "Paediatrics",
        "target_population": "Adults referred by their GP",
    }
    assert form.version_values() == {"alignment_techniques": ["instruction_tuning"]}
    model_documentation_update(model=model, values=values)
    assert ModelDocumentation.objects.get(model=model).values == values


def test_every_missing_item_gets_its_inputs_or_a_link(personas: Any) -> None:
    model = AIModelFactory(organization=personas.org)
    contradiction = {"id": "alignment-preference", "message": "RLHF claimed", "explained": False}
    form = _form(
        model,
        {"explain__0": " The reward model was trained by the vendor. "},
        values={"consistency_explanations": {"older": "kept"}},
        contradictions=[contradiction, {"id": "x", "message": "done", "explained": True}],
    )
    missing = [{"label": f"Item {i}", **entry} for i, entry in enumerate(MISSING)]
    links = {
        "model": "/models/1/",
        "run": "/runs/?model_version=1",
        "suite": "/suites/new/",
        "datasets": "/datasets/",
        "org": "/organisation/",
    }
    rows = checklist(missing, [contradiction], form, links)
    assert [r["label"] for r in rows] == [
        *(m["label"] for m in missing),
        "Contradiction: RLHF claimed",
    ]
    for row in rows:  # every item: an input of its own, one above, or where to do it
        assert row["fields"] or row["above"] or row["action"], row["label"]
    by_label = {r["label"]: r for r in rows}
    assert [f.name for f in by_label["Item 5"]["fields"]] == [
        "model__target_population",
        "model__intended_users",
    ]
    assert by_label["Item 4"]["action"][1] == "/models/1/"  # schedules live on the model page
    assert form.is_valid(), form.errors
    assert form.documentation_values()["consistency_explanations"] == {
        "older": "kept",
        "alignment-preference": "The reward model was trained by the vendor.",
    }


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_required_field_of_every_profile_has_an_input_or_a_link(profile: str) -> None:
    links = dict.fromkeys(("model", "run", "suite", "datasets", "org"), "/somewhere/")
    for section in PROFILES[profile].sections:
        for spec in (f for f in section.fields if f.required):
            targets = hint_targets(spec.fill_hint)
            fillable_here = targets.docs or targets.model_fields or targets.version_fields
            assert fillable_here or action_for(spec.fill_hint, links), (spec.id, spec.fill_hint)


def _admin(personas: Any) -> Client:
    client = Client()
    client.force_login(personas.admin)
    return client


def test_admins_manage_members_but_never_remove_the_last_admin(personas: Any) -> None:
    client = _admin(personas)
    added = client.post(
        "/organisation/", {"form": "member", "m-username": "outsider", "m-role": "auditor"}
    )
    assert added.status_code == 302
    membership = Membership.objects.get(user=personas.outsider, organization=personas.org)
    assert membership.role == Role.AUDITOR
    unknown = client.post(
        "/organisation/", {"form": "member", "m-username": "nobody", "m-role": "auditor"}
    )
    assert "No user with this username." in unknown.content.decode()
    client.post(f"/organisation/members/{membership.pk}/", {"role": "clinical_reviewer"})
    membership.refresh_from_db()
    assert membership.role == Role.CLINICAL_REVIEWER
    mine = Membership.objects.get(user=personas.admin, organization=personas.org)
    page = client.post(
        f"/organisation/members/{mine.pk}/", {"role": "admin", "remove": "1"}, follow=True
    )
    assert "last admin" in page.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_a_hub_version_needs_a_pinned_revision_shown_next_to_the_field(personas: Any) -> None:
    model = AIModelFactory(organization=personas.org)
    client = Client()
    client.force_login(personas.model_developer)
    response = client.post(
        f"/models/{model.pk}/",
        {
            "v-version_label": "2.0",
            "v-source_kind": "hub",
            "v-hub_id": "example/med-llm",
            "v-revision": "main",
            "v-lifecycle_stage": "validation",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A hub revision must be a full 40-character commit hash." in html
    assert not model.versions.exists()


def test_admins_create_service_accounts_and_tokens_they_hold(personas: Any) -> None:
    client = _admin(personas)
    created = client.post(
        "/organisation/", {"form": "service", "s-name": "Release pipeline", "s-role": "auditor"}
    )
    assert created.status_code == 302
    account = ServiceAccount.objects.get(organization=personas.org, name="Release pipeline")
    token = {
        "form": "token",
        "t-name": "nightly export",
        "t-expires_at": (timezone.now() + timedelta(days=30)).date().isoformat(),
        "t-holder": str(account.user_id),
    }
    above = client.post("/organisation/", {**token, "t-role": "compliance_officer"})
    assert above.status_code == 400
    assert "A token cannot act above its holder&#x27;s role" in above.content.decode()
    assert not ApiToken.objects.filter(holder=account.user).exists()
    page = client.post("/organisation/", {**token, "t-role": "auditor"})
    assert page.status_code == 200
    html = page.content.decode()
    issued = ApiToken.objects.get(holder=account.user)
    assert issued.role == "auditor" and issued.created_by == personas.admin
    assert "Copy the new token now" in html
    assert 'Release pipeline <span class="muted">(service account' in html
    # A second account of the same name is refused next to the name.
    again = client.post(
        "/organisation/", {"form": "service", "s-name": "Release pipeline", "s-role": "auditor"}
    )
    assert "already has a service account of this name" in again.content.decode()
    # Only admins manage them.
    officer = Client()
    officer.force_login(personas.user("compliance_officer"))
    refused = officer.post(
        "/organisation/", {"form": "service", "s-name": "Sneaky", "s-role": "auditor"}
    )
    assert refused.status_code == 403
    assert not ServiceAccount.objects.filter(name="Sneaky").exists()
