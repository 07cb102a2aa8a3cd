"""MedMCQA: four options `opa`..`opd` and a `cop` whose base (0 or 1) is decided per file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from worker.engine.readers.errors import _Loc
from worker.engine.readers.fields import (
    _generated_id,
    _integer,
    _is_blank,
    _optional_text,
    _options,
    _text,
)
from worker.engine.readers.records import _iter_json_records
from worker.engine.types import Item


def _cop(value: Any, loc: _Loc) -> int | str:
    if _is_blank(value):
        raise loc.error("missing_field", "is required (the correct option)", "cop")
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in ("A", "B", "C", "D"):
            return text.upper()
        value = text
    number = _integer(value)
    if number is None:
        raise loc.error(
            "invalid_value", f"must be an option number or letter, got {value!r}", "cop"
        )
    return number


def _medmcqa_items(
    records: list[tuple[_Loc, dict[str, Any]]], language: str
) -> Iterator[tuple[_Loc, Item]]:
    cops = [(loc, _cop(record.get("cop"), loc)) for loc, record in records]
    zero = next((loc for loc, cop in cops if cop == 0), None)
    four = next((loc for loc, cop in cops if cop == 4), None)
    if zero is not None and four is not None:
        later = max(zero, four, key=lambda loc: loc.line or 0)
        raise later.error(
            "invalid_value",
            f"mixes 0-based (cop 0 at {zero.place}) and 1-based (cop 4 at {four.place}) "
            "answers in one file",
            "cop",
        )
    base = 0 if zero is not None else 1
    base_source = "detected" if zero is not None or four is not None else "assumed"
    for (loc, record), (_, cop) in zip(records, cops, strict=True):
        options: dict[str, str] = {}
        for letter, key in zip("ABCD", ("opa", "opb", "opc", "opd"), strict=True):
            text = record.get(key)
            if _is_blank(text) or not isinstance(text, str | int | float):
                raise loc.error("missing_field", "is required (non-empty option text)", key)
            options[letter] = str(text)
        metadata: dict[str, Any] = {}
        if isinstance(cop, str):
            gold = cop
        else:
            if not base <= cop <= base + 3:
                convention = (
                    "0-based, as in the Hugging Face copy"
                    if base == 0
                    else "1-based, as in the original MedMCQA files"
                )
                raise loc.error(
                    "invalid_value", f"must be {base}-{base + 3} ({convention}), got {cop}", "cop"
                )
            gold = "ABCD"[cop - base]
            metadata = {"cop_base": base, "cop_base_source": base_source}
        for key, name in (
            ("topic_name", "topic"),
            ("choice_type", "choice_type"),
            ("exp", "explanation"),
        ):
            value = _optional_text(record, key, loc)
            if value is not None:
                metadata[name] = value
        yield (
            loc,
            Item(
                id=_optional_text(record, "id", loc) or _generated_id("medmcqa", loc),
                question=_text(record, "question", loc),
                options=_options(options, loc),
                gold=(gold,),
                source="medmcqa",
                language=language,
                specialty=_optional_text(record, "subject_name", loc),
                metadata=metadata,
            ),
        )


def _read_medmcqa(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    # The cop convention is decided per file, so records are parsed before items are built.
    yield from _medmcqa_items(list(_iter_json_records(file)), language or "en")
