"""Organisation admin (admins only, as in the API): members and their roles, the
organisation's API tokens, and its schedules."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts import services as accounts
from apps.accounts.models import ApiToken, Membership, Organization, User
from apps.common.tenancy import scope
from apps.evaluations.models import Schedule
from apps.portal import access
from apps.portal.forms import MemberForm, OrgTokenForm, RoleForm, add_service_errors


def _admin_org(request: HttpRequest) -> Organization:
    org = access.current_organization(request)
    assert org is not None
    access.require(request, "admin", org.pk)
    return org


@access.member_required
def org_admin(request: HttpRequest) -> HttpResponse:
    org = _admin_org(request)
    member_form = MemberForm(
        request.POST if request.POST.get("form") == "member" else None, prefix="m"
    )
    token_form = OrgTokenForm(
        request.POST if request.POST.get("form") == "token" else None, prefix="t"
    )
    secret = None
    if request.method == "POST" and member_form.is_bound and member_form.is_valid():
        user = User.objects.filter(username=member_form.cleaned_data["username"]).first()
        if user is None:
            member_form.add_error("username", "No user with this username.")
        else:
            try:
                accounts.membership_create(
                    organization=org, user=user, role=member_form.cleaned_data["role"]
                )
            except ValidationError as exc:
                add_service_errors(member_form, exc)
            else:
                messages.success(request, f"{user.username} is now a member.")
                return redirect("portal:org")
    if request.method == "POST" and token_form.is_bound and token_form.is_valid():
        day = token_form.cleaned_data["expires_at"]
        try:
            issued = accounts.api_token_create(
                organization=org,
                created_by=request.user,  # type: ignore[arg-type]
                name=token_form.cleaned_data["name"],
                role=token_form.cleaned_data["role"],
                expires_at=timezone.make_aware(datetime.combine(day, time(23, 59, 59))),
            )
        except ValidationError as exc:
            add_service_errors(token_form, exc)
        else:
            secret = issued.secret
            token_form = OrgTokenForm(prefix="t")
    actor = access.actor(request)
    context = {
        "members": scope(Membership.objects.select_related("user"), actor).filter(organization=org),
        "tokens": scope(ApiToken.objects.select_related("created_by"), actor).filter(
            organization=org
        ),
        "schedules": scope(Schedule.objects.select_related("suite", "model"), actor).filter(
            organization=org
        ),
        "member_form": member_form,
        "token_form": token_form,
        "role_form": RoleForm(),
        "secret": secret,
    }
    response = render(request, "portal/org.html", context)
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
