"""Moving a local store into S3-compatible storage while the site runs (`himaya storage migrate`).

The procedure (README, "Storage"):
1. with the site still on local files, `himaya storage migrate --to s3://...` copies every
   stored file and checks each copy by its content address (decrypted and hashed back);
2. set HIMAYA_STORAGE_URL to the same URL and restart the machines one by one: new files go
   to S3; a read that finds no object there falls back to the local file of the same address;
3. run `himaya storage migrate` again: it copies what was written locally during the switch
   (anything already there is skipped), and reports 0 to copy when the move is complete.
Safe to re-run at any point: a file is stored under its address once, complete or not at all.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from himaya.core import storage
from himaya.core.storage import Backend, LocalBackend, StorageError


@dataclass
class MigrateOutcome:
    copied: int = 0
    present: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.failed


def remote_target(url: str) -> Backend:
    """The store at `url` itself, without the local fallback reads (so "present" means there)."""
    if not url.startswith("s3://"):
        raise StorageError(f"migrate moves the local store into S3-compatible storage: give an s3:// URL, not {url!r}")
    from himaya.core.storage_s3 import S3Backend

    return S3Backend.from_url(url)


def _addresses(source: Backend) -> Iterator[str]:
    """Every address the database names, then any other file of the source (stray, not yet recorded)."""
    from himaya.core.models import Blob

    seen = set()
    for address in Blob.objects.order_by("address").values_list("address", flat=True).iterator(chunk_size=2000):
        seen.add(address)
        yield address
    for obj in source.objects():
        if obj.address not in seen:
            yield obj.address


def storage_migrate(*, target: Backend, source: LocalBackend | None = None, verify_present: bool = False,
                    progress: Callable[[str, str], None] | None = None) -> MigrateOutcome:
    source = source or LocalBackend(storage.media_root())
    outcome = MigrateOutcome()
    for address in _addresses(source):
        if target.exists(address):
            problem = storage.verify_object(target, address) if verify_present else None
            if problem is None:
                outcome.present += 1
                _tell(progress, address, "present")
                continue
        if not source.exists(address):
            outcome.failed.append((address, "in neither store"))
            _tell(progress, address, "missing")
            continue
        problem = storage.verify_object(source, address)
        if problem:
            outcome.failed.append((address, f"local copy {problem}"))
            _tell(progress, address, "damaged")
            continue
        target.put(address, storage.local_path(source.root, address))
        problem = storage.verify_object(target, address)
        if problem:
            outcome.failed.append((address, f"copy {problem}"))
            _tell(progress, address, "failed")
            continue
        outcome.copied += 1
        _tell(progress, address, "copied")
    return outcome


def _tell(progress: Callable[[str, str], None] | None, address: str, what: str) -> None:
    if progress:
        progress(address, what)
