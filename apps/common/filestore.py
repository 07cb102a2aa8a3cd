"""One content-addressed file store for datasets, model cards and exports.

Every file is stored once, under its SHA-256 (`<kind>/<sha256[:2]>/<sha256><ext>`), through
Django's Storage API (`STORAGES["default"]`): local files under MEDIA_ROOT by default (made
read-only), or S3-compatible object storage with `USE_S3_STORAGE` (django-storages). The same
bytes always get the same name, so storing is idempotent and a stored file is never updated:
a change is a new file under a new name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A file in the store: its name in the storage, digest and size; `created` if this call
    wrote it (False when the same bytes were already stored)."""

    name: str
    sha256: str
    size: int
    created: bool


def storage() -> Storage:
    return default_storage


def content_name(kind: str, sha256: str, ext: str = "") -> str:
    """The storage name of the file with this digest (`ext` with its dot, or empty)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256!r}")
    return f"{kind}/{sha256[:2]}/{sha256}{ext.lower()}"


def sha256_of(chunks: Iterable[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _save(name: str, content: File[bytes]) -> bool:
    """Save under exactly `name` unless it is there; True if this call stored it."""
    store = storage()
    if store.exists(name):
        return False
    saved = store.save(name, content)
    if saved != name:
        # Another writer stored the same bytes first and the storage picked a free name for
        # ours: keep theirs, which has the same content by construction.
        store.delete(saved)
        return False
    return True


def store_bytes(kind: str, content: bytes, ext: str = "") -> StoredFile:
    """Store bytes under their SHA-256 (once)."""
    sha256, size = sha256_of([content])
    name = content_name(kind, sha256, ext)
    return StoredFile(name, sha256, size, _save(name, ContentFile(content)))


def store_local_file(kind: str, path: Path, sha256: str, ext: str = "") -> StoredFile:
    """Store a local file whose digest the caller computed while writing it (uploads)."""
    name = content_name(kind, sha256, ext)
    with path.open("rb") as handle:
        created = _save(name, File(handle, name=path.name))
    return StoredFile(name, sha256, path.stat().st_size, created)


def open_stored(name: str) -> IO[bytes]:
    return storage().open(name, "rb")


def read_bytes(name: str) -> bytes:
    with open_stored(name) as handle:
        return handle.read()


class StoredFileAltered(Exception):
    """A stored file no longer matches the SHA-256 it was stored under."""

    def __init__(self, name: str, expected: str, found: str) -> None:
        super().__init__(f"Stored file {name} does not match its SHA-256 {expected}.")
        self.name, self.expected, self.found = name, expected, found


def read_verified(name: str, sha256: str) -> bytes:
    """The stored bytes, refused (`StoredFileAltered`, with the digest found) if they no longer
    match the digest they were stored under."""
    content = read_bytes(name)
    found = hashlib.sha256(content).hexdigest()
    if found != sha256:
        raise StoredFileAltered(name, sha256, found)
    return content


def delete_unreferenced(name: str) -> None:
    """Remove a file this request stored and no record refers to (its write rolled back)."""
    storage().delete(name)


@contextmanager
def local_copy(name: str) -> Iterator[str]:
    """A path on this machine with the file's bytes: the file itself on local storage, a
    temporary copy (removed afterwards) on object storage. Readers that need a path use it."""
    store = storage()
    try:
        path = store.path(name)
    except NotImplementedError:
        path = ""
    if path:
        yield path
        return
    fd, tmp = tempfile.mkstemp(suffix=Path(name).suffix, prefix="carealign-")
    try:
        with os.fdopen(fd, "wb") as out, open_stored(name) as handle:
            while chunk := handle.read(CHUNK):
                out.write(chunk)
        yield tmp
    finally:
        Path(tmp).unlink(missing_ok=True)
