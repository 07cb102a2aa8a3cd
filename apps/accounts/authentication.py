"""Bearer-token authentication for automation: `Authorization: Bearer ca_<prefix>_<secret>`."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.accounts.models import ApiToken, Membership, role_covers

TOKEN_PREFIX = "ca_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def check_holder(token: ApiToken) -> None:
    """Refuse a token whose holder is gone, or whose role is now above the holder's.

    Checked on every request, so a demotion takes effect on every token at once.
    """
    if not token.holder.is_active:
        raise exceptions.AuthenticationFailed("The holder of this API token is deactivated.")
    role = (
        Membership.objects.filter(user_id=token.holder_id, organization_id=token.organization_id)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        raise exceptions.AuthenticationFailed(
            "The holder of this API token is no longer a member of its organisation."
        )
    if not role_covers(role, token.role):
        raise exceptions.AuthenticationFailed(
            f"This API token acts as {token.role}, above its holder's current role ({role}); "
            "it no longer works: create a new token."
        )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        # A mistyped token must say so, not fall through to "no credentials were provided".
        raw = raw.strip()
        if not raw.startswith(TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed(
                f"Invalid API token: CareAlign tokens start with {TOKEN_PREFIX!r}."
            )
        token = (
            ApiToken.objects.select_related("holder", "organization")
            .filter(key_hash=hash_token(raw))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API token was revoked.")
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API token has expired; create a new one.")
        check_holder(token)
        # Coarse last-use stamp: one write per token per minute at most.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.holder, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes the bearer token in the OpenAPI schema."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API token (`ca_…`): your own from POST /api/v1/auth/token/, or a "
                "service account's created by an organisation admin."
            ),
        }
