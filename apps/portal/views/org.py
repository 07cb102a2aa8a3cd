"""Organisation admin (admins only, as in the API): members and their roles, service accounts
(named non-persons that hold tokens), the organisation's API tokens, and its schedules."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts import services as accounts
from apps.accounts.models import (
    ApiToken,
    Membership,
    Organization,
    Role,
    ServiceAccount,
    User,
)
from apps.common.tenancy import scope
from apps.evaluations.models import Schedule
from apps.portal import access
from apps.portal.forms import (
    MemberForm,
    OrgTokenForm,
    RoleForm,
    ServiceAccountForm,
    add_service_errors,
)


def _admin_org(request: HttpRequest) -> Organization:
    org = access.current_organization(request)
    assert org is not None
    access.require(request, "admin", org.pk)
    return org


def _bound(request: HttpRequest, name: str) -> Any:
    return request.POST if request.POST.get("form") == name else None


def _add_member(request: HttpRequest, org: Organization, form: MemberForm) -> bool:
    user = User.objects.filter(username=form.cleaned_data["username"]).first()
    if user is None:
        form.add_error("username", "No user with this username.")
        return False
    try:
        accounts.membership_create(organization=org, user=user, role=form.cleaned_data["role"])
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False
    messages.success(request, f"{user.username} is now a member.")
    return True


def _add_service(request: HttpRequest, org: Organization, form: ServiceAccountForm) -> bool:
    try:
        account = accounts.service_account_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False
    messages.success(request, f"Service account “{account.name}” is created; give it a token.")
    return True


def _create_token(
    request: HttpRequest, org: Organization, form: OrgTokenForm, services: Any
) -> str | None:
    """The new token's secret (shown once), or None with the errors on the form."""
    day = form.cleaned_data["expires_at"]
    holder_id = form.cleaned_data.get("holder")
    holder = next((s.user for s in services if str(s.user_id) == holder_id), None)
    try:
        issued = accounts.api_token_create(
            organization=org,
            created_by=request.user,  # type: ignore[arg-type]
            holder=holder,
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            expires_at=timezone.make_aware(datetime.combine(day, time(23, 59, 59))),
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None
    return issued.secret


@access.member_required
def org_admin(request: HttpRequest) -> HttpResponse:
    org = _admin_org(request)
    actor = access.actor(request)
    services = list(
        scope(ServiceAccount.objects.select_related("user", "created_by"), actor).filter(
            organization=org
        )
    )
    member_form = MemberForm(_bound(request, "member"), prefix="m")
    service_form = ServiceAccountForm(_bound(request, "service"), prefix="s")
    token_form = OrgTokenForm(_bound(request, "token"), prefix="t", services=services)
    secret = None
    if request.method == "POST":
        member_ok = member_form.is_bound and member_form.is_valid()
        if member_ok and _add_member(request, org, member_form):
            return redirect("portal:org")
        service_ok = service_form.is_bound and service_form.is_valid()
        if service_ok and _add_service(request, org, service_form):
            return redirect("portal:org")
        if token_form.is_bound and token_form.is_valid():
            secret = _create_token(request, org, token_form, services)
            if secret:
                token_form = OrgTokenForm(prefix="t", services=services)
    roles = dict(
        Membership.objects.filter(
            organization=org, user__in=[s.user for s in services]
        ).values_list("user_id", "role")
    )
    context = {
        "members": scope(Membership.objects.select_related("user"), actor)
        .filter(organization=org)
        .exclude(user__service_account__isnull=False),
        "services": [
            {"account": s, "role": Role(roles[s.user_id]).label if s.user_id in roles else ""}
            for s in services
        ],
        "tokens": scope(ApiToken.objects.select_related("created_by", "holder"), actor).filter(
            organization=org
        ),
        "schedules": scope(Schedule.objects.select_related("suite", "model"), actor).filter(
            organization=org
        ),
        "member_form": member_form,
        "service_form": service_form,
        "token_form": token_form,
        "role_form": RoleForm(),
        "secret": secret,
    }
    errors = member_form.errors or service_form.errors or token_form.errors
    response = render(request, "portal/org.html", context, status=400 if errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@access.member_required
def member_role(request: HttpRequest, pk: int) -> HttpResponseBase:
    org = _admin_org(request)
    membership = get_object_or_404(Membership.objects.filter(organization=org), pk=pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            if request.POST.get("remove"):
                accounts.membership_delete(membership=membership)
                messages.success(request, f"{membership.user.username} is no longer a member.")
            else:
                accounts.membership_update(membership=membership, role=form.cleaned_data["role"])
                messages.success(
                    request, f"{membership.user.username} is now {membership.get_role_display()}."
                )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("portal:org")


@require_POST
@access.member_required
def org_token_revoke(request: HttpRequest, pk: int) -> HttpResponseBase:
    org = _admin_org(request)
    token = get_object_or_404(ApiToken.objects.filter(organization=org), pk=pk)
    accounts.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” is revoked.")
    return redirect("portal:org")
