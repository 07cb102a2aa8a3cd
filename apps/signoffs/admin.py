"""Read-only admin views: signatures are made through the API, with the password re-entered."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.common.admin import TenantAdmin
from apps.signoffs.models import PreferenceStudy, SignOff, SignOffWithdrawal, StageRequirement


class ReadOnlyAdmin(TenantAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ["signer_name", "signer_role", "meaning", "stage", "target_type", "signed_at"]
    list_filter = ["meaning", "stage", "target_type"]


@admin.register(SignOffWithdrawal)
class SignOffWithdrawalAdmin(ReadOnlyAdmin):
    list_display = ["signoff", "withdrawn_by_name", "withdrawn_at"]


@admin.register(StageRequirement)
class StageRequirementAdmin(ReadOnlyAdmin):
    list_display = ["organization", "stage", "roles"]


@admin.register(PreferenceStudy)
class PreferenceStudyAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "label_a", "label_b", "created_at", "closed_at"]
