from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.accounts.models import (
            ApiToken,
            Invitation,
            Membership,
            Organization,
            ServiceAccount,
            User,
        )
        from apps.audit.services import register_audited, user_organization_ids

        register_audited(Organization)
        register_audited(Membership)
        register_audited(ServiceAccount)
        register_audited(Invitation)
        # last_login changes at every login, which is its own audit event.
        register_audited(
            User,
            exclude_fields=["last_login"],
            redact_fields=["password"],
            organizations=user_organization_ids,
        )
        # The token's secret is never stored; its digest and use stamp stay out of the trail.
        register_audited(
            ApiToken,
            exclude_fields=["key_hash", "last_used_at"],
            label=lambda token: f"{token.name} ({token.prefix}…, {token.role})",
        )
