"""Django admin with the API's permissions: the same roles for the same operations.

Each admin names the API view whose declared roles it applies (`api`). Staff may do in the
admin exactly what their role lets them do through that API: an operation the API does not
offer (renaming an organisation, changing a token's role) is not offered here either, and
each form checks every model rule and database constraint before it saves, so the admin
refuses what the API refuses. Superusers (platform operators) are not limited by roles.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.common.api import roles_for_action
from apps.common.roles import Role
from apps.common.tenancy import Actor, actor_for_request, org_id_of, scope

ADMIN_WRITERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)
# Admin operation -> (the API action that does the same, its HTTP method).
OPERATIONS = {
    "view": ("retrieve", "GET"),
    "add": ("create", "POST"),
    "change": ("partial_update", "PATCH"),
    "delete": ("destroy", "DELETE"),
}


def roles_for(api: Any, operation: str) -> tuple[str, ...]:
    """The roles the API gives this operation; none when the API does not offer it."""
    action, method = OPERATIONS[operation]
    if api is None:
        return tuple(Role.values) if operation == "view" else ADMIN_WRITERS
    if not hasattr(api, action):
        return ()
    return roles_for_action(api, action, method)


def actor_with(request: HttpRequest, roles: tuple[str, ...]) -> Actor:
    """The request's actor, keeping only the organisations where it holds one of `roles`.

    Resolved once per request (and cached on it), before any change: the audit events of
    the change record the role the actor held when they made it.
    """
    actor = actor_for_request(request)
    kept = {org: role for org, role in actor.roles.items() if role in roles}
    return Actor(user=actor.user, roles=kept)


def writer_actor(request: HttpRequest) -> Actor:
    """The request's actor, keeping only the organisations where it may write in the admin."""
    return actor_with(request, ADMIN_WRITERS)


def users_visible_to(actor: Actor) -> QuerySet[Any]:
    """Users who share an organisation with the actor (through the user model's
    `memberships`, as apps.accounts defines them: this module imports no domain app)."""
    users = get_user_model()._default_manager
    members = users.filter(memberships__organization_id__in=actor.org_ids).values("pk")
    return users.filter(pk__in=members)


class RulesForm(forms.ModelForm):  # type: ignore[type-arg]
    """Validates every model constraint, also on fields the admin shows read-only (which a
    plain ModelForm leaves out), so a save never reaches the database to fail there."""

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # ModelForm's hook, untyped in stubs
        failed = set(self.errors)
        try:
            self.instance.validate_constraints(exclude=failed)
            self.instance.validate_unique(exclude=failed)
        except ValidationError as exc:
            # Keep only what ModelForm's own checks did not already report.
            known = {field: set(errors) for field, errors in self.errors.items()}
            fresh = {
                field: [m for m in messages if m not in known.get(field, set())]
                for field, messages in exc.message_dict.items()
            }
            fresh = {field: messages for field, messages in fresh.items() if messages}
            if fresh:
                self._update_errors(ValidationError(fresh))  # type: ignore[attr-defined]


class TenantChoicesMixin:
    """Foreign-key choices offer only the organisations (and their rows and people) that the
    staff member may write to, so no form can attach a row to another organisation."""

    api: Any = None

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if not request.user.is_superuser and "queryset" not in kwargs:
            related = db_field.related_model
            writers = actor_with(request, roles_for(self.api, "add") or ADMIN_WRITERS)
            if hasattr(related, "TENANT_FIELD"):
                kwargs["queryset"] = scope(related._default_manager.all(), writers)
            elif related is get_user_model():
                kwargs["queryset"] = users_visible_to(actor_for_request(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class TenantAdmin(TenantChoicesMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Superusers (platform operators) see everything; staff see and do what the API allows.

    Django's model permissions still apply; on top of them each operation needs the role the
    API view named in `api` declares for it, in the organisation of the row.
    """

    form = RulesForm
    # Fields the API never changes after creation: read-only when a row is changed.
    fixed_fields: tuple[str, ...] = ()

    def _allowed(self, request: HttpRequest, operation: str, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        actor = actor_with(request, roles_for(self.api, operation))
        if obj is None:
            return bool(actor.roles)
        allowed = org_id_of(obj) in actor.roles
        if not allowed and request.method == "POST":
            # A refused write is audited on the chain of the organisation it targeted.
            request.audit_organization_id = org_id_of(obj)  # type: ignore[attr-defined]
        return allowed

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return scope(qs, actor_with(request, roles_for(self.api, "view")))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            readonly += [name for name in self.fixed_fields if name not in readonly]
        return readonly

    def get_actions(self, request: HttpRequest) -> Any:
        # "Delete selected" checks the permission once for the whole selection, not per row.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._allowed(request, "view", obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request, *args) and self._allowed(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._allowed(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._allowed(request, "delete", obj)


class TenantTabularInline(TenantChoicesMixin, admin.TabularInline):  # type: ignore[type-arg]
    """An inline whose foreign-key choices are scoped like TenantAdmin's."""

    form = RulesForm
