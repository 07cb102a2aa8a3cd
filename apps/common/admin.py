"""Django admin scoped like the API: staff see only their organisations' data."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.models import Role
from apps.common.tenancy import actor_for_user, org_id_of, scope

ADMIN_WRITERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)


class TenantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Superusers (platform operators) see everything; staff see their organisations only."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return scope(qs, actor_for_user(request.user))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return super().has_change_permission(request)
        return actor_for_user(request.user).has_role(org_id_of(obj), ADMIN_WRITERS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)
