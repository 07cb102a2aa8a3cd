"""Card text from the context: plain values, documentation answers, lists and paragraphs.

Each returns Markdown text, or None when the fact is missing (the field is then marked
missing with its fill hint). Nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.reports.context import CardContext


def text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def documented(ctx: CardContext, key: str) -> str | None:
    value = ctx.documentation.get(key)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or None
    return text(value)


def first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def join(*parts: str | None, sep: str = "\n\n") -> str | None:
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def bullets(lines: Iterable[str]) -> str | None:
    lines = list(lines)
    return "\n".join(f"- {line}" for line in lines) if lines else None


def source_of(version: Any, model_name: str) -> str:
    """How a card names a model version's weights: a hub id and revision, or, for a local
    model, its registry name, version and weights digest (never a path on our server)."""
    if version.source_kind == "hub":
        return str(version.source)
    digest = version.weights_digest
    weights = f"weights sha256 {digest}" if digest else "weights digest not recorded"
    return f"local model {model_name} {version.version_label} ({weights})"
