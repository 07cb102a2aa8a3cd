"""Tenant scoping: the one place that decides which organisations' data a caller may see.

Views, admin and selectors call `scope()`; none filters by organisation by hand. Each tenant
model names the path to its organisation in `TENANT_FIELD`.

This is the ground floor: it imports no domain app. Who holds which role comes from the
objects themselves: the user model's `organization_roles()` (and its `memberships`, for the
admin's user choices), and an API token (DRF's `request.auth`) of the `Credential` shape; the
tenant model (the organisation) is named by the CAREALIGN_TENANT_MODEL setting, as Django
names the user model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from django.apps import apps
from django.conf import settings
from django.db import models
from django.http import HttpRequest

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or an API token acting with its own role."""

    user: Any = None
    token: Any = None
    roles: Mapping[int, str] = field(default_factory=dict)  # organisation id -> role

    @property
    def org_ids(self) -> list[int]:
        return sorted(self.roles)

    def role_in(self, org_id: int | None) -> str | None:
        return self.roles.get(org_id) if org_id is not None else None

    def has_role(self, org_id: int | None, roles: Iterable[str]) -> bool:
        return self.role_in(org_id) in set(roles)

    @property
    def label(self) -> str:
        # A token's actions are its holder's: the holder is named first, the token after.
        if self.token is not None and self.user is not None:
            return f"user:{self.user.username} (token {self.token.prefix})"
        if self.token is not None:
            return f"token:{self.token.prefix}"
        if self.user is not None:
            return f"user:{self.user.username}"
        return "system"


SYSTEM = Actor()


@runtime_checkable
class Credential(Protocol):
    """An API token as authentication leaves it on `request.auth`: it acts for its holder, in
    one organisation, with its own role (apps.accounts.models.ApiToken)."""

    holder: Any
    organization_id: int
    role: str
    prefix: str


def tenant_model() -> type[models.Model]:
    """The organisation model (settings.CAREALIGN_TENANT_MODEL, "app_label.Model")."""
    return apps.get_model(settings.CAREALIGN_TENANT_MODEL)


def actor_for_user(user: Any) -> Actor:
    if user is None or not user.is_authenticated:
        return Actor()
    return Actor(user=user, roles=user.organization_roles())


def actor_for_request(request: HttpRequest) -> Actor:
    """The actor of a request, computed once per request."""
    cached = getattr(request, "_carealign_actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    auth = getattr(request, "auth", None)
    if isinstance(auth, Credential):
        actor = Actor(user=auth.holder, token=auth, roles={auth.organization_id: auth.role})
    else:
        actor = actor_for_user(getattr(request, "user", None))
    request._carealign_actor = actor  # type: ignore[attr-defined]
    return actor


def tenant_field(model: type[models.Model]) -> str:
    try:
        return str(model.TENANT_FIELD)  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError(f"{model.__name__} has no TENANT_FIELD: it is not tenant data") from None


def scope(queryset: models.QuerySet[M], actor: Actor) -> models.QuerySet[M]:
    """Restrict a queryset of tenant data to the organisations the actor belongs to."""
    return queryset.filter(**{f"{tenant_field(queryset.model)}__in": actor.org_ids})


def org_id_of(obj: models.Model) -> int | None:
    """The organisation id a tenant object belongs to, following its TENANT_FIELD path."""
    path = tenant_field(type(obj))
    if path == "id":  # the organisation itself
        return int(obj.pk)
    target: Any = obj
    parts = path.split("__")
    for part in parts[:-1]:
        target = getattr(target, part)
    value = getattr(target, f"{parts[-1]}_id")
    return int(value) if value is not None else None
