"""Helpers for the audit tests: read a chain, make a few events."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent


@pytest.fixture
def trail() -> Any:
    """Events of one chain (an organisation, or None for the platform), oldest first."""

    def events(organization: Any, **filters: Any) -> list[AuditEvent]:
        org_id = getattr(organization, "pk", organization)
        return list(AuditEvent.objects.filter(organization_id=org_id, **filters).order_by("seq"))

    return events
