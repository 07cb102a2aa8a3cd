"""Sign-offs in the portal: which record is signed, its signatures, what waits for me.

Everything is read through apps.signoffs selectors (digests, states, gates) — the API's own.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.http import Http404

from apps.accounts.models import User
from apps.common.tenancy import Actor, scope
from apps.portal.forms import PortalForm
from apps.registry.models import ModelVersion
from apps.signoffs import selectors
from apps.signoffs.apis.signoffs import TARGET_MODELS
from apps.signoffs.constants import MAX_COMMENT, Meaning, Stage, TargetType
from apps.signoffs.models import TARGET_FIELDS, SignOff
from apps.signoffs.selectors.signatures import DigestCache, SignatureState, signature_states


class SignForm(PortalForm):
    meaning = forms.ChoiceField(choices=Meaning.choices, widget=forms.RadioSelect)
    stage = forms.ChoiceField(
        choices=Stage.choices,
        label="Lifecycle stage",
        help_text="The stage this signature counts for.",
    )
    comment = forms.CharField(
        required=False, max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 2})
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-entered for every signature (21 CFR 11.200); never remembered.",
    )


class WithdrawForm(PortalForm):
    reason = forms.CharField(required=False, max_length=MAX_COMMENT)
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def target_of(actor: Actor, target_type: str, pk: str) -> models.Model:
    """The record to sign, within the actor's organisations (404 otherwise)."""
    if target_type not in TargetType.values:
        raise Http404("No such kind of record.")
    model = TARGET_MODELS[TargetType(target_type)]
    try:
        target = scope(model._default_manager.all(), actor).filter(pk=pk).first()
    except (ValueError, TypeError, Exception) as exc:  # a malformed id (e.g. not a UUID)
        raise Http404("No such record.") from exc
    if target is None:
        raise Http404("No such record.")
    return target


def default_stage(target_type: str, target: Any) -> str:
    """The stage a signature most likely counts for: the model version's current stage."""
    if target_type == TargetType.MODEL_VERSION:
        return str(target.lifecycle_stage)
    version = getattr(target, "model_version", None)
    if version is not None:
        return str(version.lifecycle_stage)
    return str(Stage.DATA_CURATION)


def describe(target_type: str, target: Any) -> str:
    label = TargetType(target_type).label
    if target_type == TargetType.EVALUATION_RUN:
        return f"{label} #{target.pk}: {target.suite} on {target.model_version}"
    if target_type == TargetType.MODEL_CARD:
        return (
            f"{label}: {target.model} {target.model_version.version_label} — "
            f"{target.get_profile_display()} v{target.version}"
        )
    return f"{label}: {target}"


def signatures_of(
    target_type: str, target: Any, cache: DigestCache | None = None
) -> list[SignatureState]:
    field = TARGET_FIELDS[TargetType(target_type)]
    qs = SignOff.objects.filter(**{field: target}).select_related(
        *TARGET_FIELDS.values(), "withdrawal", "signer"
    )
    return signature_states(list(qs.order_by("signed_at", "id")), cache)


def waiting_for(*, user: User, role: str | None, organization_id: int) -> list[dict[str, Any]]:
    """Model versions whose current stage needs my role's signature and I have not signed it."""
    if role is None:
        return []
    out = []
    versions = (
        ModelVersion.objects.filter(model__organization_id=organization_id)
        .exclude(lifecycle_stage=Stage.RETIRED)
        .select_related("model")
        .order_by("model__name", "-created_at")
    )
    for version in versions:
        stage = version.lifecycle_stage
        roles = selectors.required_roles(organization_id=organization_id, stage=stage)
        if role not in roles:
            continue
        mine = SignOff.objects.filter(model_version=version, stage=stage, signer=user)
        if any(
            state.current
            for state in signature_states(list(mine.select_related("withdrawal", "model_version")))
        ):
            continue
        out.append({"version": version, "stage": Stage(stage).label})
    return out
