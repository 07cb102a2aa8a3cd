"""Field values: required and optional text, languages, options, gold letters, context
passages, generated ids, and the hint that names the public format a record looks like."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from worker.engine.readers.errors import _Loc

LETTERS = "ABCDEFGHIJ"


_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


_BLANKS = frozenset({"", "nan", "none", "null"})


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "text", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # NaN, as pandas writes a missing cell
    return isinstance(value, str) and value.strip().lower() in _BLANKS


def _integer(value: Any) -> int | None:
    """An integer from 3, 3.0, "3" or "3.0" (pandas writes integer columns with gaps as
    floats); None when the value is not one."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _text(record: dict[str, Any], key: str, loc: _Loc, *, hint: str = "") -> str:
    """A required text field; integers (ids) are accepted and turned into text."""
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise loc.error("missing_field", f"is required{hint}", field=key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise loc.error("invalid_value", f"must be text, got {_kind(value)}", field=key)
    return value.strip()


def _optional_text(record: dict[str, Any], key: str, loc: _Loc) -> str | None:
    value = record.get(key)
    if _is_blank(value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        raise loc.error("invalid_value", f"must be text, got {_kind(value)}", field=key)
    return value.strip()


def _language(value: str | None, loc: _Loc, default: str, field: str = "language") -> str:
    if value is None:
        return default
    if not _LANGUAGE_RE.match(value):
        raise loc.error(
            "invalid_value", f'must be an ISO 639-1 code such as "en" or "fr", got {value!r}', field
        )
    return value


def _options(value: Any, loc: _Loc, field: str = "options") -> dict[str, str]:
    """Options as letters A.. in order mapped to non-empty, stripped text."""
    if not isinstance(value, dict):
        raise loc.error(
            "invalid_value", f"must be an object mapping letters to text, got {_kind(value)}", field
        )
    keys = list(value)
    expected = LETTERS[: len(keys)]
    if not 2 <= len(keys) <= len(LETTERS) or set(keys) != set(expected):
        got = ", ".join(str(key) for key in keys) or "none"
        raise loc.error(
            "invalid_value",
            f"must map consecutive letters from A (2 to 10 options) to non-empty text; got {got}",
            field,
        )
    options: dict[str, str] = {}
    for letter in expected:
        text = value[letter]
        if not isinstance(text, str) or not text.strip():
            raise loc.error(
                "invalid_value",
                f"must map letters A-{expected[-1]} to non-empty text; option {letter} is "
                f"{'empty' if isinstance(text, str) or text is None else _kind(text)}",
                field,
            )
        options[letter] = text.strip()
    return options


def _public_options(value: Any, loc: _Loc, field: str = "options") -> dict[str, str]:
    """Public files: also accept [{"key", "value"}] or a plain list; drop trailing blanks."""
    if isinstance(value, list):
        if all(isinstance(entry, dict) and "key" in entry for entry in value):
            value = {str(entry["key"]): entry.get("value") for entry in value}
        else:
            value = dict(zip(LETTERS, value, strict=False))
    if isinstance(value, dict):
        entries = list(value.items())
        while entries and _is_blank(entries[-1][1]):
            entries.pop()
        value = {str(key).strip(): text for key, text in entries}
    return _options(value, loc, field)


def _gold(value: Any, options: dict[str, str], loc: _Loc, field: str = "gold") -> tuple[str, ...]:
    if isinstance(value, str):
        letters = [value.strip()]
    elif isinstance(value, list) and all(isinstance(letter, str) for letter in value):
        letters = [letter.strip() for letter in value]
    else:
        raise loc.error(
            "invalid_value", f"must be a letter or a list of letters, got {_kind(value)}", field
        )
    if not letters or not all(letters):
        raise loc.error("invalid_value", "must name at least one option letter", field)
    allowed = ", ".join(options)
    for letter in letters:
        if letter not in options:
            raise loc.error(
                "invalid_value", f"{letter!r} is not one of the option letters {allowed}", field
            )
    if len(set(letters)) != len(letters):
        raise loc.error("invalid_value", "repeats a letter", field)
    return tuple(sorted(letters))


def _shape_hint(keys: Iterable[str]) -> str:
    """Point at the right public format when a canonical file is really a public one."""
    names = set(keys)
    if {"opa", "cop"} <= names:
        guess = "medmcqa"
    elif "final_decision" in names or "QUESTION" in names:
        guess = "pubmedqa"
    elif "answer_idx" in names:
        guess = "mmedbench" if "rationale" in names else "medqa"
    elif {"options", "split_type"} <= names or {"options", "exam_name"} <= names:
        guess = "medhalt"
    else:
        return ""
    return f" (the record looks like {guess}; give the format {guess}: --format {guess})"


def _context(value: Any, loc: _Loc, field: str = "context") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(passage, str) for passage in value):
        raise loc.error("invalid_value", f"must be a list of passages, got {_kind(value)}", field)
    return tuple(passage.strip() for passage in value if passage.strip())


def _generated_id(source: str, loc: _Loc) -> str:
    """`<source>-<n>` for files without ids: n is the JSONL line, else the 1-based position."""
    number = (loc.line or 0) if loc.where is None else (loc.line or 0) + 1
    return f"{source}-{loc.split}-{number}" if loc.split else f"{source}-{number}"
