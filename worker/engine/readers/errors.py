"""`DatasetFormatError`, its codes, and `_Loc`: where a record sits in its file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

ERROR_CODES: tuple[str, ...] = (
    "empty",
    "bom",
    "encoding",
    "binary",
    "invalid_json",
    "missing_field",
    "invalid_value",
    "duplicate_id",
    "unsupported_format",
)


class DatasetFormatError(ValueError):
    """A dataset file that cannot be read, with where and why.

    `file` is the path as given; the message names only its base name.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        code: str,
        line: int | None = None,
        field: str | None = None,
        where: str | None = None,
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown DatasetFormatError code {code!r}")
        self.message = message
        self.file = file
        self.code = code
        self.line = line
        self.field = field
        self.where = where if where is not None else (None if line is None else f"line {line}")
        parts = os.path.basename(file.rstrip("/\\")) or file
        if self.where:
            parts += f" {self.where}"
        if field:
            parts += f', field "{field}"'
        super().__init__(f"{parts}: {message}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Celery and multiprocessing pickle exceptions; keyword-only arguments need help.
        args = (self.message, self.file, self.code, self.line, self.field, self.where)
        return (_rebuild_error, args)


def _rebuild_error(
    message: str, file: str, code: str, line: int | None, field: str | None, where: str | None
) -> DatasetFormatError:
    return DatasetFormatError(message, file=file, code=code, line=line, field=field, where=where)


@dataclass(frozen=True)
class _Loc:
    """Where a record sits in its file, for error messages."""

    file: str
    line: int | None = None
    where: str | None = None  # None: "line <line>"
    split: str = ""  # Hugging Face DatasetDict split

    @property
    def place(self) -> str:
        return self.where or f"line {self.line}"

    def error(self, code: str, message: str, field: str | None = None) -> DatasetFormatError:
        return DatasetFormatError(
            message, file=self.file, code=code, line=self.line, field=field, where=self.where
        )
