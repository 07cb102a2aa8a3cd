"""Writes to a model's documentation: the free-text and listed answers a card cites."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.registry.constants import HTI1_DEMOGRAPHIC_VARIABLES
from apps.registry.models import AIModel
from apps.reports.constants import (
    DATA_ORIGINS,
    DOCUMENTATION_EXPLANATION_MAX_CHARS,
    DOCUMENTATION_FIELDS,
    DOCUMENTATION_ITEM_MAX_CHARS,
    DOCUMENTATION_MAX_CHARS,
    DOCUMENTATION_MAX_ITEMS,
    DOCUMENTATION_TEXT_MAX_CHARS,
    LIST_DOCUMENTATION_FIELDS,
    NUMBER_DOCUMENTATION_FIELDS,
    OBJECT_DOCUMENTATION_FIELDS,
    OUTPUT_TYPES,
    TEXT_MAP_DOCUMENTATION_FIELDS,
)
from apps.reports.document import neutralise
from apps.reports.models import ModelDocumentation


def _clean_value(key: str, value: Any) -> Any:
    value = neutralise(value)
    _check_length(key, value)
    if key in LIST_DOCUMENTATION_FIELDS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError({key: ["Must be a list of strings."]})
        if key == "demographic_input_features":
            unknown = sorted(set(value) - set(HTI1_DEMOGRAPHIC_VARIABLES))
            known = sorted(HTI1_DEMOGRAPHIC_VARIABLES)
            if unknown:
                raise ValidationError({key: [f"Unknown variables {unknown}; use {known}."]})
        return [v.strip() for v in value if v.strip()]
    if key in TEXT_MAP_DOCUMENTATION_FIELDS:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValidationError({key: ["Must map contradiction ids to explanations (text)."]})
        return {k.strip(): v.strip() for k, v in value.items() if v.strip()}
    if key in OBJECT_DOCUMENTATION_FIELDS:
        if not isinstance(value, dict) or not all(v in DATA_ORIGINS for v in value.values()):
            raise ValidationError(
                {key: [f"Must map suite names to one of {sorted(DATA_ORIGINS)}."]}
            )
        return {str(k): v for k, v in value.items()}
    if key in NUMBER_DOCUMENTATION_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValidationError({key: ["Must be a non-negative number."]})
        return value
    if not isinstance(value, str):
        raise ValidationError({key: ["Must be text."]})
    if key == "output_type" and value.strip() not in OUTPUT_TYPES:
        raise ValidationError({key: [f"Must be one of {', '.join(OUTPUT_TYPES)}."]})
    return value.strip()


def _check_length(key: str, value: Any) -> None:
    """Documented limits (README, constants.py): long text makes cards nobody reads."""
    if isinstance(value, str):
        limit = DOCUMENTATION_MAX_CHARS.get(key, DOCUMENTATION_TEXT_MAX_CHARS)
        if len(value) > limit:
            raise ValidationError({key: [f"At most {limit:,} characters (got {len(value):,})."]})
        return
    if not isinstance(value, list | dict):
        return
    if len(value) > DOCUMENTATION_MAX_ITEMS:
        raise ValidationError({key: [f"At most {DOCUMENTATION_MAX_ITEMS} entries."]})
    pairs = value.items() if isinstance(value, dict) else ((v, "") for v in value)
    for name, text in pairs:
        if isinstance(name, str) and len(name) > DOCUMENTATION_ITEM_MAX_CHARS:
            raise ValidationError(
                {key: [f"Each entry at most {DOCUMENTATION_ITEM_MAX_CHARS} characters."]}
            )
        if isinstance(text, str) and len(text) > DOCUMENTATION_EXPLANATION_MAX_CHARS:
            raise ValidationError(
                {key: [f"Each value at most {DOCUMENTATION_EXPLANATION_MAX_CHARS:,} characters."]}
            )


@transaction.atomic
def model_documentation_update(
    *, model: AIModel, values: dict[str, Any], user: Any = None
) -> ModelDocumentation:
    """Merge `values` into the model's documentation; null or "" removes a field.

    An empty list is an answer, not a removal: no demographic input features at all.
    """
    unknown = sorted(set(values) - set(DOCUMENTATION_FIELDS))
    if unknown:
        raise ValidationError({"values": [f"Unknown documentation fields: {', '.join(unknown)}."]})
    doc, _ = ModelDocumentation.objects.select_for_update().get_or_create(model=model)
    merged = dict(doc.values)
    for key, value in values.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = _clean_value(key, value)
    if merged != doc.values:
        doc.values = merged
        doc.revision += 1
        doc.updated_at = timezone.now()
        doc.updated_by = user if getattr(user, "pk", None) else None
        doc.save()
    return doc
