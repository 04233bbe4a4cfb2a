"""The encrypted, content-addressed media store under HIMAYA_HOME (SPEC §3.2).

A file is written once: streamed through `IncomingFile` (hashing the plaintext and
encrypting it to a temporary file in the same folder); `close()` gives a
`PendingFile`, and `blob_put(pending)` — called inside the transaction that records
the file — locks the `Blob` row and renames the temporary file to its content
address. Identical content is stored once; renames are atomic, so a kill -9 at any
moment leaves either the old state or the new one, never half a file (a temporary
or unreferenced file left behind is removed by the sweep).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings


from himaya.core.crypto import ChunkEncryptor, content_address, decrypt_stream

if TYPE_CHECKING:
    from himaya.core.models import Blob


class FileTooLarge(Exception):
    pass


@dataclass(frozen=True)
class StoredFile:
    address: str
    size: int
    md5: str
    sha1: str
    sha256: str


def media_root() -> Path:
    return Path(settings.HIMAYA_MEDIA_ROOT)


def path_for(address: str) -> Path:
    return media_root() / address[:2] / address[2:4] / address


class IncomingFile:
    """Plaintext goes in with write(); nothing unencrypted touches the disk."""

    def __init__(self, *, max_bytes: int | None = None) -> None:
        tmp_dir = media_root() / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="in-", suffix=".part")
        self._path = Path(name)
        self._fh = os.fdopen(fd, "wb")
        self._enc = ChunkEncryptor(self._fh)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0
        self._max = max_bytes
        self._closed = False

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._max is not None and self.size > self._max:
            self.discard()
            raise FileTooLarge(f"file exceeds the configured maximum of {self._max} bytes")
        self._md5.update(data)
        self._sha1.update(data)
        self._sha256.update(data)
        self._enc.write(data)

    def close(self) -> "PendingFile":
        self._enc.finish()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._closed = True
        sha256 = self._sha256.hexdigest()
        return PendingFile(
            temp_path=self._path,
            stored=StoredFile(address=content_address(sha256), size=self.size, md5=self._md5.hexdigest(), sha1=self._sha1.hexdigest(), sha256=sha256),
        )

    def discard(self) -> None:
        if not self._closed:
            self._fh.close()
            self._closed = True
        self._path.unlink(missing_ok=True)


@dataclass(frozen=True)
class PendingFile:
    temp_path: Path
    stored: StoredFile

    def discard(self) -> None:
        self.temp_path.unlink(missing_ok=True)


def blob_put(pending: PendingFile) -> "Blob":
    """Call inside the transaction that records the file."""
    from django.db import transaction

    from himaya.core.models import Blob

    s = pending.stored
    with transaction.atomic():
        blob, _ = Blob.objects.select_for_update().get_or_create(
            address=s.address, defaults=dict(size=s.size, md5=s.md5, sha1=s.sha1, sha256=s.sha256)
        )
        final = path_for(s.address)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            pending.discard()
        else:
            os.replace(pending.temp_path, final)
            _fsync_dir(final.parent)
    return blob


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def incoming_from_bytes(data: bytes) -> PendingFile:
    incoming = IncomingFile()
    incoming.write(data)
    return incoming.close()


def open_plaintext(address: str) -> Iterator[bytes]:
    with open(path_for(address), "rb") as fh:
        yield from decrypt_stream(fh)


def read_plaintext(address: str) -> bytes:
    return b"".join(open_plaintext(address))


def delete(address: str) -> None:
    path_for(address).unlink(missing_ok=True)
