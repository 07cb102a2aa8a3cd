"""MedQA and MMedBench: `question`, `options`, `answer_idx` records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from worker.engine.readers.errors import DatasetFormatError, _Loc
from worker.engine.readers.fields import (
    _generated_id,
    _gold,
    _is_blank,
    _optional_text,
    _public_options,
    _text,
)
from worker.engine.readers.records import _iter_json_records
from worker.engine.types import Item

MMEDBENCH_LANGUAGES = {
    "english": "en",
    "chinese": "zh",
    "japanese": "ja",
    "french": "fr",
    "russian": "ru",
    "spanish": "es",
}


def _answer_letters(
    record: dict[str, Any], options: dict[str, str], loc: _Loc, *, multi: bool
) -> tuple[str, ...]:
    raw = record.get("answer_idx")
    if _is_blank(raw):
        # Some copies carry only the answer text.
        answer = record.get("answer")
        matches = [
            k for k, text in options.items() if isinstance(answer, str) and text == answer.strip()
        ]
        if len(matches) == 1:
            return tuple(matches)
        raise loc.error(
            "missing_field", "is required (the letter of the correct option)", "answer_idx"
        )
    letters = [part for part in re.split(r"[\s,;]+", str(raw).strip()) if part]
    if not multi and len(letters) > 1:
        raise loc.error("invalid_value", f"must be a single letter, got {raw!r}", "answer_idx")
    return _gold(letters, options, loc, field="answer_idx")


def _medqa_item(record: dict[str, Any], loc: _Loc, *, language: str, mmedbench: bool) -> Item:
    source = "mmedbench" if mmedbench else "medqa"
    question = _text(record, "question", loc)
    if record.get("options") is None:
        raise loc.error("missing_field", "is required", "options")
    options = _public_options(record["options"], loc)
    gold = _answer_letters(record, options, loc, multi=mmedbench)
    keys = ("rationale", "human_checked", "human_check_passed") if mmedbench else ("meta_info",)
    metadata = {key: record[key] for key in keys if record.get(key) is not None}
    if not mmedbench and isinstance(record.get("answer"), str):
        metadata["answer_text"] = record["answer"]
    item_id = _optional_text(record, "id", loc) or _generated_id(source, loc)
    return Item(
        id=item_id,
        question=question,
        options=options,
        gold=gold,
        source=source,
        language=language,
        metadata=metadata,
    )


def _read_medqa(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    for loc, record in _iter_json_records(file):
        yield (
            loc,
            _medqa_item(record, loc, language=language or "en", mmedbench=False),
        )


def _language_from_name(file: str) -> str | None:
    tokens = re.split(r"[^a-z]+", Path(file.rstrip("/\\")).stem.lower())
    found = {MMEDBENCH_LANGUAGES[token] for token in tokens if token in MMEDBENCH_LANGUAGES}
    return found.pop() if len(found) == 1 else None


def _mmedbench_language(file: str, language: str | None) -> str:
    found = language or _language_from_name(file)
    if found is None:
        names = ", ".join(name.title() for name in MMEDBENCH_LANGUAGES)
        raise DatasetFormatError(
            f"cannot tell the language of an MMedBench file from its name (expected one of "
            f"{names}); give its ISO 639-1 code, e.g. --language es",
            file=file,
            field="language",
            code="missing_field",
        )
    return found


def _read_mmedbench(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    lang = _mmedbench_language(file, language)
    for loc, record in _iter_json_records(file):
        yield (
            loc,
            _medqa_item(record, loc, language=lang, mmedbench=True),
        )
