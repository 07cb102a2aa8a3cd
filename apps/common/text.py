"""Free text as it is stored: without Unicode bidirectional controls.

Embeddings, overrides, isolates and marks (U+202A-E, U+2066-9, U+200E/F, U+061C) in a name or
a description can make a card, a page or an export show text reversed or reordered (the
"Trojan Source" trick); no field of ours needs them, so they are removed at input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BIDI_CONTROLS = dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def strip_bidi(text: str) -> str:
    """The text without Unicode bidirectional control characters."""
    return text.translate(BIDI_CONTROLS)


def strip_bidi_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping with every string value (and strings in lists) cleaned."""
    return {key: _clean(value) for key, value in fields.items()}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_bidi(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value
