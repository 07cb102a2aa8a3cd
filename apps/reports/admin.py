from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.common.admin import TenantAdmin
from apps.reports.models import ModelCard, ModelDocumentation


@admin.register(ModelCard)
class ModelCardAdmin(TenantAdmin):
    """Read-only: cards are drafted and issued through the API, which renders and audits them."""

    list_display = ["model", "model_version", "profile", "version", "status", "issued_at"]
    list_filter = ["profile", "status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelDocumentation)
class ModelDocumentationAdmin(ModelCardAdmin):
    """Read-only too: edits go through the API, which validates them and bumps the revision."""

    list_display = ["model", "revision", "updated_at", "updated_by"]
    list_filter = []
