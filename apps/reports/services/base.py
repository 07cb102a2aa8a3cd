"""What every card service shares: the card statuses, the refusals, the audit hook."""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.db import models

from apps.common.tenancy import Actor
from apps.reports.models import ModelCard

Status = ModelCard.Status


class CardIncomplete(Exception):
    """Issuing refused: required fields are missing (listed with where to fill them)."""

    def __init__(self, missing: list[dict[str, Any]]) -> None:
        self.missing = missing
        names = "; ".join(f"{m['label']} ({m['fill_hint']})" for m in missing)
        super().__init__(
            f"The card cannot be issued: {len(missing)} required field(s) missing: {names}"
        )


class CardStateError(Exception):
    """The card is not in a state that allows the operation (e.g. issuing an issued card)."""


class CardFileAltered(Exception):
    """The stored file no longer matches its recorded digest (changed on disk)."""


class CardFileMissing(Exception):
    """The card has no file in this format (not rendered yet, or not this profile's format)."""


def _audit(
    *,
    action: str,
    organization: int | None,
    obj: models.Model | None = None,
    label: str = "",
    changes: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    if not django_apps.is_installed("apps.audit"):
        return
    from apps.audit.services import audit_record

    audit_record(
        action=action,
        organization=organization,
        obj=obj,
        label=label,
        changes=changes or {},
        actor=actor,
    )
