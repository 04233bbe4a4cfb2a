"""Writes of media state: hashing, matching, hash lists, re-matching, legal authorisations.

Every change writes its audit event in the same transaction. Hashing runs in
background tasks; it reads the encrypted store, never writes plaintext to disk.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from himaya.audit.services import audit_record
from himaya.core.models import Blob
from himaya.core.storage import open_plaintext
from himaya.media import conf, vics
from himaya.media.hashing import Undecodable, media_hashes
from himaya.media.index import PDQIndex, hex_to_array
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


class MediaError(Exception):
    pass


# ---------------------------------------------------------------- hashing

def on_report_received(sender: Any, *, report_id: int, **kwargs: Any) -> None:
    """Signal receiver (runs in intake's background task): one hashing task per distinct content."""
    from himaya.media.tasks import media_hash
    from himaya.reports.models import ReportFile

    addresses = set(ReportFile.objects.filter(report_id=report_id, blob__isnull=False).values_list("blob_id", flat=True))
    for address in sorted(addresses):
        transaction.on_commit(lambda a=address: media_hash.enqueue(address=a))


def _read_capped(address: str, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in open_plaintext(address):
        size += len(chunk)
        if size > limit:
            raise Undecodable(f"larger than the {limit} bytes decoded in memory")
        chunks.append(chunk)
    return b"".join(chunks)


def media_hash_blob(*, address: str, force: bool = False) -> MediaState:
    """Hash one stored content (idempotent: a hashed content is only re-matched), then match it."""
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
            audit_record(actor=None, action="media.hashed", target=blob, data={"state": fields["state"], "kind": fields["kind"], "pdq": fields["pdq"], "reason": fields["reason"]})
    return media_match_blob(address=address)


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
    video_group = np.array([groups.setdefault((r[3], r[4]), len(groups)) if r[2] == Algorithm.VPDQ else -1 for r in rows], dtype=np.int64)
    sizes = np.bincount(video_group[video_group >= 0], minlength=len(groups)).astype(np.int64) if groups else np.zeros(0, dtype=np.int64)
    loaded = _LoadedIndex(signature, PDQIndex(hex_to_array(r[1] for r in rows), threshold=threshold),
                          np.array([r[0] for r in rows], dtype=np.int64), video_group, sizes)
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

    The signature (count and highest id of the perceptual entries, time of the last
    list change) moves with every import or deletion. The first
    worker to see a new signature builds the index and publishes it as .npy files; the
    others map those files read-only, so N workers share one copy through the page
    cache instead of building N.
    """
    global _loaded
    perceptual = HashEntry.objects.filter(algorithm__in=PERCEPTUAL)
    # Row ids alone can repeat after a deletion (SQLite reuses them); the last list change cannot.
    latest = HashList.objects.aggregate(t=Max("updated_at"))["t"]
    signature = (perceptual.count(), perceptual.aggregate(n=Max("id"))["n"] or 0, latest.isoformat() if latest else "")
    threshold = conf.pdq_max_distance()
    with _index_lock:
        if _loaded is not None and _loaded.signature == signature and _loaded.index.threshold == threshold:
            return _loaded
        folder = _index_folder(signature, threshold)
        try:
            _loaded = _LoadedIndex(signature, PDQIndex.load(folder), *(np.load(folder / f"{n}.npy") for n in ("entry_ids", "video_group", "group_sizes")))
        except (OSError, ValueError):
            _loaded = _index_build(signature, threshold)
        return _loaded


# ---------------------------------------------------------------- matching

def _pdq_matches(queries: list[str]) -> dict[int, int]:
    """Listed image hashes within the threshold of any query (the file's 8 dihedral hashes): entry id -> distance."""
    if not queries:
        return {}
    loaded = pdq_index()
    _, rows, distances = loaded.index.search_arrays(hex_to_array(queries))
    best: dict[int, int] = {}
    for row, distance in zip(rows, distances):
        if loaded.video_group[row] < 0:
            entry_id = int(loaded.entry_ids[row])
            best[entry_id] = min(best.get(entry_id, 999), int(distance))
    return best


def _vpdq_matches(frames: list[list]) -> dict[int, int]:
    """vPDQ: a listed video matches when at least the configured share of this video's good
    frames match some frame of it, and at least that share of its frames are matched
    (the reference's query- and compared-match percentages). Entry id (its first frame) -> best distance."""
    good = sorted({f[2] for f in frames if f[1] >= conf.pdq_min_quality()})
    if not good:
        return {}
    loaded = pdq_index()
    queries, rows, distances = loaded.index.search_arrays(hex_to_array(good))
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
        if len(query_hits[g]) / len(good) >= share and len(listed_hits[g]) / max(1, int(loaded.group_sizes[g])) >= share
    }


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
    if state.pdq and (state.pdq_quality or 0) >= conf.pdq_min_quality():
        for entry_id, distance in _pdq_matches(state.pdq_dihedral or [state.pdq]).items():
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
            audit_record(actor=None, action="media.matched", target=blob, data={
                "old_status": old, "status": state.status,
                "matches": sorted([entries[eid].hash_list.name, alg, d] for eid, alg, d in new_keys),
            })
        if old != state.status:
            from himaya.reports.models import ReportFile

            report_ids = sorted(set(ReportFile.objects.filter(blob=blob).values_list("report_id", flat=True)))
            new_status = state.status
            transaction.on_commit(lambda: media_status_changed.send(
                sender=MediaState, blob_address=address, old_status=old, new_status=new_status, report_ids=report_ids))
    return state


# ---------------------------------------------------------------- hash lists

def _parse(data: bytes, *, fmt: str, scheme: str, algorithm: str = "") -> tuple[str, list[vics.ParsedEntry]]:
    if fmt == "vics":
        version, entries = vics.parse_vics(data, scheme=scheme or "projectvic")
        return f"vics-{version}", entries
    if fmt == "csv":
        return "csv", vics.parse_csv(data, scheme=scheme)
    if fmt == "lines":
        return "lines", vics.parse_lines(data, algorithm=algorithm)
    raise vics.ListFormatError(f"unknown format {fmt!r}; choose from {', '.join(HASHLIST_FORMATS)}")


def hashlist_import(*, data: bytes, name: str, kind: str, fmt: str = "vics", scheme: str | None = None, provenance: str = "",
                    source_name: str = "", algorithm: str = "", actor: Any = None) -> HashList:
    """Create or replace a list from a file; all or nothing. A changed list re-matches every stored file."""
    if kind not in ListKind.values:
        raise MediaError(f"unknown kind {kind!r}; choose from {', '.join(ListKind.values)}")
    if not name.strip():
        raise MediaError("a list needs a name")
    if scheme is None:
        scheme = CategoryScheme.PROJECT_VIC if kind == ListKind.KNOWN and fmt == "vics" else CategoryScheme.NONE
    if scheme not in CategoryScheme.values:
        raise MediaError(f"unknown category scheme {scheme!r}")
    source_format, parsed = _parse(data, fmt=fmt, scheme=scheme, algorithm=algorithm)
    with transaction.atomic():
        hash_list, created = HashList.objects.select_for_update().get_or_create(name=name, defaults=dict(kind=kind))
        if not created:
            hash_list.entries.all().delete()
            hash_list.version += 1
        hash_list.kind = kind
        hash_list.category_scheme = scheme
        hash_list.provenance = provenance or hash_list.provenance
        hash_list.source_name = source_name[:500]
        hash_list.source_format = source_format
        hash_list.source_sha256 = hashlib.sha256(data).hexdigest()
        hash_list.entry_count = len(parsed)
        hash_list.save()
        HashEntry.objects.bulk_create(
            (HashEntry(hash_list=hash_list, algorithm=e.algorithm, value=e.value, media_id=e.media_id[:100], category=e.category,
                       victim_identified=e.victim_identified, is_distributed=e.is_distributed, series=e.series, extra=e.extra) for e in parsed),
            batch_size=2000,
        )
        audit_record(actor=actor, action="hashlist.imported", target=hash_list, data={
            "name": name, "kind": kind, "version": hash_list.version, "entries": len(parsed), "format": source_format,
            "sha256": hash_list.source_sha256, "source": source_name,
        })
        rematch_job_start(reason=f"list {name} version {hash_list.version}", list_name=name, actor=actor)
    return hash_list


def hashlist_export(*, name: str, actor: Any = None) -> bytes:
    hash_list = HashList.objects.filter(name=name).first()
    if hash_list is None:
        raise MediaError(f"no hash list named {name!r}")
    entries = list(hash_list.entries.order_by("id").values("algorithm", "value", "media_id", "category", "series", "victim_identified", "is_distributed"))
    with transaction.atomic():
        audit_record(actor=actor, action="hashlist.exported", target=hash_list, data={"name": name, "version": hash_list.version, "entries": len(entries)})
    return vics.export_vics(name=name, version=hash_list.version, entries=entries)


@transaction.atomic
def hashlist_delete(*, name: str, actor: Any = None) -> None:
    hash_list = HashList.objects.select_for_update().filter(name=name).first()
    if hash_list is None:
        raise MediaError(f"no hash list named {name!r}")
    audit_record(actor=actor, action="hashlist.deleted", target=hash_list, data={"name": name, "version": hash_list.version})
    hash_list.delete()
    rematch_job_start(reason=f"list {name} deleted", list_name=name, actor=actor)


# ---------------------------------------------------------------- re-matching

def rematch_job_start(*, reason: str, list_name: str = "", actor: Any = None) -> RematchJob:
    from himaya.media.tasks import media_rematch

    with transaction.atomic():
        job = RematchJob.objects.create(reason=reason[:200], hash_list_name=list_name, total=MediaState.objects.count())
        audit_record(actor=actor, action="media.rematch_queued", target=job, data={"reason": reason, "total": job.total})
        transaction.on_commit(lambda: media_rematch.enqueue(job_id=job.id))
    return job


def rematch_job_run(*, job_id: int, batch: int = 500, max_batches: int | None = None) -> int:
    """Re-match stored contents after the job's cursor, saving progress per batch (resumable after a crash)."""
    job = RematchJob.objects.get(id=job_id)
    if job.status == RematchJob.Status.DONE:
        return job.done
    if job.started_at is None:
        RematchJob.objects.filter(id=job_id).update(status=RematchJob.Status.RUNNING, started_at=timezone.now())
    batches = 0
    while max_batches is None or batches < max_batches:
        job.refresh_from_db()
        addresses = list(MediaState.objects.filter(blob_id__gt=job.cursor).order_by("blob_id").values_list("blob_id", flat=True)[:batch])
        if not addresses:
            with transaction.atomic():
                RematchJob.objects.filter(id=job_id).update(status=RematchJob.Status.DONE, finished_at=timezone.now())
                audit_record(actor=None, action="media.rematch_done", target=job, data={"done": job.done})
            break
        for address in addresses:
            media_match_blob(address=address)
        RematchJob.objects.filter(id=job_id).update(cursor=addresses[-1], done=job.done + len(addresses), status=RematchJob.Status.RUNNING)
        batches += 1
    return RematchJob.objects.get(id=job_id).done


# ---------------------------------------------------------------- legal authorisation

@transaction.atomic
def media_reveal_record(*, user: Any, report_file: Any, level: str) -> None:
    """A user revealed a file (blurred, or clearer): the view itself is the sensitive read."""
    audit_record(actor=user, action="media.revealed", target=report_file, unit_id=report_file.report.unit_id,
                 data={"file_id": report_file.file_id, "level": level})


def authorisation_record(*, user: Any, file_id: str, warrant_number: str, granted_on: date, granted_by: str) -> LegalAuthorisation:
    from himaya.media.selectors import can_record_authorisation, report_file_for_user

    if not can_record_authorisation(user):
        raise MediaError("not permitted to record legal authorisations")
    report_file = report_file_for_user(user=user, file_id=file_id)
    if not warrant_number.strip() or not granted_by.strip():
        raise MediaError("a warrant number and who granted it are required")
    auth = LegalAuthorisation.objects.create(report_file=report_file, warrant_number=warrant_number.strip()[:100], granted_on=granted_on,
                                             granted_by=granted_by.strip()[:200], recorded_by=user)
    audit_record(actor=user, action="media.authorisation_recorded", target=report_file, unit_id=report_file.report.unit_id, data={
        "file_id": file_id, "warrant_number": auth.warrant_number, "granted_on": granted_on.isoformat(), "granted_by": auth.granted_by,
    })
    return auth


# ---------------------------------------------------------------- permissions

MEDIA_PERMISSIONS = ("view_media", "record_authorisation", "manage_hashlists")


@transaction.atomic
def media_permission_set(*, username: str, codename: str, granted: bool, actor: Any = None) -> None:
    """Grant or withdraw a media permission explicitly (viewing is never implied by a role)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    if codename not in MEDIA_PERMISSIONS:
        raise MediaError(f"unknown permission {codename!r}; choose from {', '.join(MEDIA_PERMISSIONS)}")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise MediaError(f"no user named {username!r}")
    if granted and codename != "manage_hashlists" and "auditor" in (user.roles or []):
        raise MediaError("auditors never view media")
    permission = Permission.objects.get(content_type__app_label="media", codename=codename)
    (user.user_permissions.add if granted else user.user_permissions.remove)(permission)
    audit_record(actor=actor, action="media.permission_granted" if granted else "media.permission_withdrawn", target=user,
                 unit_id=user.unit_id, data={"username": username, "permission": codename})
