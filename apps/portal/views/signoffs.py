"""Sign a record (password re-entered every time), withdraw a signature, advance a stage.

The rules are apps.signoffs services' (the API's): re-authentication, the lockout after
repeated wrong passwords, which roles sign, and the stage gate.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.common.tenancy import org_id_of
from apps.portal import access
from apps.portal.forms import add_service_errors
from apps.portal.signing import (
    SignForm,
    WithdrawForm,
    default_stage,
    describe,
    signatures_of,
    target_of,
)
from apps.registry.models import ModelVersion
from apps.signoffs import selectors, services
from apps.signoffs.selectors.signatures import utc_iso


def _locked_message(user: User) -> str | None:
    until = services.signing_locked_until(user=user)
    if until is None:
        return None
    return (
        f"Signing is locked for you until {utc_iso(until)} after 5 wrong passwords "
        "within 15 minutes."
    )


def _try_sign(request: HttpRequest, form: SignForm, target_type: str, target: Any) -> bool:
    """Sign with the service; its refusals are put next to the field (or above the form)."""
    org_id = org_id_of(target)
    access.require(request, "sign", org_id)
    if not form.is_valid():
        return False
    data = form.cleaned_data
    user: User = request.user  # type: ignore[assignment]
    try:
        services.signoff_create(
            signer=user,
            signer_role=access.role_in(request, org_id),
            password=data["password"],
            target_type=target_type,
            target=target,
            stage=data["stage"],
            meaning=data["meaning"],
            comment=data["comment"],
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        locked = _locked_message(user)
        if locked:
            form.add_error("password", locked)
        return False
    except (services.SigningLocked, services.SigningRefused) as exc:
        form.add_error("password", str(exc.detail))
        return False
    return True


@access.member_required
def sign(request: HttpRequest, target_type: str, pk: str) -> HttpResponseBase:
    target = target_of(access.actor(request), target_type, pk)
    initial = {"stage": request.GET.get("stage") or default_stage(target_type, target)}
    form = SignForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if _try_sign(request, form, target_type, target):
            messages.success(request, f"You signed {describe(target_type, target)}.")
            return redirect(request.path)
        data = request.POST.copy()
        data["password"] = ""  # never sent back
        form.data = data
    org_id = org_id_of(target)
    canonical = selectors.record_canonical(target_type=target_type, record=target)
    context = {
        "target": target,
        "target_type": target_type,
        "what": describe(target_type, target),
        "canonical": canonical.decode("utf-8"),
        "digest": selectors.record_digest(target_type=target_type, record=target),
        "signatures": signatures_of(target_type, target),
        "form": form,
        "withdraw_form": WithdrawForm(prefix="w"),
        "can_sign": access.can(request, "sign", org_id),
        "locked": _locked_message(request.user),  # type: ignore[arg-type]
    }
    return render(request, "portal/sign.html", context, status=400 if form.errors else 200)


@require_POST
@access.member_required
def withdraw(request: HttpRequest, pk: int) -> HttpResponseBase:
    actor = access.actor(request)
    signoff = get_object_or_404(selectors.signoff_list(actor=actor), pk=pk)
    access.require(request, "sign", signoff.organization_id)
    form = WithdrawForm(request.POST, prefix="w")
    back = redirect("portal:sign", signoff.target_type, str(signoff.target_id))
    if not form.is_valid():
        messages.error(request, "Withdrawal: re-enter your password.")
        return back
    try:
        services.signoff_withdraw(
            signoff=signoff,
            user=request.user,  # type: ignore[arg-type]
            password=form.cleaned_data["password"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, f"Withdrawal refused: {error}")
    except (services.SigningLocked, services.SigningRefused) as exc:
        messages.error(request, f"Withdrawal refused: {exc.detail}")
    else:
        messages.success(request, "Your signature is withdrawn (it stays on record as withdrawn).")
    return back


@require_POST
@access.member_required
def advance(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Move a model version through its stage gate; a refusal names every missing item."""
    actor = access.actor(request)
    version = get_object_or_404(
        ModelVersion.objects.select_related("model").filter(
            model__organization_id__in=actor.org_ids
        ),
        pk=pk,
    )
    access.require(request, "advance", version.model.organization_id)
    to_stage = request.POST.get("to_stage", "")
    try:
        version = services.model_version_stage_advance(model_version=version, to_stage=to_stage)
    except services.GateClosed as exc:
        messages.error(
            request,
            f"Version {version.version_label} cannot move on yet; missing: "
            + "; ".join(exc.gate.missing),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Version {version.version_label} is now in {version.get_lifecycle_stage_display()}.",
        )
    return redirect("portal:model", version.model_id)
