"""Sign-off fixtures: the reports' model world (a version in validation with passing runs)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create
from tests.apps.reports.conftest import World, make_world
from tests.conftest import PASSWORD

__all__ = ["PASSWORD", "World"]


@pytest.fixture
def validation_world(personas: Any) -> World:
    """A model version in validation whose latest run passed every threshold."""
    made = make_world(personas.org)
    made.run()
    return made


@pytest.fixture
def sign(personas: Any) -> Any:
    """Sign through the API as a persona (with their password unless told otherwise)."""

    def make(role: str, target_type: str, target_id: Any, **extra: Any) -> Any:
        client = APIClient()
        client.force_authenticate(personas.user(role))
        body = {
            "target_type": target_type,
            "target_id": str(target_id),
            "stage": "validation",
            "meaning": "approved",
            "password": PASSWORD,
            **extra,
        }
        return client.post("/api/v1/signoffs/", body, format="json")

    return make


def token_client(personas: Any, role: str) -> tuple[APIClient, ApiToken]:
    user = personas.user(role)
    issued = api_token_create(organization=personas.org, created_by=user, name="mine")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client, issued.token


# The reports' fixtures, for the cards that print signatures.
from tests.apps.reports.conftest import draft, fast_pdf, world  # noqa: E402, F401
