"""Account builders: every persona's password, and an API client that sends a token."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create
from tests.factories import PASSWORD

__all__ = ["PASSWORD", "token_client"]


def token_client(personas: Any, role: str) -> tuple[APIClient, ApiToken]:
    """A client authenticated by a new token of the persona's, made through the service."""
    user = personas.user(role)
    issued = api_token_create(organization=personas.org, created_by=user, name="mine")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client, issued.token
