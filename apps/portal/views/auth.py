"""Sign in and out, the organisation switch, and each user's own API tokens."""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.accounts import services as accounts
from apps.accounts.models import ApiToken
from apps.common.tenancy import scope
from apps.portal import access
from apps.portal.forms import TokenForm, add_service_errors


def home(request: HttpRequest) -> HttpResponseBase:
    return redirect("portal:dashboard" if request.user.is_authenticated else "portal:signin")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL)


def signin(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_next_url(request))
    form = AuthenticationForm(request, data=request.POST or None, label_suffix="")
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect(_next_url(request))
    context = {
        "form": form,
        "next": _next_url(request),
        "idle_minutes": max(1, round(settings.PORTAL_IDLE_SECONDS / 60)),
    }
    return render(request, "portal/signin.html", context, status=400 if form.errors else 200)


@require_POST
def signout(request: HttpRequest) -> HttpResponseBase:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("portal:signin")


@require_POST
@access.member_required
def switch_org(request: HttpRequest) -> HttpResponseBase:
    try:
        org_id = int(request.POST.get("organization", ""))
    except ValueError:
        org_id = -1
    if org_id in access.actor(request).org_ids:
        request.session[access.ORG_SESSION_KEY] = org_id
    return redirect("portal:dashboard")


def _my_tokens(request: HttpRequest) -> list[ApiToken]:
    org = access.current_organization(request)
    tokens = scope(ApiToken.objects.all(), access.actor(request))
    return list(tokens.filter(created_by_id=request.user.pk, organization=org))


@access.member_required
def tokens(request: HttpRequest) -> HttpResponse:
    """Create (shown once) and revoke one's own tokens, in one's own current role."""
    org = access.current_organization(request)
    assert org is not None  # member_required
    role = access.role_in(request, org.pk)
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["expires_at"]
        expires = timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
        try:
            issued = accounts.api_token_create(
                organization=org,
                created_by=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                role=str(role),
                expires_at=expires,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            secret = issued.secret
            form = TokenForm()
    context = {"form": form, "tokens": _my_tokens(request), "secret": secret}
    response = render(request, "portal/tokens.html", context)
    response["Cache-Control"] = "no-store"  # the page may hold a secret shown once
    return response


@require_POST
@access.member_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponseBase:
    token = get_object_or_404(
        scope(ApiToken.objects.all(), access.actor(request)), pk=pk, created_by_id=request.user.pk
    )
    accounts.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” is revoked.")
    return redirect("portal:tokens")
