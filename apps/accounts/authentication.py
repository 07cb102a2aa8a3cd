"""Bearer-token authentication for automation: `Authorization: Bearer ca_<prefix>_<secret>`."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.accounts.models import ApiToken

TOKEN_PREFIX = "ca_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme not in (self.keyword, "Token") or not raw.startswith(TOKEN_PREFIX):
            return None
        token = (
            ApiToken.objects.select_related("created_by", "organization")
            .filter(key_hash=hash_token(raw.strip()))
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API token was revoked.")
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API token has expired; create a new one.")
        if not token.created_by.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API token is deactivated.")
        # Coarse last-use stamp: one write per token per minute at most.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.created_by, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
