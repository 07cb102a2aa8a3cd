"""Per-action role declarations for the sign-off endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from apps.common.api import RolePermission


class ActionRolePermission(RolePermission):
    """Roles per action from the view's `action_roles`; otherwise read/write roles as usual."""

    def _roles(self, view: Any, request: Request) -> Any:
        roles = getattr(view, "action_roles", {}).get(getattr(view, "action", None))
        return roles if roles is not None else super()._roles(view, request)
