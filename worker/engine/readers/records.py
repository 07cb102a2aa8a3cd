"""Records with their locations: JSONL lines, JSON array entries and CSV rows."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from worker.engine.readers.errors import DatasetFormatError, _Loc
from worker.engine.readers.fields import LETTERS, _kind, _shape_hint
from worker.engine.readers.text import _first_content_line, _iter_lines, _loads, _read_document


def _iter_jsonl(file: str) -> Iterator[tuple[_Loc, dict[str, Any]]]:
    for number, text in _iter_lines(file):
        if not text.strip():
            continue
        loc = _Loc(file, number)
        record = _loads(text, loc)
        if not isinstance(record, dict):
            raise loc.error("invalid_json", f"must be a JSON object, got {_kind(record)}")
        yield loc, record


def _iter_json_records(file: str) -> Iterator[tuple[_Loc, dict[str, Any]]]:
    """Records of a public format stored either as JSONL or as one JSON array."""
    first = _first_content_line(file)
    if first is None or not first.startswith("["):
        yield from _iter_jsonl(file)
        return
    document = _read_document(file)
    if not isinstance(document, list):
        raise DatasetFormatError(
            f"must be a JSON array or JSON Lines, got {_kind(document)}",
            file=file,
            code="invalid_json",
        )
    yield from _array_records(file, document, "")


def _array_records(
    file: str, records: list[Any], prefix: str
) -> Iterator[tuple[_Loc, dict[str, Any]]]:
    for index, record in enumerate(records):
        loc = _Loc(file, index, f"{prefix}[{index}]")
        if not isinstance(record, dict):
            raise loc.error("invalid_json", f"must be a JSON object, got {_kind(record)}")
        yield loc, record


def _iter_csv_rows(file: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, cells); the header comes first; blank rows skipped."""
    reader = csv.reader((text for _, text in _iter_lines(file)), strict=True)
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if any(cell.strip() for cell in row):
                yield line, row
    except csv.Error as exc:
        raise DatasetFormatError(
            f"is not valid CSV: {exc}", file=file, line=start, code="invalid_value"
        ) from None


def _csv_records(
    file: str,
    normalize: Callable[[str], str],
    *,
    required: tuple[str, ...],
    allowed: frozenset[str] | None = None,
) -> Iterator[tuple[_Loc, dict[str, str]]]:
    """Rows as {column: stripped cell}, after checking the header's columns."""
    rows = _iter_csv_rows(file)
    first = next(rows, None)
    if first is None:
        raise DatasetFormatError("contains only blank lines", file=file, code="empty")
    header_line, raw_header = first
    header = [normalize(cell) for cell in raw_header]
    header_loc = _Loc(file, header_line)
    if len(header) == 1 and ";" in raw_header[0]:
        raise header_loc.error(
            "invalid_value", "has one column; it looks semicolon-separated, save it comma-separated"
        )
    hint = _shape_hint(header)
    for name, count in Counter(header).items():
        if count > 1:
            raise header_loc.error("invalid_value", "header repeats this column", name)
        if allowed is not None and name not in allowed:
            raise header_loc.error(
                "invalid_value",
                f"unknown column{hint}; the columns are A-J and "
                + ", ".join(sorted(allowed - set(LETTERS))),
                name or "?",
            )
    for name in required:
        if name not in header:
            raise header_loc.error("missing_field", f"column is required{hint}", name)
    for line, row in rows:
        loc = _Loc(file, line)
        if len(row) != len(header):
            raise loc.error(
                "invalid_value", f"row has {len(row)} cells but the header has {len(header)}"
            )
        yield loc, {name: cell.strip() for name, cell in zip(header, row, strict=True)}
