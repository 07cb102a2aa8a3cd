from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts import selectors, services
from apps.accounts.apis import ApiTokenApi, InvitationApi, MembershipApi, OrganizationApi
from apps.accounts.models import ApiToken, Invitation, Membership, Organization, Role, User
from apps.common.admin import TenantAdmin, actor_with, users_visible_to
from apps.common.tenancy import actor_for_request, org_id_of


@admin.register(User)
class CareAlignUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Staff see the people of their organisations; only platform operators grant privileges."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=users_visible_to(actor_for_request(request)).values("pk"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "is_staff", "groups", "user_permissions"]
        return readonly

    def has_add_permission(self, request: HttpRequest) -> bool:
        # People join an organisation by accepting an invitation, with their own account.
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A password or e-mail change takes over the account in every organisation it is in,
        # so a staff member must be admin in all of them.
        if not super().has_change_permission(request, obj):
            return False
        if request.user.is_superuser or obj is None:
            return True
        actor = actor_for_request(request)
        orgs = set(obj.memberships.values_list("organization_id", flat=True))
        return bool(orgs) and all(actor.has_role(org, [Role.ADMIN]) for org in orgs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.has_change_permission(
            request, obj
        )


@admin.register(Organization)
class OrganizationAdmin(TenantAdmin):
    api = OrganizationApi  # read-only for staff, as in the API
    list_display = ["name", "slug", "kind", "created_at"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    """Admins change roles and remove members, as in the API; people join by invitation."""

    api = MembershipApi
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    fixed_fields = ("user", "organization", "created_at")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)  # staff invite through the API instead

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.role == Role.ADMIN and not obj.other_admins().exists():
            return False  # the organisation's last admin (Membership.clean says the same)
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_delete(membership=obj)


@admin.register(ApiToken)
class ApiTokenAdmin(TenantAdmin):
    """Tokens are listed and revoked by admins; created through the API (the secret is shown
    once there), and never changed: the API has no way to change a token's role either."""

    api = ApiTokenApi
    list_display = ["name", "organization", "role", "prefix", "expires_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at", "created_by", "holder"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request)
        if request.user.is_superuser:
            return tokens
        # The same rows as GET /api/v1/tokens/: an admin's organisations', else one's own.
        return selectors.api_token_visible(
            tokens,
            actor=actor_for_request(request),
            user=request.user,  # type: ignore[arg-type]
        )

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        admins = actor_with(request, (Role.ADMIN,))
        revoked = 0
        for token in queryset:
            if request.user.is_superuser or org_id_of(token) in admins.roles:
                services.api_token_revoke(token=token)
                revoked += 1
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(TenantAdmin):
    """Read here; sent, revoked and answered through the API (the invitee must consent)."""

    api = InvitationApi
    list_display = ["username", "organization", "role", "status", "expires_at"]
    list_filter = ["status", "role"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
