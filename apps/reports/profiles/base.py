"""What a profile is: sections of fields, each with its source, where to fill it, and how to
compute it from the card context. Profiles are data; `build_sections` turns one into sections.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apps.reports.constants import GAP_PREFIX

if TYPE_CHECKING:
    from apps.reports.context import CardContext

Value = Callable[["CardContext"], str | None]
Extras = Callable[["CardContext"], tuple[list[dict[str, Any]], list[dict[str, Any]]]]

SOURCES = ("registry", "documentation", "evaluation", "schedule", "signoff", "audit", "platform")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a profile: `value` returns text (Markdown allowed) or None when missing."""

    id: str
    label: str
    reference: str
    source: str
    fill_hint: str
    value: Value
    required: bool = True

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"{self.id}: unknown source {self.source!r}")


@dataclass(frozen=True)
class SectionSpec:
    id: str
    title: str
    reference: str
    fields: tuple[FieldSpec, ...]
    extras: Extras | None = None  # tables and charts of the section


@dataclass(frozen=True)
class Profile:
    key: str
    title: str
    reference: str
    sections: tuple[SectionSpec, ...]
    # Formats besides PDF, JSON and Markdown that this profile is emitted in.
    extra_formats: tuple[str, ...] = field(default=())

    def required_fields(self) -> list[tuple[SectionSpec, FieldSpec]]:
        return [(s, f) for s in self.sections for f in s.fields if f.required]


def build_sections(profile: Profile, ctx: CardContext) -> list[dict[str, Any]]:
    """Compute every field of the profile from the context (no database access)."""
    sections = []
    for spec in profile.sections:
        fields = []
        for f in spec.fields:
            value = f.value(ctx)
            if value is not None and not value.strip():
                value = None
            fields.append(
                {
                    "id": f.id,
                    "label": f.label,
                    "reference": f.reference,
                    "value": value,
                    "required": f.required,
                    "missing": f.required and value is None,
                    "gap": value is not None and value.startswith(GAP_PREFIX),
                    "fill_hint": f.fill_hint,
                    "source": f.source,
                }
            )
        tables, charts = spec.extras(ctx) if spec.extras else ([], [])
        sections.append(
            {
                "id": spec.id,
                "title": spec.title,
                "reference": spec.reference,
                "fields": fields,
                "tables": tables,
                "charts": charts,
            }
        )
    return sections


def completeness(
    sections: list[dict[str, Any]], contradictions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Every required field, present or missing, with where to fill the missing ones; an
    unexplained contradiction between documentation and data blocks issuing too."""
    contradictions = contradictions or []
    required = [(s, f) for s in sections for f in s["fields"] if f["required"]]
    missing = [
        {"section": s["id"], "field": f["id"], "label": f["label"], "fill_hint": f["fill_hint"]}
        for s, f in required
        if f["missing"]
    ]
    # Optional fields left empty and declared gaps: not blocking, but listed for the reader.
    gaps = [
        {"section": s["id"], "field": f["id"], "label": f["label"], "declared": bool(f.get("gap"))}
        for s in sections
        for f in s["fields"]
        if (not f["required"] and f["value"] is None) or f.get("gap")
    ]
    return {
        "complete": not missing and all(x["explained"] for x in contradictions),
        "gaps": gaps,
        "contradictions": contradictions,
        "required_count": len(required),
        "present_count": len(required) - len(missing),
        "missing": missing,
    }
