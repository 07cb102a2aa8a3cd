"""Every error of a dataset file, not only the first: what a person fixing the file needs.

The readers stop at the first problem. For line-based files (JSONL, CSV and the public formats
stored that way) `collect_errors` blanks the offending line in a scratch copy and reads again,
so each further error is found by the same reader code with the same line numbers (a blank
line is skipped by every line-based reader). Other files report their first error only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from worker.engine.readers import DatasetFormatError, read_items

LINE_FORMATS = frozenset({"jsonl", "csv", "medqa", "mmedbench", "medhalt", "medmcqa"})
MAX_ERRORS = 50
# Codes about the whole file: blanking one line cannot get past them.
WHOLE_FILE_CODES = frozenset({"empty", "bom", "encoding", "binary", "unsupported_format"})


def collect_errors(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    language: str | None = None,
    limit: int = MAX_ERRORS,
) -> list[DatasetFormatError]:
    """All errors of the file (up to `limit`), in line order; [] when it reads cleanly."""
    source = Path(path)
    try:
        read_items(source, fmt=fmt, language=language)
    except DatasetFormatError as first:
        if not _can_continue(first, fmt, source):
            return [first]
        return _more_errors(source, first, fmt=fmt, language=language, limit=limit)
    return []


def _can_continue(error: DatasetFormatError, fmt: str | None, source: Path) -> bool:
    kind = fmt or source.suffix.lower().lstrip(".")
    if kind not in LINE_FORMATS or source.is_dir() or error.code in WHOLE_FILE_CODES:
        return False
    # A CSV header error (line 1) would turn every row into an error.
    return error.line is not None and error.line > (1 if kind in {"csv", "medhalt"} else 0)


def _more_errors(
    source: Path,
    first: DatasetFormatError,
    *,
    fmt: str | None,
    language: str | None,
    limit: int,
) -> list[DatasetFormatError]:
    errors = [first]
    lines = source.read_bytes().split(b"\n")
    with tempfile.TemporaryDirectory(prefix="carealign-collect-") as tmp:
        scratch = Path(tmp) / source.name  # the same name: some formats read it (language)
        shutil.copyfile(source, scratch)
        current = first
        while len(errors) < limit and current.line is not None and 0 < current.line <= len(lines):
            lines[current.line - 1] = b""
            scratch.write_bytes(b"\n".join(lines))
            try:
                read_items(scratch, fmt=fmt, language=language)
            except DatasetFormatError as found:
                if found.line is None or found.line in _lines(errors):
                    break  # no progress: stop rather than loop
                if found.code in WHOLE_FILE_CODES:
                    break  # e.g. every item was wrong: "contains no items" is not news
                errors.append(_renamed(found, source))
                current = found
                continue
            break
    return sorted(errors, key=lambda e: e.line or 0)


def _lines(errors: list[DatasetFormatError]) -> set[int]:
    return {e.line for e in errors if e.line is not None}


def _renamed(error: DatasetFormatError, source: Path) -> DatasetFormatError:
    """The scratch copy's error, reported against the file the user gave."""
    return DatasetFormatError(
        error.message,
        file=str(source),
        code=error.code,
        line=error.line,
        field=error.field,
        where=error.where,
    )
