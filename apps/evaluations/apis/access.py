"""Who may write evaluation objects, and looking up a related object the caller may see."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.accounts.models import Role
from apps.common.tenancy import scope

DEFINERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER)
RUNNERS = (Role.ADMIN, Role.COMPLIANCE_OFFICER, Role.MODEL_DEVELOPER)


def visible_related(model: Any, actor: Any, pk: Any, field: str) -> Any:
    obj = scope(model.objects.all(), actor).filter(pk=pk).first()
    if obj is None:
        raise serializers.ValidationError({field: [f"No such {field.replace('_', ' ')}."]})
    return obj
