"""The encrypted, content-addressed media store (SPEC §3.2, §4.4).

A file is written once: streamed through `IncomingFile` (hashing the plaintext and
encrypting it to a temporary file under HIMAYA_MEDIA_ROOT/tmp); `close()` gives a
`PendingFile`, and `blob_put(pending)` — called inside the transaction that records
the file — locks the `Blob` row and makes sure the ciphertext is stored under its
content address. Identical content is stored once.

Where the ciphertext lives is the backend's business, chosen by HIMAYA_STORAGE_URL:
local files under HIMAYA_MEDIA_ROOT (the default) or an S3-compatible object store
shared by several machines (`storage_s3`). Either way the store only ever holds
ciphertext, and an object appears under its address only complete (a hard link of a
finished temporary file; an S3 PUT or completed multipart upload), so a kill -9 at
any moment leaves either no object or the whole one. Temporaries and objects no
`Blob` row refers to (a transaction that rolled back after the upload) are removed by
`storage_sweep` (`himaya storage sweep`).
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from django.conf import settings

from himaya.core.crypto import ChunkEncryptor, DecryptionError, content_address, decrypt_stream

if TYPE_CHECKING:
    from himaya.core.models import Blob

log = logging.getLogger(__name__)
ADDRESS = re.compile(r"[0-9a-f]{64}")
# An object younger than this may belong to a transaction still under way: the sweep leaves it.
SWEEP_GRACE = timedelta(hours=24)


class FileTooLarge(Exception):
    pass


class StorageError(Exception):
    """The configured store cannot be used (a bad HIMAYA_STORAGE_URL, an unreachable server)."""


@dataclass(frozen=True)
class StoredFile:
    address: str
    size: int
    md5: str
    sha1: str
    sha256: str


@dataclass(frozen=True)
class StoredObject:
    address: str
    size: int
    modified: float  # seconds since the epoch


class Backend(Protocol):
    """Where ciphertext lives. Every method is idempotent; none ever sees plaintext."""

    def describe(self) -> str: ...

    def exists(self, address: str) -> bool: ...

    def put(self, address: str, source: Path) -> None:
        """Store the complete file `source` under `address` atomically; `source` stays (the caller removes it)."""

    def open(self, address: str) -> BinaryIO:
        """The ciphertext, read with exact-size reads; FileNotFoundError if there is none."""

    def delete(self, address: str) -> None: ...

    def objects(self) -> Iterator[StoredObject]: ...

    def check(self) -> None:
        """Raise StorageError unless the store answers and takes writes."""

    def sweep_uploads(self, older_than: float) -> int:
        """Abandon unfinished uploads started before `older_than` (epoch seconds); how many."""


def media_root() -> Path:
    """The local folder: the default store, and always the home of temporaries and the PDQ index."""
    return Path(settings.HIMAYA_MEDIA_ROOT)


def path_for(address: str) -> Path:
    """Where a content lives in the local store (meaningful for the local backend only)."""
    return local_path(media_root(), address)


def local_path(root: Path, address: str) -> Path:
    return root / address[:2] / address[2:4] / address


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"local files under {self.root}"

    def exists(self, address: str) -> bool:
        return local_path(self.root, address).exists()

    def put(self, address: str, source: Path) -> None:
        final = local_path(self.root, address)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, final)  # atomic, and never replaces: the first complete copy wins
        except FileExistsError:
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP):
                raise
            # Another filesystem (a backup being restored): copy beside the store, then link.
            tmp = _temp_path(self.root)
            try:
                shutil.copyfile(source, tmp)
                _fsync_file(tmp)
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    return
            finally:
                tmp.unlink(missing_ok=True)
        _fsync_dir(final.parent)

    def open(self, address: str) -> BinaryIO:
        return open(local_path(self.root, address), "rb")

    def delete(self, address: str) -> None:
        local_path(self.root, address).unlink(missing_ok=True)

    def objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue  # tmp/, index/
            for second in sorted(first.iterdir()):
                for path in sorted(second.iterdir()):
                    if ADDRESS.fullmatch(path.name):
                        st = path.stat()
                        yield StoredObject(path.name, st.st_size, st.st_mtime)

    def check(self) -> None:
        probe = self.root / f".ready-{os.getpid()}-{time.monotonic_ns()}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StorageError(exc.strerror or type(exc).__name__) from exc

    def sweep_uploads(self, older_than: float) -> int:
        return 0  # a local "upload" is a hard link: there is no unfinished one


_backends: dict[tuple[str, str], Backend] = {}


def backend_for(url: str, root: Path | None = None) -> Backend:
    """The backend a HIMAYA_STORAGE_URL names ("" or "local": files under `root`)."""
    root = root or media_root()
    key = (url, str(root))
    if key not in _backends:
        if len(_backends) >= 8:  # one in production; tests switch stores per test
            _backends.clear()
        if not url or url == "local":
            _backends[key] = LocalBackend(root)
        elif url.startswith("s3://"):
            from himaya.core.storage_s3 import S3Backend

            _backends[key] = S3Backend.from_url(url, fallback=LocalBackend(root))
        else:
            raise StorageError(f"HIMAYA_STORAGE_URL must be empty (local files) or s3://bucket?endpoint=..., not {url!r}")
    return _backends[key]


def backend() -> Backend:
    return backend_for(getattr(settings, "HIMAYA_STORAGE_URL", ""))


def _temp_path(root: Path) -> Path:
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="in-", suffix=".part")
    os.close(fd)
    return Path(name)


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
        pending = PendingFile(
            temp_path=self._path,
            stored=StoredFile(address=content_address(sha256), size=self.size, md5=self._md5.hexdigest(), sha1=self._sha1.hexdigest(), sha256=sha256),
        )
        _upload_early(pending)
        return pending

    def discard(self) -> None:
        if not self._closed:
            self._fh.close()
            self._closed = True
        self._path.unlink(missing_ok=True)


def _upload_early(pending: PendingFile) -> None:
    """To a remote store, upload now, outside any database transaction: `blob_put` then only
    checks the object is there. A failure here is retried by `blob_put`, where it counts."""
    store = backend()
    if isinstance(store, LocalBackend):
        return
    try:
        if not store.exists(pending.stored.address):
            store.put(pending.stored.address, pending.temp_path)
    except Exception:
        log.warning("early upload of %s failed; retried when the file is recorded", pending.stored.address, exc_info=True)


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
        store = backend()
        # Checked under the row lock: a purge of the same content holds it while it deletes.
        if not store.exists(s.address):
            store.put(s.address, pending.temp_path)
        pending.discard()
    return blob


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def incoming_from_bytes(data: bytes) -> PendingFile:
    incoming = IncomingFile()
    incoming.write(data)
    return incoming.close()


def exists(address: str) -> bool:
    return backend().exists(address)


def open_ciphertext(address: str) -> BinaryIO:
    return backend().open(address)


def open_plaintext(address: str) -> Iterator[bytes]:
    with backend().open(address) as fh:
        yield from decrypt_stream(fh)


def read_plaintext(address: str) -> bytes:
    return b"".join(open_plaintext(address))


def delete(address: str) -> None:
    backend().delete(address)


def verify_object(store: Backend, address: str) -> str | None:
    """None if the object decrypts and its plaintext has this content address; else what is wrong."""
    digest = hashlib.sha256()
    try:
        with store.open(address) as fh:
            for chunk in decrypt_stream(fh):
                digest.update(chunk)
    except FileNotFoundError:
        return "missing"
    except DecryptionError as exc:
        return f"does not decrypt: {exc}"
    if content_address(digest.hexdigest()) != address:
        return "its content does not match its address"
    return None


def check() -> None:
    backend().check()


@dataclass(frozen=True)
class SweepOutcome:
    temporaries: int
    unreferenced: int
    uploads: int


def storage_sweep(*, grace: timedelta = SWEEP_GRACE, now: float | None = None) -> SweepOutcome:
    """Remove what a crash or a rolled-back transaction left behind, older than `grace`:
    local temporaries, objects no `Blob` row names, and unfinished multipart uploads.
    Idempotent; safe while the site runs (anything younger than `grace` stays)."""
    from django.db import transaction

    from himaya.core.models import Blob

    cutoff = (now or time.time()) - grace.total_seconds()
    temporaries = 0
    tmp_dir = media_root() / "tmp"
    if tmp_dir.is_dir():
        for path in tmp_dir.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    temporaries += 1
            except FileNotFoundError:
                pass
    store = backend()
    unreferenced = 0
    batch: list[StoredObject] = []

    def drain() -> int:
        removed = 0
        known = set(Blob.objects.filter(address__in=[o.address for o in batch]).values_list("address", flat=True))
        for obj in batch:
            if obj.address in known:
                continue
            with transaction.atomic():
                # Under the row lock `blob_put` takes: a content recorded meanwhile stays.
                if Blob.objects.select_for_update().filter(address=obj.address).exists():
                    continue
                store.delete(obj.address)
                removed += 1
        batch.clear()
        return removed

    for obj in store.objects():
        if obj.modified < cutoff:
            batch.append(obj)
            if len(batch) >= 500:
                unreferenced += drain()
    unreferenced += drain()
    return SweepOutcome(temporaries=temporaries, unreferenced=unreferenced, uploads=store.sweep_uploads(cutoff))
