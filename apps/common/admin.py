"""Django admin scoped like the API: staff see only their organisations' data."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.models import Membership, Role
from apps.common.tenancy import Actor, actor_for_user, org_id_of, scope

ADMIN_WRITERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)


def writer_actor(request: HttpRequest) -> Actor:
    """The request's actor, keeping only the organisations where it may write in the admin."""
    actor = actor_for_user(request.user)
    roles = {org: role for org, role in actor.roles.items() if role in ADMIN_WRITERS}
    return Actor(user=actor.user, roles=roles)


def users_visible_to(actor: Actor) -> QuerySet[Any]:
    """Users who share an organisation with the actor."""
    members = scope(Membership.objects.all(), actor).values("user_id")
    return get_user_model().objects.filter(pk__in=members)


class TenantChoicesMixin:
    """Foreign-key choices offer only the organisations (and their rows and people) that the
    staff member may write to, so no form can attach a row to another organisation."""

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if not request.user.is_superuser and "queryset" not in kwargs:
            related = db_field.related_model
            if hasattr(related, "TENANT_FIELD"):
                kwargs["queryset"] = scope(related._default_manager.all(), writer_actor(request))
            elif related is get_user_model():
                kwargs["queryset"] = users_visible_to(actor_for_user(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class TenantAdmin(TenantChoicesMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Superusers (platform operators) see everything; staff see their organisations only.

    Django's model permissions still apply; on top of them, changing a row needs the admin or
    compliance officer role in its organisation.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return scope(qs, actor_for_user(request.user))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if not super().has_add_permission(request, *args):
            return False
        return request.user.is_superuser or bool(writer_actor(request).roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        if request.user.is_superuser or obj is None:
            return True
        return actor_for_user(request.user).has_role(org_id_of(obj), ADMIN_WRITERS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.has_change_permission(
            request, obj
        )


class TenantTabularInline(TenantChoicesMixin, admin.TabularInline):  # type: ignore[type-arg]
    """An inline whose foreign-key choices are scoped like TenantAdmin's."""
