"""Who the portal user is, which organisation they are looking at, and what they may change.

The role sets are the API's own (imported from each app's `apis` module), so a control is shown
exactly when the API would accept the write, and every portal write is checked again here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponseBase

from apps.accounts.models import Organization, Role
from apps.audit.selectors import audit_reader_organization_ids
from apps.common.tenancy import Actor, actor_for_request, org_id_of
from apps.evaluations.apis import DEFINERS, RUNNERS
from apps.registry.apis import WRITERS
from apps.reports.apis import DRAFTERS, ISSUERS
from apps.reports.comparison_apis import CREATORS as COMPARERS
from apps.signoffs.apis.preferences import ORGANISERS
from apps.signoffs.apis.signoffs import GATEKEEPERS
from apps.signoffs.constants import JUDGE_ROLES, SIGNER_ROLES

ORG_SESSION_KEY = "portal_org"
ADMINS = (Role.ADMIN,)

# What each control needs, by the API's rules: name -> roles.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "register": tuple(WRITERS),  # models, versions, datasets, dataset files
    "run": tuple(RUNNERS),  # start and cancel runs
    "define": tuple(DEFINERS),  # suites, schedules, drift acknowledgements
    "draft": tuple(DRAFTERS),  # draft model cards
    "issue": tuple(ISSUERS),  # issue cards, edit model documentation
    "admin": ADMINS,  # members, organisation tokens
    "sign": tuple(SIGNER_ROLES),  # sign and withdraw signatures (password re-entered)
    "advance": tuple(GATEKEEPERS),  # move a model version through its stage gate
    "organise": tuple(ORGANISERS),  # create, close and export preference studies
    "judge": tuple(JUDGE_ROLES),  # judge preference pairs
    "compare": tuple(COMPARERS),  # issue comparison reports (alignment evidence)
}


def actor(request: HttpRequest) -> Actor:
    return actor_for_request(request)


def current_organization(request: HttpRequest) -> Organization | None:
    """The organisation the user is looking at: chosen in the header, else their first."""
    org_ids = actor(request).org_ids
    if not org_ids:
        return None
    chosen = request.session.get(ORG_SESSION_KEY)
    org_id = chosen if chosen in org_ids else org_ids[0]
    cached = getattr(request, "_portal_org", None)
    if cached is None or cached.pk != org_id:
        cached = Organization.objects.get(pk=org_id)
        request._portal_org = cached  # type: ignore[attr-defined]
    return cached


def role_in(request: HttpRequest, org_id: int | None) -> str | None:
    return actor(request).role_in(org_id)


def can(request: HttpRequest, permission: str, obj: models.Model | int | None = None) -> bool:
    """May the user do `permission` in the object's organisation (or the current one)?"""
    if isinstance(obj, models.Model):
        org_id: int | None = org_id_of(obj)
    elif isinstance(obj, int):
        org_id = obj
    else:
        org = current_organization(request)
        org_id = org.pk if org else None
    return actor(request).has_role(org_id, PERMISSIONS[permission])


def require(request: HttpRequest, permission: str, obj: models.Model | int | None = None) -> None:
    """Refuse (403, audited by the audit middleware) a write the API would refuse too."""
    if not can(request, permission, obj):
        raise PermissionDenied("Your role in this organisation does not allow this action.")


def can_read_audit(request: HttpRequest, org_id: int) -> bool:
    return org_id in audit_reader_organization_ids(actor(request))


def member_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in and a member of at least one organisation."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not actor(request).org_ids:
            raise PermissionDenied("You are not a member of any organisation yet.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def permissions_for(request: HttpRequest, obj: models.Model | int | None = None) -> dict[str, bool]:
    return {name: can(request, name, obj) for name in PERMISSIONS}


def roles_label(roles: Iterable[str]) -> str:
    labels = dict(Role.choices)
    return ", ".join(str(labels[r]) for r in roles)
