"""Upload limits enforced while the request body streams in, not after it has been read."""

from __future__ import annotations

import unicodedata
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework import status
from rest_framework.exceptions import APIException


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The upload is larger than the limit of {limit} bytes "
            f"({limit / 1_048_576:.1f} MiB); split the file or ask an admin to raise "
            "CAREALIGN_UPLOAD_MAX_BYTES."
        )


class LimitedUploadHandler(FileUploadHandler):
    """Refuse a multipart body over UPLOAD_MAX_BYTES from its Content-Length or as it streams."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = int(settings.UPLOAD_MAX_BYTES)
        self.received = 0

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        # Multipart framing adds a few hundred bytes; allow 64 KiB of slack for form fields.
        if content_length and content_length > self.limit + 65536:
            raise UploadTooLarge(self.limit)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise UploadTooLarge(self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        self.received = 0


# File systems limit a name to 255 bytes, not characters: "é" * 240 is 480 bytes in UTF-8.
MAX_NAME_BYTES = 200


def upload_name(raw: str | None) -> str:
    """A safe base name for an uploaded file: no folders, no control characters, and at most
    MAX_NAME_BYTES of UTF-8 (cut at a character boundary, the extension kept)."""
    name = PurePath((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        return "upload"
    suffix = PurePath(name).suffix
    if len(suffix.encode("utf-8")) > 16:
        suffix = ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore") or "upload"
    return stem + suffix
