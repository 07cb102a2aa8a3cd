"""Our canonical format as JSONL, JSON and CSV (documented in `worker.engine.readers`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast, get_args

from worker.engine.readers.errors import DatasetFormatError, _Loc
from worker.engine.readers.fields import (
    LETTERS,
    _context,
    _gold,
    _kind,
    _language,
    _optional_text,
    _options,
    _shape_hint,
    _text,
)
from worker.engine.readers.records import _array_records, _csv_records, _iter_jsonl
from worker.engine.readers.text import _read_document
from worker.engine.types import BiasInfo, Item, Task, Variant

TASKS: tuple[str, ...] = get_args(Task)


VARIANTS: tuple[str, ...] = get_args(Variant)


_CANONICAL_FIELDS = frozenset(
    {"id", "source", "language", "task", "question", "options", "gold", "specialty"}
    | {"context", "proposed", "bias", "metadata", "parallel_id"}
)


_BIAS_FIELDS = ("vignette_id", "attribute", "value", "variant")


_CSV_COLUMNS = frozenset(
    {"id", "question", "gold", "language", "task", "specialty", "source", "context"}
    | {"proposed", "parallel_id", *_BIAS_FIELDS, *LETTERS}
)


_CONTEXT_SEPARATOR = " || "


def _canonical_item(
    record: dict[str, Any], loc: _Loc, *, language: str | None, bias_prefix: str = "bias."
) -> Item:
    unknown = sorted(set(record) - _CANONICAL_FIELDS)
    if unknown:
        raise loc.error(
            "invalid_value",
            f'unknown field{_shape_hint(record)}; put extra information under "metadata"',
            unknown[0],
        )
    hint = _shape_hint(record)
    item_id = _text(record, "id", loc, hint=hint)
    question = _text(record, "question", loc, hint=hint)
    if record.get("options") is None:
        raise loc.error("missing_field", f"is required{hint}", "options")
    options = _options(record["options"], loc)
    if record.get("gold") is None:
        raise loc.error("missing_field", f"is required{hint}", "gold")
    gold = _gold(record["gold"], options, loc)

    task = _optional_text(record, "task", loc) or "mcq"
    if task not in TASKS:
        raise loc.error("invalid_value", f"must be one of {', '.join(TASKS)}, got {task!r}", "task")

    proposed = _optional_text(record, "proposed", loc)
    if task == "fct":
        if proposed is None:
            raise loc.error("missing_field", 'is required when task is "fct"', "proposed")
        if proposed not in options:
            raise loc.error(
                "invalid_value",
                f"{proposed!r} is not one of the option letters {', '.join(options)}",
                "proposed",
            )
    elif proposed is not None:
        raise loc.error("invalid_value", 'is only allowed when task is "fct"', "proposed")

    bias = _bias(record.get("bias"), task, loc, bias_prefix)
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise loc.error("invalid_value", f"must be an object, got {_kind(metadata)}", "metadata")
    return Item(
        id=item_id,
        question=question,
        options=options,
        gold=gold,
        source=_optional_text(record, "source", loc) or "carealign",
        language=_language(_optional_text(record, "language", loc), loc, language or "en"),
        task=cast(Task, task),
        context=_context(record.get("context"), loc),
        specialty=_optional_text(record, "specialty", loc),
        bias=bias,
        proposed=proposed,
        metadata=metadata,
        parallel_id=_optional_text(record, "parallel_id", loc),
    )


def _bias(value: Any, task: str, loc: _Loc, prefix: str) -> BiasInfo | None:
    if task != "vignette":
        if value is not None:
            field = "bias" if prefix else next(iter(value))
            raise loc.error("invalid_value", 'is only allowed when task is "vignette"', field)
        return None
    if value is None:
        field = "bias" if prefix else "vignette_id"
        raise loc.error("missing_field", 'is required when task is "vignette"', field)
    if not isinstance(value, dict):
        raise loc.error("invalid_value", f"must be an object, got {_kind(value)}", "bias")
    fields: dict[str, str] = {}
    for key in _BIAS_FIELDS:
        text = value.get(key)
        if not isinstance(text, str) or not text.strip():
            raise loc.error(
                "missing_field", 'is required when task is "vignette"', f"{prefix}{key}"
            )
        fields[key] = text.strip()
    if fields["variant"] not in VARIANTS:
        raise loc.error(
            "invalid_value",
            f"must be one of {', '.join(VARIANTS)}, got {fields['variant']!r}",
            f"{prefix}variant",
        )
    return BiasInfo(
        vignette_id=fields["vignette_id"],
        attribute=fields["attribute"],
        value=fields["value"],
        variant=cast(Variant, fields["variant"]),
    )


def _read_jsonl(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    for loc, record in _iter_jsonl(file):
        yield loc, _canonical_item(record, loc, language=language)


def _read_json(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    document = _read_document(file)
    prefix = ""
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        document, prefix = document["items"], "items"
    if not isinstance(document, list):
        first = next(iter(document.values()), None) if isinstance(document, dict) else None
        hint = _shape_hint(first) if isinstance(first, dict) else ""
        raise DatasetFormatError(
            f'must be a JSON array of items or {{"items": [...]}}, got {_kind(document)}{hint}',
            file=file,
            code="invalid_json",
        )
    for loc, record in _array_records(file, document, prefix):
        yield loc, _canonical_item(record, loc, language=language)


def _csv_header_name(cell: str) -> str:
    name = cell.strip()
    return name.upper() if len(name) == 1 and name.upper() in LETTERS else name.lower()


def _read_csv(file: str, language: str | None) -> Iterator[tuple[_Loc, Item]]:
    required = ("id", "question", "A", "B", "gold")
    rows = _csv_records(file, _csv_header_name, required=required, allowed=_CSV_COLUMNS)
    for loc, row in rows:
        yield loc, _canonical_item(_csv_record(row, loc), loc, language=language, bias_prefix="")


def _csv_record(row: dict[str, str], loc: _Loc) -> dict[str, Any]:
    letters = [letter for letter in LETTERS if row.get(letter)]
    if letters:
        expected = LETTERS[: LETTERS.index(letters[-1]) + 1]
        gap = next((letter for letter in expected if letter not in letters), None)
        if gap is not None:
            raise loc.error(
                "invalid_value",
                f"option columns must be filled from A without gaps; {gap} is blank "
                f"but {letters[-1]} is not",
                "options",
            )
    record: dict[str, Any] = {
        "id": row["id"],
        "question": row["question"],
        "options": {letter: row[letter] for letter in letters},
        "gold": [letter.strip() for letter in row["gold"].split(";") if letter.strip()] or None,
    }
    for name in ("language", "task", "specialty", "source", "proposed", "parallel_id"):
        if row.get(name):
            record[name] = row[name]
    if row.get("context"):
        record["context"] = row["context"].split(_CONTEXT_SEPARATOR)
    bias = {key: row[key] for key in _BIAS_FIELDS if row.get(key)}
    if bias:
        record["bias"] = bias
    return record
