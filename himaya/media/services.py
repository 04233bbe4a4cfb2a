"""Writes of media state: hashing, matching, hash lists, re-matching, legal authorisations.

Every change writes its audit event in the same transaction. Hashing runs in
background tasks; it reads the encrypted store, never writes plaintext to disk.
"""
from __future__ import annotations

import hashlib
import heapq
import io
import itertools
import json
import logging
import operator
import os
import pickle
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from himaya.accounts.permissions import Action, Kind, allowed, check
from himaya.audit.services import actor_label
from himaya.core.models import Blob
from himaya.core.storage import open_plaintext
from himaya.media import conf, events, vics
from himaya.media.errors import MessageError, gettext_noop
from himaya.media.hashing import Undecodable, media_hashes
from himaya.media.index import PDQIndex
from himaya.media.models import (
    Algorithm, CategoryScheme, FileStatus, HashEntry, HashList, HashState, LegalAuthorisation, ListKind,
    MediaKind, MediaMatch, MediaState, RematchJob,
)
from himaya.media.signals import media_status_changed

log = logging.getLogger(__name__)

HASHLIST_FORMATS = ("vics", "csv", "lines")
# Which list kind decides the verdict when a file is on several lists: the most serious wins.
STATUS_BY_KIND = {ListKind.KNOWN: FileStatus.KNOWN, ListKind.SEIZURE: FileStatus.KNOWN, ListKind.VIRAL: FileStatus.VIRAL, ListKind.BENIGN: FileStatus.BENIGN}
STATUS_RANK = [FileStatus.KNOWN, FileStatus.VIRAL, FileStatus.BENIGN]


class MediaError(MessageError):
    pass


# ---------------------------------------------------------------- hashing

def report_contents_hash(*, report_id: int) -> list[str]:
    """Hash and match every distinct content of one report's files (the media stage of its
    enrichment). A content already hashed and matched (the same file in an earlier report) is
    left as it is: adding or changing a list re-matches stored contents on its own. Idempotent.
    Returns the report's content addresses."""
    from himaya.reports.models import ReportFile

    addresses = sorted(set(ReportFile.objects.filter(report_id=report_id, blob__isnull=False).values_list("blob_id", flat=True)))
    settled = set(MediaState.objects.filter(blob_id__in=addresses, matched_at__isnull=False).exclude(state=HashState.PENDING)
                  .values_list("blob_id", flat=True))
    for address in addresses:
        if address not in settled:
            media_hash_blob(address=address)
    return addresses


def _read_capped(address: str, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in open_plaintext(address):
        size += len(chunk)
        if size > limit:
            raise Undecodable(f"larger than the {limit} bytes decoded in memory")
        chunks.append(chunk)
    return b"".join(chunks)


def media_hash_blob(*, address: str, force: bool = False) -> MediaState:
    """Hash one stored content (idempotent: a hashed content is only re-matched), then match it
    together with every other content waiting to be matched (`media_match_arrivals`).
    Returns the content's state after matching."""
    blob = Blob.objects.get(address=address)
    state, _ = MediaState.objects.get_or_create(blob=blob)
    if force or state.state == HashState.PENDING:
        fields: dict[str, Any] = dict(kind=MediaKind.OTHER, reason="", pdq="", pdq_quality=None, pdq_dihedral=[], vpdq=[])
        try:
            hashes = media_hashes(_read_capped(address, conf.max_decode_bytes()))
            fields.update(kind=hashes.kind, pdq=hashes.pdq, pdq_quality=hashes.pdq_quality, pdq_dihedral=hashes.pdq_dihedral, vpdq=hashes.vpdq)
            fields["state"] = HashState.HASHED
        except Undecodable as exc:
            fields.update(state=HashState.UNDECODABLE, reason=str(exc))
        except Exception as exc:  # a decoder bug must never stop the pipeline; keep the reason
            log.exception("hashing %s failed", address)
            fields.update(state=HashState.UNDECODABLE, reason=f"hashing failed: {type(exc).__name__}: {exc}")
        with transaction.atomic():
            MediaState.objects.filter(blob=blob).update(hashed_at=timezone.now(), **fields)
            events.media_hashed_event(blob=blob, state=fields["state"], kind=fields["kind"], pdq=fields["pdq"], reason=fields["reason"])
    return media_match_arrivals(address=address)


# ---------------------------------------------------------------- the PDQ index shared by a process

@dataclass
class _LoadedIndex:
    signature: tuple[Any, ...]
    index: PDQIndex
    entry_ids: np.ndarray
    video_group: np.ndarray  # per row: -1 for an image's PDQ, else the listed video it is a frame of
    group_sizes: np.ndarray  # frames per listed video


_index_lock = threading.Lock()
_loaded: _LoadedIndex | None = None
PERCEPTUAL = (Algorithm.PDQ, Algorithm.VPDQ)


def _index_folder(signature: tuple[Any, ...], threshold: int) -> Path:
    from himaya.core.storage import media_root

    digest = hashlib.sha256(repr((signature, threshold)).encode()).hexdigest()[:16]
    return media_root() / "index" / f"pdq-{signature[0]}-{digest}"


def _index_build(signature: tuple[Any, ...], threshold: int) -> _LoadedIndex:
    """Build from the database and publish the arrays under HIMAYA_HOME/media/index/ (an atomic rename)."""
    rows = list(HashEntry.objects.filter(algorithm__in=PERCEPTUAL).order_by("id").values_list("id", "value", "algorithm", "hash_list_id", "media_id"))
    groups: dict[tuple[int, str], int] = {}
    # int32 where the values fit: these arrays sit beside the index, per listed hash (8 bytes, not 16).
    video_group = np.array([groups.setdefault((r[3], r[4]), len(groups)) if r[2] == Algorithm.VPDQ else -1 for r in rows], dtype=np.int32)
    sizes = np.bincount(video_group[video_group >= 0], minlength=len(groups)).astype(np.int64) if groups else np.zeros(0, dtype=np.int64)
    id_type = np.int32 if not rows or rows[-1][0] < 2**31 else np.int64
    loaded = _LoadedIndex(signature, PDQIndex.from_hex((r[1] for r in rows), threshold=threshold, layout=signature[3]),
                          np.array([r[0] for r in rows], dtype=id_type), video_group, sizes)
    folder = _index_folder(signature, threshold)
    tmp = folder.with_name(f"tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        loaded.index.save(tmp)
        for name in ("entry_ids", "video_group", "group_sizes"):
            np.save(tmp / f"{name}.npy", getattr(loaded, name))
        if not folder.exists():  # another worker may have published the same signature first: keep theirs
            os.replace(tmp, folder)
        for old in folder.parent.glob("pdq-*"):
            if old != folder:  # processes that mapped it keep their pages until they move on
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        log.warning("could not publish the PDQ index to %s; this process keeps its own copy", folder, exc_info=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return loaded


def pdq_index() -> _LoadedIndex:
    """The index of every listed PDQ and vPDQ frame hash, current with the lists.

    The signature (every list's id, version and last import time) moves with every
    import or deletion, and costs one read of the small lists table: counting the
    entries instead would read millions of rows for every file matched. The first
    worker to see a new signature builds the index and publishes it as .npy files; the
    others map those files read-only, so N workers share one copy through the page
    cache instead of building N.
    """
    global _loaded
    # Ids alone can repeat after a deletion (SQLite reuses them); an import time cannot.
    lists = sorted((i, v, t.isoformat()) for i, v, t in HashList.objects.values_list("id", "version", "updated_at"))
    threshold = conf.pdq_max_distance()
    signature = (len(lists), hashlib.sha256(repr(lists).encode()).hexdigest()[:16], threshold, conf.pdq_index_layout())
    with _index_lock:
        if _loaded is not None and _loaded.signature == signature:
            return _loaded
        folder = _index_folder(signature, threshold)
        try:
            _loaded = _LoadedIndex(signature, PDQIndex.load(folder), *(np.load(folder / f"{n}.npy") for n in ("entry_ids", "video_group", "group_sizes")))
        except (OSError, ValueError):
            _loaded = _index_build(signature, threshold)
        return _loaded


# ---------------------------------------------------------------- matching

def _hex_array(hashes: Iterable[str]) -> np.ndarray:
    """(N, 32) uint8 from 64-digit hex strings (the index's query shape)."""
    joined = "".join(hashes)
    return np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(-1, 32) if joined else np.zeros((0, 32), dtype=np.uint8)


def _pdq_best(loaded: _LoadedIndex, rows: np.ndarray, distances: np.ndarray) -> dict[int, int]:
    """Listed image hashes among the index hits: entry id -> the best distance over the queries."""
    best: dict[int, int] = {}
    for row, distance in zip(rows, distances):
        if loaded.video_group[row] < 0:
            entry_id = int(loaded.entry_ids[row])
            best[entry_id] = min(best.get(entry_id, 999), int(distance))
    return best


def _vpdq_decide(loaded: _LoadedIndex, good: int, queries: np.ndarray, rows: np.ndarray, distances: np.ndarray) -> dict[int, int]:
    """vPDQ: a listed video matches when at least the configured share of this video's `good`
    frames match some frame of it, and at least that share of its frames are matched
    (the reference's query- and compared-match percentages). `queries` are positions
    among the good frames, in search order. Entry id (its first frame) -> best distance."""
    query_hits: dict[int, set[int]] = {}
    listed_hits: dict[int, set[int]] = {}
    best: dict[int, tuple[int, int]] = {}
    for q, row, distance in zip(queries, rows, distances):
        group = int(loaded.video_group[row])
        if group < 0:
            continue
        query_hits.setdefault(group, set()).add(int(q))
        listed_hits.setdefault(group, set()).add(int(row))
        entry_id = int(loaded.entry_ids[row])
        if group not in best or distance < best[group][1]:
            best[group] = (entry_id, int(distance))
    share = conf.vpdq_match_share()
    return {
        best[g][0]: best[g][1] for g in query_hits
        if len(query_hits[g]) / good >= share and len(listed_hits[g]) / max(1, int(loaded.group_sizes[g])) >= share
    }


def _good_frames(frames: list[list]) -> list[str]:
    return sorted({f[2] for f in frames if f[1] >= conf.pdq_min_quality()})


def _pdq_queries(state: Any) -> list[str]:
    """The image's 8 dihedral hashes (or its one PDQ) when its quality allows perceptual matching."""
    if state.pdq and (state.pdq_quality or 0) >= conf.pdq_min_quality():
        return list(state.pdq_dihedral or [state.pdq])
    return []


def _pdq_matches(queries: list[str]) -> dict[int, int]:
    """Listed image hashes within the threshold of any query (the file's 8 dihedral hashes): entry id -> distance."""
    if not queries:
        return {}
    loaded = pdq_index()
    _, rows, distances = loaded.index.search_arrays(_hex_array(queries))
    return _pdq_best(loaded, rows, distances)


def _vpdq_matches(frames: list[list]) -> dict[int, int]:
    good = _good_frames(frames)
    if not good:
        return {}
    loaded = pdq_index()
    queries, rows, distances = loaded.index.search_arrays(_hex_array(good))
    return _vpdq_decide(loaded, len(good), queries, rows, distances)


def _status(state: MediaState, kinds: Iterable[str]) -> str:
    statuses = {STATUS_BY_KIND[k] for k in kinds}
    for status in STATUS_RANK:
        if status in statuses:
            return status
    if state.state == HashState.PENDING:
        return FileStatus.PENDING
    return FileStatus.NEW


def media_match_blob(*, address: str) -> MediaState:
    blob = Blob.objects.get(address=address)
    state, _ = MediaState.objects.get_or_create(blob=blob)
    found: dict[int, tuple[str, int]] = {}
    exact = HashEntry.objects.filter(
        Q(algorithm=Algorithm.MD5, value=blob.md5) | Q(algorithm=Algorithm.SHA1, value=blob.sha1) | Q(algorithm=Algorithm.SHA256, value=blob.sha256)
    ).values_list("id", "algorithm")
    for entry_id, algorithm in exact:
        found[entry_id] = (algorithm, 0)
    for entry_id, distance in _pdq_matches(_pdq_queries(state)).items():
        found.setdefault(entry_id, (Algorithm.PDQ, distance))
    if state.vpdq:
        for entry_id, distance in _vpdq_matches(state.vpdq).items():
            found.setdefault(entry_id, ("vpdq", distance))
    entries = {e.id: e for e in HashEntry.objects.filter(id__in=found).select_related("hash_list")}
    with transaction.atomic():
        state = MediaState.objects.select_for_update().get(blob=blob)
        old = state.status
        old_keys = set(MediaMatch.objects.filter(blob=blob).values_list("entry_id", "algorithm", "distance"))
        new_keys = {(eid, alg, d) for eid, (alg, d) in found.items() if eid in entries}
        if old_keys != new_keys:
            MediaMatch.objects.filter(blob=blob).delete()
            MediaMatch.objects.bulk_create([
                MediaMatch(blob=blob, entry_id=eid, hash_list_id=entries[eid].hash_list_id, algorithm=alg, distance=d) for eid, alg, d in new_keys
            ])
        state.status = _status(state, (entries[eid].hash_list.kind for eid, _, _ in new_keys))
        state.matched_at = timezone.now()
        state.save(update_fields=["status", "matched_at"])
        if old != state.status or old_keys != new_keys:
            events.media_matched_event(address=blob.address, old_status=old, status=state.status,
                                       matches=sorted([entries[eid].hash_list.name, alg, d] for eid, alg, d in new_keys))
        if old != state.status:
            from himaya.reports.models import ReportFile

            report_ids = sorted(set(ReportFile.objects.filter(blob=blob).values_list("report_id", flat=True)))
            new_status = state.status
            transaction.on_commit(lambda: media_status_changed.send(
                sender=MediaState, blob_address=address, old_status=old, new_status=new_status, report_ids=report_ids))
    return state


# ---------------------------------------------------------------- hash lists

IMPORT_BATCH = 10_000  # entries a transaction on SQLite: each holds the write lock well under a second, so intake interleaves
IMPORT_BATCH_POSTGRES = 50_000  # one COPY a transaction; PostgreSQL's row locks never block intake's writes
IMPORT_PAUSE = 0.1  # s between SQLite batches: a waiting writer's busy handler polls every 100 ms, so it gets the lock in one poll
SORT_RUN = 400_000  # entries sorted in memory at a time (~120 MB); a longer list is merged from sorted runs in temporary files
_ENTRY_COLUMNS = ("hash_list_id", "version", "algorithm", "value", "media_id", "category", "victim_identified", "is_distributed", "series", "extra")
_INDEX_ORDER = operator.itemgetter(2, 3)  # (algorithm, value): the order of the entries' index
PURGE_BATCH = 5_000
IMPORT_STALE = timedelta(minutes=10)  # an import whose last batch is older than this has died


class _Sha256Reader(io.RawIOBase):
    """A byte stream that hashes what is read through it (the list's source_sha256, without a copy)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[:len(data)] = data
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def _parse(stream: BinaryIO, *, fmt: str, scheme: str, algorithm: str = "") -> tuple[Callable[[], str], Iterator[vics.ParsedEntry]]:
    """(the source format once the file is read, entries as an iterator): every format is read as a stream."""
    if fmt == "vics":
        info: dict[str, str] = {}
        return lambda: f"vics-{info['version']}", vics.iter_vics(stream, scheme=scheme or "projectvic", info=info)
    if fmt == "csv":
        return lambda: "csv", vics.iter_csv(stream, scheme=scheme)
    if fmt == "lines":
        return lambda: "lines", vics.iter_lines(stream, algorithm=algorithm)
    raise vics.ListFormatError(gettext_noop("unknown format {format}; choose from {choices}"), format=repr(fmt), choices=", ".join(HASHLIST_FORMATS))


def _entry_row(e: vics.ParsedEntry, list_id: int, version: int) -> tuple[Any, ...]:
    return (list_id, version, e.algorithm, e.value, e.media_id[:100], e.category, e.victim_identified, e.is_distributed, e.series,
            json.dumps(e.extra) if e.extra else "{}")


def _read_run(path: Path) -> Iterator[tuple[Any, ...]]:
    with path.open("rb") as fh:
        while True:
            try:
                yield from pickle.load(fh)
            except EOFError:
                return


def _sorted_rows(parsed: Iterator[vics.ParsedEntry], *, list_id: int, version: int) -> Iterator[tuple[Any, ...]]:
    """The entries as table rows in the order of the (algorithm, value) index, in bounded memory (an
    external merge sort: runs of SORT_RUN sorted in memory, written to temporary files, merged).

    Why sort: a hash list arrives in random order, so each row went to a random page of the index,
    and every batch rewrote thousands of pages (on SQLite 2 M MD5s: 85 s CPU, 35 s of it in the
    kernel writing the WAL; sorted, 31 s and 2 s). Side effect: a list of more than one run is parsed
    whole before the first row is written, so a format error late in the file writes nothing."""
    run = sorted((_entry_row(e, list_id, version) for e in itertools.islice(parsed, SORT_RUN)), key=_INDEX_ORDER)
    if len(run) < SORT_RUN:
        yield from run
        return
    with tempfile.TemporaryDirectory(prefix="himaya-hashlist-") as folder:
        paths: list[Path] = []
        while run:
            paths.append(Path(folder) / f"run{len(paths)}")
            with paths[-1].open("wb") as fh:
                for start in range(0, len(run), 10_000):
                    pickle.dump(run[start:start + 10_000], fh, protocol=pickle.HIGHEST_PROTOCOL)
            run = []  # freed before the next run is read
            run = sorted((_entry_row(e, list_id, version) for e in itertools.islice(parsed, SORT_RUN)), key=_INDEX_ORDER)
        yield from heapq.merge(*(_read_run(path) for path in paths), key=_INDEX_ORDER)


def _write_rows(rows: list[tuple[Any, ...]]) -> None:
    """One batch of entry rows in the current transaction: COPY on PostgreSQL, one prepared INSERT
    on SQLite (not the ORM: building 10 field values a model instance cost 5x the database's work)."""
    table, columns = HashEntry._meta.db_table, ", ".join(_ENTRY_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_ENTRY_COLUMNS))})", rows)


def _import_begin(*, name: str, kind: str) -> tuple[HashList, int, bool]:
    """Claim the list's next version for this import (one short transaction); a new list is version 0, unseen."""
    with transaction.atomic():
        hash_list, created = HashList.objects.select_for_update().get_or_create(name=name, defaults=dict(kind=kind, version=0))
        now = timezone.now()
        if hash_list.import_version and hash_list.import_heartbeat and now - hash_list.import_heartbeat < IMPORT_STALE:
            raise MediaError(gettext_noop("{name} is being imported right now; try again when that import has finished"), name=repr(name))
        new_version = max(hash_list.version, hash_list.import_version or 0) + 1
        HashList.objects.filter(pk=hash_list.pk).update(import_version=new_version, import_heartbeat=now)
    return hash_list, new_version, created or hash_list.version == 0


def _purge(*, list_id: int, keep: int) -> None:
    """Delete a list's entries of every version but `keep` (a replaced version, a dead import), a short batch at a time."""
    while True:
        ids = list(HashEntry.all_versions.filter(hash_list_id=list_id).exclude(version=keep).values_list("id", flat=True)[:PURGE_BATCH])
        if not ids:
            return
        with transaction.atomic():
            HashEntry.all_versions.filter(id__in=ids).delete()


def _import_discard(*, list_id: int, new_version: int, was_new: bool) -> None:
    """A failed import leaves nothing: its entries go, and a list it created goes with them."""
    with transaction.atomic():
        hash_list = HashList.objects.select_for_update().filter(pk=list_id).first()
        if hash_list is None or hash_list.import_version != new_version:
            return  # another import took the list over; it purges what is left
        HashList.objects.filter(pk=list_id).update(import_version=None, import_heartbeat=None)
    _purge(list_id=list_id, keep=hash_list.version)
    if was_new:
        HashList.objects.filter(pk=list_id, version=0, import_version__isnull=True).delete()


def hashlist_import(*, data: bytes | None = None, source: BinaryIO | None = None, name: str, kind: str, fmt: str = "vics",
                    scheme: str | None = None, provenance: str = "", source_name: str = "", algorithm: str = "", actor: Any,
                    batch: int | None = None) -> HashList:
    """Create or replace a list from a file (`data`, or a binary stream `source`); all or nothing. A changed
    list re-matches every stored file. The lists are national: the operator, or a supervisor of the national
    unit (the one table).

    Large lists stream: lines and CSV are parsed a line at a time, sorted in bounded runs into the
    index's order (`_sorted_rows`) and written `batch` entries a transaction under the list's next
    version, so memory does not grow with the list and intake's writes interleave with the import (on
    SQLite each batch holds the write lock briefly, then the import pauses so a waiting writer gets it). Readers see
    the previous version until one short transaction switches the list to the new one with its audit
    event and re-match job; the old entries are then purged in batches. Deliberately not one atomic
    block: a 6 M-entry list in one transaction held SQLite's write lock for minutes (issue 18)."""
    check(actor, Action.MANAGE, Kind.HASH_LIST)
    if kind not in ListKind.values:
        raise MediaError(gettext_noop("unknown kind {kind}; choose from {choices}"), kind=repr(kind), choices=", ".join(ListKind.values))
    if not name.strip():
        raise MediaError(gettext_noop("a list needs a name"))
    if scheme is None:
        scheme = CategoryScheme.PROJECT_VIC if kind == ListKind.KNOWN and fmt == "vics" else CategoryScheme.NONE
    if scheme not in CategoryScheme.values:
        raise MediaError(gettext_noop("unknown category scheme {scheme}"), scheme=repr(scheme))
    if fmt not in HASHLIST_FORMATS:
        raise vics.ListFormatError(gettext_noop("unknown format {format}; choose from {choices}"), format=repr(fmt), choices=", ".join(HASHLIST_FORMATS))
    digest = _Sha256Reader(source if source is not None else io.BytesIO(data or b""))
    stream = io.BufferedReader(digest, 1 << 20)
    hash_list, new_version, was_new = _import_begin(name=name, kind=kind)
    count = 0
    try:
        _purge(list_id=hash_list.pk, keep=hash_list.version)  # what a dead import left behind
        describe, parsed = _parse(stream, fmt=fmt, scheme=scheme, algorithm=algorithm)
        sqlite = connection.vendor == "sqlite"
        batch = batch or (IMPORT_BATCH if sqlite else IMPORT_BATCH_POSTGRES)
        rows = _sorted_rows(parsed, list_id=hash_list.pk, version=new_version)
        while chunk := list(itertools.islice(rows, batch)):
            with transaction.atomic():
                _write_rows(chunk)
                HashList.objects.filter(pk=hash_list.pk, import_version=new_version).update(import_heartbeat=timezone.now())
            count += len(chunk)
            del chunk
            if sqlite:
                time.sleep(IMPORT_PAUSE)
        while stream.read(1 << 20):  # the digest covers the whole file
            pass
        source_format = describe()
        with transaction.atomic():
            hash_list = HashList.objects.select_for_update().get(pk=hash_list.pk)
            if hash_list.import_version != new_version:
                raise MediaError(gettext_noop("another import of {name} took over; nothing was imported"), name=repr(name))
            hash_list.version = new_version
            hash_list.import_version = hash_list.import_heartbeat = None
            hash_list.kind = kind
            hash_list.category_scheme = scheme
            hash_list.provenance = provenance or hash_list.provenance
            hash_list.source_name = source_name[:500]
            hash_list.source_format = source_format
            hash_list.source_sha256 = digest.sha256.hexdigest()
            hash_list.imported_by = actor_label(actor)[:200]
            hash_list.entry_count = count
            hash_list.save()
            events.hashlist_imported_event(actor=actor, hash_list=hash_list, entries=count, source_format=source_format, source_name=source_name)
            rematch_job_start(reason=f"list {name} version {hash_list.version}", list_name=name, trigger=RematchJob.Trigger.IMPORT,
                              list_version=hash_list.version, actor=actor)
    except BaseException:
        _import_discard(list_id=hash_list.pk, new_version=new_version, was_new=was_new)
        raise
    _purge(list_id=hash_list.pk, keep=new_version)  # the replaced version, already invisible
    return hash_list


def hashlist_export(*, name: str, actor: Any) -> bytes:
    check(actor, Action.EXPORT, Kind.HASH_LIST)
    hash_list = HashList.objects.filter(name=name).first()
    if hash_list is None:
        raise MediaError(gettext_noop("no hash list named {name}"), name=repr(name))
    entries = list(hash_list.entries.order_by("id").values("algorithm", "value", "media_id", "category", "series", "victim_identified", "is_distributed", "extra"))
    with transaction.atomic():
        events.hashlist_exported_event(actor=actor, hash_list=hash_list, entries=len(entries))
    return vics.export_vics(name=name, version=hash_list.version, entries=entries)


@transaction.atomic
def hashlist_delete(*, name: str, reason: str, actor: Any) -> RematchJob:
    """Retire a list: its entries and the matches they made go; why, who and what it held stay in the audit log.
    Every stored file is re-matched without it (a known file may become new). National: as `hashlist_import`."""
    check(actor, Action.MANAGE, Kind.HASH_LIST)
    reason = reason.strip()
    if not reason:
        raise MediaError(gettext_noop("say why the list is retired"))
    hash_list = HashList.objects.select_for_update().filter(name=name).first()
    if hash_list is None:
        raise MediaError(gettext_noop("no hash list named {name}"), name=repr(name))
    events.hashlist_deleted_event(actor=actor, hash_list=hash_list, reason=reason)
    version = hash_list.version
    hash_list.delete()
    return rematch_job_start(reason=f"list {name} deleted: {reason}", list_name=name, trigger=RematchJob.Trigger.DELETE, list_version=version, actor=actor)


# ---------------------------------------------------------------- re-matching

def rematch_job_start(*, reason: str, list_name: str = "", trigger: str = "", list_version: int | None = None, actor: Any = None) -> RematchJob:
    from himaya.media.tasks import media_rematch

    with transaction.atomic():
        job = RematchJob.objects.create(reason=reason[:200], hash_list_name=list_name, trigger=trigger, hash_list_version=list_version,
                                        requested_by=actor_label(actor)[:200], total=MediaState.objects.count())
        events.media_rematch_queued_event(actor=actor, job=job, reason=reason)
        transaction.on_commit(lambda: media_rematch.enqueue(job_id=job.id))
    return job


@dataclass
class _BatchRow:
    address: str
    state: str
    status: str
    pdq: str
    pdq_quality: int | None
    pdq_dihedral: list[str]
    vpdq: list[list]
    md5: str
    sha1: str
    sha256: str


_BATCH_FIELDS = ("blob_id", "state", "status", "pdq", "pdq_quality", "pdq_dihedral", "vpdq", "blob__md5", "blob__sha1", "blob__sha256")
_IN_CHUNK = 5000  # ids per IN (...): SQLite refuses more than 32,766 parameters


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


def _batch_found(rows: list[_BatchRow], loaded: _LoadedIndex) -> dict[str, dict[int, tuple[str, int]]]:
    """Per content: entry id -> (algorithm, distance), decided as `media_match_blob` decides it,
    with one query for the exact hashes and one index search for every PDQ, dihedral and vPDQ frame."""
    found: dict[str, dict[int, tuple[str, int]]] = {r.address: {} for r in rows}
    by_value: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for algorithm, value in ((Algorithm.MD5, r.md5), (Algorithm.SHA1, r.sha1), (Algorithm.SHA256, r.sha256)):
            by_value.setdefault((algorithm.value, value), []).append(r.address)
    condition = Q()
    for algorithm in (Algorithm.MD5, Algorithm.SHA1, Algorithm.SHA256):
        values = sorted({v for (a, v) in by_value if a == algorithm and v})
        if values:
            condition |= Q(algorithm=algorithm, value__in=values)
    if condition:
        for entry_id, algorithm, value in HashEntry.objects.filter(condition).order_by().values_list("id", "algorithm", "value"):
            for address in by_value.get((algorithm, value), ()):
                found[address][entry_id] = (algorithm, 0)

    # One search for the whole batch; each content's queries are a contiguous slice, in the
    # order the per-file path uses, so ties are broken the same way.
    queries: list[str] = []
    slices: list[tuple[str, str, int, int]] = []  # (address, "pdq"|"vpdq", first query, end)
    for r in rows:
        for kind, hashes in (("pdq", _pdq_queries(r)), ("vpdq", _good_frames(r.vpdq) if r.vpdq else [])):
            if hashes:
                slices.append((r.address, kind, len(queries), len(queries) + len(hashes)))
                queries.extend(hashes)
    if not queries:
        return found
    q, hit_rows, distances = loaded.index.search_arrays(_hex_array(queries))
    for address, kind, first, end in slices:
        lo, hi = np.searchsorted(q, first, side="left"), np.searchsorted(q, end, side="left")
        if kind == "pdq":
            perceptual = _pdq_best(loaded, hit_rows[lo:hi], distances[lo:hi])
            algorithm = Algorithm.PDQ.value
        else:
            perceptual = _vpdq_decide(loaded, end - first, q[lo:hi] - first, hit_rows[lo:hi], distances[lo:hi])
            algorithm = Algorithm.VPDQ.value
        for entry_id, distance in perceptual.items():
            found[address].setdefault(entry_id, (algorithm, distance))
    return found


def media_match_batch(*, after: str = "", limit: int = 500, addresses: Collection[str] | None = None) -> list[str]:
    """Match the next `limit` stored contents after the address `after` (the re-match job's
    cursor), or exactly the stored contents among `addresses` (arrivals; `after` and `limit`
    are then not used); the batched form of `media_match_blob`.

    Same verdicts, match records, audit events and `media_status_changed` signals as
    calling `media_match_blob` on each content, with a fixed number of queries per batch:
    the contents with their hashes (locked), the exact-hash entries, the index search,
    the matched entries with their lists, the current matches, and bulk writes of what
    changed. Runs in the caller's transaction when there is one (the re-match job
    commits the batch together with its cursor). Returns the addresses processed.
    """
    loaded = pdq_index()  # loaded or built before taking row locks: a build can take a while
    with transaction.atomic():
        locked = MediaState.objects.select_for_update(of=("self",)).order_by("blob_id")
        if addresses is None:
            rows = [_BatchRow(*values) for values in locked.filter(blob_id__gt=after).values_list(*_BATCH_FIELDS)[:limit]]
        else:
            rows = [_BatchRow(*values) for chunk in _chunks(sorted(set(addresses))) for values in locked.filter(blob_id__in=chunk).values_list(*_BATCH_FIELDS)]
        if not rows:
            return []
        addresses = [r.address for r in rows]
        found = _batch_found(rows, loaded)
        entry_ids = sorted({eid for per in found.values() for eid in per})
        entries: dict[int, tuple[int, str, str]] = {}  # id -> (list id, list kind, list name)
        for chunk in _chunks(entry_ids):
            for eid, list_id, kind, name in HashEntry.objects.filter(id__in=chunk).values_list("id", "hash_list_id", "hash_list__kind", "hash_list__name"):
                entries[eid] = (list_id, kind, name)
        old_keys: dict[str, set[tuple[int, str, int]]] = {a: set() for a in addresses}
        for address, eid, algorithm, distance in MediaMatch.objects.filter(blob_id__in=addresses).values_list("blob_id", "entry_id", "algorithm", "distance"):
            old_keys[address].add((eid, algorithm, distance))

        now = timezone.now()
        by_status: dict[str, list[str]] = {}
        rematched: list[str] = []
        new_matches: list[MediaMatch] = []
        changed: list[tuple[str, str, str]] = []  # (address, old status, new status)
        for r in rows:
            new_keys = {(eid, alg, d) for eid, (alg, d) in found[r.address].items() if eid in entries}
            status = _status(r, (entries[eid][1] for eid, _, _ in new_keys))
            by_status.setdefault(status, []).append(r.address)
            if old_keys[r.address] != new_keys:
                rematched.append(r.address)
                new_matches.extend(MediaMatch(blob_id=r.address, entry_id=eid, hash_list_id=entries[eid][0], algorithm=alg, distance=d)
                                   for eid, alg, d in new_keys)
            if r.status != status or old_keys[r.address] != new_keys:
                events.media_matched_event(address=r.address, old_status=r.status, status=status,
                                           matches=sorted([entries[eid][2], alg, d] for eid, alg, d in new_keys))
            if r.status != status:
                changed.append((r.address, r.status, status))
        for chunk in _chunks(rematched):
            MediaMatch.objects.filter(blob_id__in=chunk).delete()
        MediaMatch.objects.bulk_create(new_matches, batch_size=2000)
        for status, members in by_status.items():
            for chunk in _chunks(members):
                MediaState.objects.filter(blob_id__in=chunk).update(status=status, matched_at=now)
        if changed:
            from himaya.reports.models import ReportFile

            reports: dict[str, set[int]] = {}
            for chunk in _chunks([c[0] for c in changed]):
                for address, report_id in ReportFile.objects.filter(blob_id__in=chunk).values_list("blob_id", "report_id"):
                    reports.setdefault(address, set()).add(report_id)
            for address, old, new in changed:
                ids = sorted(reports.get(address, ()))
                transaction.on_commit(lambda a=address, o=old, n=new, i=ids: media_status_changed.send(
                    sender=MediaState, blob_address=a, old_status=o, new_status=n, report_ids=i))
    return addresses


ARRIVAL_BATCH = 2000  # contents matched at most per arrival batch (a batch of 2,000 is ~16,000 index queries)


def _waiting_to_match() -> Any:
    """Hashed (or found undecodable) and never matched since. Such a content still has the
    default status `pending`, so the status index finds them without reading every stored content."""
    return MediaState.objects.filter(status=FileStatus.PENDING, matched_at__isnull=True).exclude(state=HashState.PENDING)


def _unlocked(queryset: Any) -> Any:
    """The rows no other transaction holds, locked for this one (SQLite has no row locks: every row)."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def media_match_arrivals(*, address: str, limit: int = ARRIVAL_BATCH) -> MediaState:
    """Match the content just hashed together with every content waiting to be matched, up to
    `limit`, in one `media_match_batch`; return the content's state after matching.

    Files arriving faster than they are matched pile up as waiting rows, and the first worker
    to finish hashing takes them all: batches grow with the load (the compact index answers a
    batch of thousands as fast as the fast one), each file waits at most about one batch.
    Workers skip the rows another worker has locked (SQLite has no row locks: its writers take
    turns). Rows left behind by a worker killed mid-batch are taken by the next arrival.
    """
    pdq_index()  # loaded or built before taking row locks: a build can take a while
    with transaction.atomic():
        # Never wait for a row lock while holding others: two workers each holding the other's file would deadlock.
        own = list(_unlocked(MediaState.objects.filter(blob_id=address)).values_list("blob_id", flat=True))
        waiting = _unlocked(_waiting_to_match().exclude(blob_id=address).order_by("hashed_at", "blob_id"))
        others = list(waiting.values_list("blob_id", flat=True)[:max(0, limit - 1)])
        if own or others:
            media_match_batch(addresses=own + others)
    if not own:
        # Another worker holds this content and is matching it: wait for it, holding no lock,
        # and match it here only if that worker's transaction rolled back (it died or failed).
        with transaction.atomic():
            state = MediaState.objects.select_for_update().get(blob_id=address)
            if state.matched_at is None or (state.hashed_at is not None and state.matched_at < state.hashed_at):
                media_match_batch(addresses=[address])
    return MediaState.objects.get(blob_id=address)


def rematch_job_run(*, job_id: int, batch: int = 500, max_batches: int | None = None) -> int:
    """Re-match stored contents after the job's cursor, batch by batch.

    Each batch's results and the job's cursor commit in one transaction: a worker killed
    mid-batch leaves the batch undone and the cursor before it, and running the job
    again (or twice at once: the job row is locked per batch) continues from there.
    """
    job = RematchJob.objects.get(id=job_id)
    if job.status == RematchJob.Status.DONE:
        return job.done
    if job.started_at is None:
        RematchJob.objects.filter(id=job_id, started_at__isnull=True).update(status=RematchJob.Status.RUNNING, started_at=timezone.now())
    batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            job = RematchJob.objects.select_for_update().get(id=job_id)
            if job.status == RematchJob.Status.DONE:
                break
            addresses = media_match_batch(after=job.cursor, limit=batch)
            if not addresses:
                RematchJob.objects.filter(id=job_id).update(status=RematchJob.Status.DONE, finished_at=timezone.now())
                events.media_rematch_done_event(job=job, done=job.done)
                break
            RematchJob.objects.filter(id=job_id).update(cursor=addresses[-1], done=job.done + len(addresses), status=RematchJob.Status.RUNNING)
        batches += 1
    return RematchJob.objects.get(id=job_id).done


# ---------------------------------------------------------------- legal authorisation

@transaction.atomic
def media_reveal_record(*, user: Any, report_file: Any, level: str) -> None:
    """A user revealed a file (blurred, or clearer): the view itself is the sensitive read."""
    events.media_revealed_event(actor=user, report_file=report_file, level=level)


@transaction.atomic
def authorisation_record(*, user: Any, file_id: str, warrant_number: str, granted_on: date, granted_by: str) -> LegalAuthorisation:
    """A warrant for a file of the user's unit (404 for another unit's, whatever the role);
    403 unless the role may (the one table) and the grant was given explicitly."""
    from himaya.media.selectors import can_record_authorisation, report_file_for_user

    report_file = report_file_for_user(user=user, file_id=file_id)
    if not can_record_authorisation(user):
        raise PermissionDenied("not permitted to record legal authorisations")
    if not warrant_number.strip() or not granted_by.strip():
        raise MediaError(gettext_noop("a warrant number and who granted it are required"))
    auth = LegalAuthorisation.objects.create(report_file=report_file, warrant_number=warrant_number.strip()[:100], granted_on=granted_on,
                                             granted_by=granted_by.strip()[:200], recorded_by=user)
    events.media_authorisation_recorded_event(actor=user, authorisation=auth)
    return auth


# ---------------------------------------------------------------- permissions

# The explicit grants asked after the table (managing the national hash lists is the table's alone).
MEDIA_PERMISSIONS = ("view_media", "record_authorisation")
# What each grant adds to: a role the table refuses never gets it.
_GRANT_NEEDS = {"view_media": Action.VIEW_MEDIA, "record_authorisation": Action.CHANGE}


@transaction.atomic
def media_permission_set(*, username: str, codename: str, granted: bool, actor: Any) -> None:
    """Grant or withdraw a media permission explicitly (viewing is never implied by a role):
    the operator, or a supervisor of the user's unit (the one table: manage users)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    if codename not in MEDIA_PERMISSIONS:
        raise MediaError(gettext_noop("unknown permission {codename}; choose from {choices}"), codename=repr(codename), choices=", ".join(MEDIA_PERMISSIONS))
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise MediaError(gettext_noop("no user named {username}"), username=repr(username))
    check(actor, Action.MANAGE, Kind.USER, user)
    if granted and not allowed(user, _GRANT_NEEDS[codename], Kind.MEDIA):
        raise MediaError(gettext_noop("auditors never view media") if codename == "view_media"
                         else gettext_noop("this role does not record legal authorisations"))
    permission = Permission.objects.get(content_type__app_label="media", codename=codename)
    (user.user_permissions.add if granted else user.user_permissions.remove)(permission)
    (events.media_permission_granted_event if granted else events.media_permission_withdrawn_event)(actor=actor, user=user, permission=codename)
