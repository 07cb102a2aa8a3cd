"""Sign-off fixtures: the reports' model world (a version in validation with passing runs).

The world, the card fixtures and token_client are in tests/builders/."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.builders.accounts import PASSWORD
from tests.builders.reports import World, make_world


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
