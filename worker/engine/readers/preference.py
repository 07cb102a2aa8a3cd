"""JSON Lines of paired answers: preference-study uploads and exported preference datasets.

Two layouts, one object per line, UTF-8:
- pairs (a study's upload): {"prompt", "answer_a", "answer_b"} and an optional "id";
- preferences (an export, for DPO/RLHF): {"prompt", "chosen", "rejected"} and optional
  "reviewer_role", "criteria" ({"chosen": {...}, "rejected": {...}}), "rationale", "study",
  "pair".
Text fields are non-empty strings without NUL characters (the database cannot store them).
"""

from __future__ import annotations

import json
import os
from typing import Any

from worker.engine.readers.errors import DatasetFormatError

LAYOUTS: dict[str, tuple[str, ...]] = {
    "pairs": ("prompt", "answer_a", "answer_b"),
    "preferences": ("prompt", "chosen", "rejected"),
}
MAX_TEXT = 100_000
MAX_DEPTH = 8


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level + 1)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level + 1)
    return level


def _record(raw: str, line: int, file: str, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise DatasetFormatError(
            f"not valid JSON: {message}", file=file, code="invalid_json", line=line
        ) from None
    if not isinstance(data, dict):
        raise DatasetFormatError(
            "each line must be a JSON object", file=file, code="invalid_value", line=line
        )
    if _depth(data) > MAX_DEPTH:
        raise DatasetFormatError(
            f"nested more than {MAX_DEPTH} levels", file=file, code="invalid_value", line=line
        )
    for name in required:
        value = data.get(name)
        if value is None:
            raise DatasetFormatError(
                "missing", file=file, code="missing_field", line=line, field=name
            )
        if not isinstance(value, str) or not value.strip():
            raise DatasetFormatError(
                "must be non-empty text", file=file, code="invalid_value", line=line, field=name
            )
        if "\x00" in value or len(value) > MAX_TEXT:
            raise DatasetFormatError(
                f"must be at most {MAX_TEXT} characters without NUL characters",
                file=file,
                code="invalid_value",
                line=line,
                field=name,
            )
    return data


def read_paired_answers(path: str | os.PathLike[str], *, layout: str) -> list[dict[str, Any]]:
    """Read and validate a file of one layout; errors name the line and the field."""
    file = os.fspath(path)
    required = LAYOUTS[layout]
    try:
        with open(file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except UnicodeDecodeError:
        raise DatasetFormatError("not UTF-8 text", file=file, code="encoding") from None
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    records = [
        _record(raw, number, file, required)
        for number, raw in enumerate(lines, start=1)
        if raw.strip()
    ]
    if not records:
        raise DatasetFormatError("no records", file=file, code="empty")
    return records


def summarize_preferences(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the registry stores about a preference dataset version's content."""
    languages = sorted({str(r["language"]) for r in records if isinstance(r.get("language"), str)})
    return {
        "row_count": len(records),
        "languages": languages or ["und"],  # BCP 47 "undetermined" when no line names one
        "specialties": [],
        "tasks": {"preference": len(records)},
        "demographics": {},
    }
