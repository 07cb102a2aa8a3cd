"""The card document as JSON bytes, validated against the committed, versioned JSON Schema."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema

from apps.reports.constants import SCHEMA_PATH


@functools.cache
def schema() -> dict[str, Any]:
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def validate(document: dict[str, Any]) -> None:
    """Raise ValueError naming the first place where the document breaks the schema."""
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ValueError(f"Card document breaks {SCHEMA_PATH.name} at {where}: {error.message}")


def render(document: dict[str, Any]) -> bytes:
    """The JSON file of a card: validated, UTF-8, stable key order (so stable bytes)."""
    validate(document)
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
