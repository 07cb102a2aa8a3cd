"""Med-HALT reasoning CSVs: the mcq, nota, fct and fake tests."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from typing import Any, cast

from worker.engine.readers.errors import _Loc
from worker.engine.readers.fields import (
    LETTERS,
    _generated_id,
    _integer,
    _is_blank,
    _kind,
    _optional_text,
    _public_options,
    _text,
)
from worker.engine.readers.records import _csv_records
from worker.engine.types import ABSTAIN_TEXTS, Item, Task

_MAX_OPTIONS_TEXT = 1_000_000


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".")


_ABSTAIN = {_norm(text) for text in ABSTAIN_TEXTS}


_NOTA = _norm("None of the above")


def _parse_dictish(value: Any, loc: _Loc, field: str) -> Any:
    if not isinstance(value, str):
        return value
    if len(value) > _MAX_OPTIONS_TEXT:
        raise loc.error("invalid_value", "is too long to be a list of options", field)
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise loc.error(
            "invalid_value", "must be a JSON or Python dict of options, e.g. {'0': '...'}", field
        ) from None


def _medhalt_options(value: Any, loc: _Loc) -> tuple[dict[str, str], str | None]:
    """Options keyed "0".."n" (or letters); returns them and any "correct answer" entry."""
    parsed = _parse_dictish(value, loc, "options")
    if isinstance(parsed, list):
        parsed = {str(index): text for index, text in enumerate(parsed)}
    if not isinstance(parsed, dict):
        raise loc.error(
            "invalid_value", f"must be a dict of options, got {_kind(parsed)}", "options"
        )
    extra: str | None = None
    entries: dict[str, Any] = {}
    for key, text in parsed.items():
        name = str(key).strip()
        if name.replace("_", " ").lower() == "correct answer":
            extra = None if _is_blank(text) else str(text).strip()
        else:
            entries[name] = text
    if all(name.isdigit() for name in entries):
        numbers = sorted(int(name) for name in entries)
        if numbers != list(range(len(numbers))):
            raise loc.error(
                "invalid_value", f"keys must be 0..n without gaps, got {numbers}", "options"
            )
        ordered = [entries[name] for name in sorted(entries, key=int)]
    else:
        ordered = [entries[name] for name in sorted(entries)]
    texts = [None if _is_blank(text) else str(text) for text in ordered]
    return _public_options(dict(zip(LETTERS, texts, strict=False)), loc), extra


def _medhalt_index(
    record: dict[str, Any],
    loc: _Loc,
    options: dict[str, str],
    index_keys: tuple[str, ...],
    text_key: str,
) -> str | None:
    """The letter a Med-HALT row points at, by 0-based index or by option text."""
    for key in index_keys:
        raw = record.get(key)
        if _is_blank(raw):
            continue
        number = _integer(raw)
        if number is None or not 0 <= number < len(options):
            raise loc.error(
                "invalid_value",
                f"must be a 0-based index into the {len(options)} options, got {raw!r}",
                key,
            )
        return LETTERS[number]
    text = record.get(text_key)
    if _is_blank(text):
        return None
    matches = [letter for letter, option in options.items() if _norm(option) == _norm(str(text))]
    if not matches:
        raise loc.error("invalid_value", "does not match any option text", text_key)
    return matches[0]


def _medhalt_item(record: dict[str, Any], loc: _Loc, *, language: str) -> Item:
    question = _text(record, "question", loc)
    if _is_blank(record.get("options")):
        raise loc.error("missing_field", "is required", "options")
    options, listed_answer = _medhalt_options(record["options"], loc)
    gold = _medhalt_index(record, loc, options, ("correct_index", "cop_index"), "correct_answer")
    proposed = _medhalt_index(record, loc, options, ("student_index",), "student_answer")
    metadata: dict[str, Any] = {}
    for key, name in (
        ("dataset", "dataset"),
        ("topic_name", "topic"),
        ("split_type", "split_type"),
        ("year", "year"),
        ("exam_name", "exam_name"),
    ):
        value = _optional_text(record, key, loc)
        if value is not None:
            metadata[name] = value
    if listed_answer is not None:
        metadata["options_correct_answer"] = listed_answer

    task: Task
    if proposed is not None:
        if gold is None:
            raise loc.error(
                "missing_field", "is required for a False Confidence row", "correct_index"
            )
        task = "fct"
    elif gold is None:
        # reasoning_fake: no right answer exists; abstaining is the correct behaviour.
        task = "fake"
        abstain = tuple(k for k, text in options.items() if _norm(text) in _ABSTAIN)
        if not abstain:
            if len(options) == len(LETTERS):
                raise loc.error("invalid_value", "has no room for an abstain option", "options")
            letter = LETTERS[len(options)]
            options = {**options, letter: ABSTAIN_TEXTS[0]}
            metadata["abstain_option_added"] = letter
            abstain = (letter,)
    else:
        task = "nota" if _norm(options[gold]) == _NOTA else "mcq"
    metadata["medhalt_test"] = task
    return Item(
        id=_optional_text(record, "id", loc) or _generated_id("medhalt", loc),
        question=question,
        options=options,
        gold=abstain if task == "fake" else (cast(str, gold),),
        source="medhalt",
        language=language,
        task=task,
        specialty=_optional_text(record, "subject_name", loc),
        proposed=proposed,
        metadata=metadata,
    )


def _read_medhalt(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    rows = _csv_records(file, lambda cell: cell.strip().lower(), required=("question", "options"))
    for loc, row in rows:
        yield loc, _medhalt_item(row, loc, language=language or "en")
