"""Small display filters for portal templates."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def words(code: Any) -> str:
    """insufficient_data -> insufficient data."""
    return str(code or "").replace("_", " ")


@register.filter
def num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.{int(digits)}f}"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
