"""Where to fill a missing card field, in the words of the portal and the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


# Where to fill things, in the words of the portal and the API.
DOCUMENTATION = "Model cards → documentation → {} (PATCH /api/v1/model-documentation/<model id>/)"


def documentation(key: str) -> str:
    return DOCUMENTATION.format(key)


def model(field: str) -> str:
    return f"Registry → model → {field} (PATCH /api/v1/models/<id>/)"


def version(field: str) -> str:
    return f"Registry → model version → {field} (PATCH /api/v1/model-versions/<id>/)"
