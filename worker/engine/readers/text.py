"""File-level checks and decoding: empty, BOM, encoding and binary files; UTF-8 lines
streamed one at a time; whole JSON documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from worker.engine.readers.errors import DatasetFormatError, _Loc
from worker.engine.readers.storable import MAX_DEPTH, escape_line, first_problem

_HEAD_BYTES = 8192


_UTF8_BOM = b"\xef\xbb\xbf"


_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


_BINARY_SIGNATURES = (
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx workbook is one); export it as UTF-8 CSV without BOM",
    ),
    (b"\x1f\x8b", "gzip-compressed; decompress it first"),
    (b"PAR1", "a Parquet file; export it as JSONL or CSV, or use a save_to_disk folder"),
    (b"%PDF", "a PDF document"),
)


def _check_head(file: str) -> None:
    """Refuse empty, BOM-prefixed, non-UTF-8-encoded and binary files before parsing."""
    with open(file, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head:
        raise DatasetFormatError("file is empty (0 bytes)", file=file, code="empty")
    if head.startswith(_UTF8_BOM):
        raise DatasetFormatError(
            "starts with a UTF-8 byte order mark (BOM); save the file as UTF-8 without BOM "
            '(Excel\'s "CSV UTF-8" export adds one)',
            file=file,
            line=1,
            code="bom",
        )
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom):
            raise DatasetFormatError(
                f"is encoded as {name}; the file must be UTF-8 (without BOM)",
                file=file,
                line=1,
                code="encoding",
            )
    for signature, what in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise DatasetFormatError(
                f"is not a text file: it looks like {what}", file=file, line=1, code="binary"
            )
    nul = head.find(b"\x00")
    if nul >= 0:
        raise _binary_error(file, head.count(b"\n", 0, nul) + 1)


def _binary_error(file: str, line: int) -> DatasetFormatError:
    return DatasetFormatError(
        "contains NUL bytes: this is a binary file, not UTF-8 text",
        file=file,
        line=line,
        code="binary",
    )


def _encoding_error(
    file: str, line: int, raw: bytes, exc: UnicodeDecodeError
) -> DatasetFormatError:
    return DatasetFormatError(
        f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); the file must be UTF-8 encoded",
        file=file,
        line=line,
        code="encoding",
    )


def _iter_lines(file: str) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, decoded line) without reading the whole file."""
    _check_head(file)
    with open(file, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if b"\x00" in raw:
                raise _binary_error(file, number)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _encoding_error(file, number, raw, exc) from None
            yield number, text


def _first_content_line(file: str) -> str | None:
    for _, text in _iter_lines(file):
        if text.strip():
            return text.strip()
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _loads(text: str, loc: _Loc, **kwargs: Any) -> Any:
    """Parse JSON text, refusing what a database cannot store (see `storable`)."""
    value = _parse(text, loc, **kwargs)
    problem = first_problem(value)
    if problem is not None:
        field, reason = problem
        if loc.line is not None:  # one JSONL line
            raise loc.error("invalid_value", reason, field)
        line = escape_line(text)
        raise DatasetFormatError(
            reason, file=loc.file, line=line, field=field, code="invalid_value"
        )
    return value


def _parse(text: str, loc: _Loc, **kwargs: Any) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, **kwargs)
    except RecursionError:
        # The C parser recurses once per level; refuse before anything else can.
        raise loc.error(
            "invalid_json", f"is nested too deeply (more than {MAX_DEPTH} levels allowed)"
        ) from None
    except json.JSONDecodeError as exc:
        if loc.line is not None:  # one JSONL line
            hint = ""
            if text.strip() in ("{", "["):
                hint = "; this looks like a pretty-printed JSON document, not JSON Lines"
            raise loc.error(
                "invalid_json", f"is not valid JSON: {exc.msg} at column {exc.colno}{hint}"
            ) from None
        raise DatasetFormatError(
            f"is not valid JSON: {exc.msg}",
            file=loc.file,
            line=exc.lineno,
            where=f"line {exc.lineno} column {exc.colno}",
            code="invalid_json",
        ) from None
    except ValueError as exc:
        raise loc.error("invalid_json", f"is not valid JSON: {exc}") from None


def _read_document(file: str, **kwargs: Any) -> Any:
    """Parse a whole JSON document (JSON cannot be streamed without a third-party parser)."""
    _check_head(file)
    raw = Path(file).read_bytes()
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise _binary_error(file, raw.count(b"\n", 0, nul) + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(file, raw.count(b"\n", 0, exc.start) + 1, raw, exc) from None
    if not text.strip():
        raise DatasetFormatError("contains only whitespace", file=file, code="empty")
    return _loads(text, _Loc(file), **kwargs)
