from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_event_list, audit_reader_organization_ids
from apps.common.admin import TenantAdmin
from apps.common.tenancy import actor_for_user


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdmin):
    """Read-only: nobody adds, changes or deletes an event, superusers included."""

    list_display = ["occurred_at", "organization", "seq", "actor", "action", "object_type"]
    list_filter = ["action", "source", "object_type"]
    search_fields = ["actor", "object_label", "object_id", "request_id"]
    ordering = ["-id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEvent._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        if request.user.is_superuser:
            return AuditEvent.objects.select_related("organization")
        return audit_event_list(actor=actor_for_user(request.user)).select_related("organization")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        return bool(audit_reader_organization_ids(actor_for_user(request.user)))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
