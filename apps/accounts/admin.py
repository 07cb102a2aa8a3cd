from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import ApiToken, Membership, Organization, User
from apps.common.admin import TenantAdmin


@admin.register(User)
class CareAlignUserAdmin(UserAdmin):  # type: ignore[type-arg]
    pass


@admin.register(Organization)
class OrganizationAdmin(TenantAdmin):
    list_display = ["name", "slug", "kind", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]


@admin.register(ApiToken)
class ApiTokenAdmin(TenantAdmin):
    list_display = ["name", "organization", "role", "prefix", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    exclude: list[str] = []

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # tokens are created through the API, which shows the secret once
