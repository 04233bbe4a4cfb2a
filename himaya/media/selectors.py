"""Reads of media state, with permission applied here (SPEC §1, §3.2).

Seeing a file's hashes and verdict follows the report's visibility; seeing its
pixels needs the explicitly granted `media.view_media` permission, never an
auditor's role, and for a file the provider did not view, a recorded legal
authorisation. Every preview served is audited.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from himaya.accounts.permissions import Action, Kind, allowed, get_for, restrict
from himaya.core.storage import read_plaintext
from himaya.media import events
from himaya.media.hashing import thumbnail
from himaya.media.models import FileStatus, HashList, LegalAuthorisation, MediaMatch, MediaState, RematchJob

PREVIEW_SIZES = {"blurred": 320, "clear": 720}


def file_media_summary(report_file: Any) -> dict[str, Any]:
    """The SPEC §4.3 media fields of one report file (cached on the instance: the serializer asks four times)."""
    cached = getattr(report_file, "_media_summary", None)
    if cached is not None:
        return cached
    summary: dict[str, Any] = {"pdq": None, "pdq_quality": None, "status": FileStatus.PENDING.value, "matches": []}
    if report_file.blob_id:
        state = MediaState.objects.filter(blob_id=report_file.blob_id).first()
        if state is not None:
            summary["pdq"] = state.pdq or None
            summary["pdq_quality"] = state.pdq_quality
            summary["status"] = state.status
            summary["matches"] = [
                {"list": m.hash_list.name, "kind": m.hash_list.kind, "category": m.entry.category or None, "algorithm": m.algorithm, "distance": m.distance}
                for m in MediaMatch.objects.filter(blob_id=report_file.blob_id).select_related("hash_list", "entry").order_by("hash_list__name", "distance", "id")
            ]
    report_file._media_summary = summary
    return summary


def files_media_summaries(report_files: list[Any]) -> None:
    """`file_media_summary` of many files at once, cached on each (a batch of arrivals
    triaged together): their states and their matches read in one statement each."""
    todo = [f for f in report_files if getattr(f, "_media_summary", None) is None]
    addresses = sorted({f.blob_id for f in todo if f.blob_id})
    states = {s.blob_id: s for s in MediaState.objects.filter(blob_id__in=addresses)} if addresses else {}
    matches: dict[str, list[dict[str, Any]]] = {}
    if states:
        for m in (MediaMatch.objects.filter(blob_id__in=list(states)).select_related("hash_list", "entry")
                  .order_by("hash_list__name", "distance", "id")):
            matches.setdefault(m.blob_id, []).append({"list": m.hash_list.name, "kind": m.hash_list.kind, "category": m.entry.category or None,
                                                      "algorithm": m.algorithm, "distance": m.distance})
    for f in todo:
        summary: dict[str, Any] = {"pdq": None, "pdq_quality": None, "status": FileStatus.PENDING.value, "matches": []}
        state = states.get(f.blob_id) if f.blob_id else None
        if state is not None:
            summary.update(pdq=state.pdq or None, pdq_quality=state.pdq_quality, status=state.status, matches=matches.get(f.blob_id, []))
        f._media_summary = summary


def file_media_state(report_file: Any) -> MediaState | None:
    return MediaState.objects.filter(blob_id=report_file.blob_id).first() if report_file.blob_id else None


def _has_explicit_perm(user: Any, codename: str) -> bool:
    # Granted explicitly to the user or a group: a superuser is not implicitly a viewer of abuse material.
    if not user.is_authenticated or not user.is_active:
        return False
    return Permission.objects.filter(Q(user=user) | Q(group__user=user), content_type__app_label="media", codename=codename).exists()


def can_view_media(user: Any) -> bool:
    """The role may (the one table: never an auditor), and the grant was given explicitly."""
    return allowed(user, Action.VIEW_MEDIA, Kind.MEDIA) and _has_explicit_perm(user, "view_media")


def can_record_authorisation(user: Any) -> bool:
    return allowed(user, Action.CHANGE, Kind.MEDIA) and _has_explicit_perm(user, "record_authorisation")


def can_manage_hashlists(user: Any) -> bool:
    """The lists are national: supervisors of the national unit import and retire them (the one table)."""
    return allowed(user, Action.MANAGE, Kind.HASH_LIST)


def report_file_for_user(*, user: Any, file_id: str) -> Any:
    """A file of a report of the user's unit; 404 otherwise, whatever the role."""
    from himaya.reports.models import ReportFile

    return get_for(ReportFile.objects.select_related("report"), user, Action.VIEW, file_id=file_id)


def file_is_locked(report_file: Any) -> bool:
    """Locked unless the provider said it viewed the file, or a legal authorisation is recorded.

    "Not stated" counts as not viewed: opening an unviewed file without a warrant is the
    private-search problem the lock exists to avoid.
    """
    if report_file.file_viewed_by_esp is True:
        return False
    return not LegalAuthorisation.objects.filter(report_file=report_file).exists()


def file_authorisations(report_file: Any) -> QuerySet[LegalAuthorisation]:
    return LegalAuthorisation.objects.filter(report_file=report_file).select_related("recorded_by").order_by("-recorded_at")


def media_preview_for_user(*, user: Any, file_id: str, level: str) -> bytes:
    """A server-side greyscale-blurred (or, asked explicitly, clearer) preview; audited."""
    if level not in PREVIEW_SIZES:
        raise Http404("no such preview")
    report_file = report_file_for_user(user=user, file_id=file_id)  # another unit's: 404 before any 403
    if not can_view_media(user):
        raise PermissionDenied("not permitted to view media")
    if file_is_locked(report_file):
        raise PermissionDenied("this file is locked until a legal authorisation is recorded")
    if not report_file.blob_id:
        raise Http404("the content of this file was removed")
    events.media_viewed_event(actor=user, report_file=report_file, level=level)
    try:
        return thumbnail(read_plaintext(report_file.blob_id), size=PREVIEW_SIZES[level], blur=level == "blurred", grey=level == "blurred")
    except Exception as exc:  # undecodable content has no preview
        raise Http404("no preview for this file") from exc


def hashlist_list_for_user(*, user: Any) -> QuerySet[HashList]:
    """The national lists: every unit's staff read them (Scope.NATIONAL)."""
    if not allowed(user, Action.VIEW, Kind.HASH_LIST):
        raise PermissionDenied("not permitted to see hash lists")
    return restrict(HashList.objects.filter(version__gt=0).order_by("name"), user, Action.VIEW)  # version 0: a first import still running


def hashlist_get_for_user(*, user: Any, pk: int, action: Action = Action.VIEW) -> HashList:
    """One list, then 403 unless the user may do `action` to it (export, manage)."""
    return get_for(HashList.objects.all(), user, action, pk=pk)


def hashlist_matched_files(hash_list: HashList) -> int:
    """Stored contents a list matches now: what retiring it may turn from known into new."""
    return MediaMatch.objects.filter(hash_list=hash_list).values("blob_id").distinct().count()


def hashlists_retired_for_user(*, user: Any, limit: int = 20) -> list[dict[str, Any]]:
    """Retired lists, from the audit log (the list rows are gone): what, when, who and why."""
    from himaya.audit.catalogue import AuditAction
    from himaya.audit.selectors import audit_events_latest

    if not allowed(user, Action.VIEW, Kind.HASH_LIST):
        raise PermissionDenied("not permitted to see hash lists")
    retired = audit_events_latest(action=AuditAction.HASHLIST_DELETED, limit=limit)
    return [{"at": e.at, "actor": e.actor.removeprefix("user:"), **{k: e.data.get(k) for k in ("name", "version", "entries", "reason")}} for e in retired]


def rematch_jobs_for_user(*, user: Any, limit: int = 20) -> QuerySet[RematchJob]:
    if not allowed(user, Action.VIEW, Kind.HASH_LIST):
        raise PermissionDenied("not permitted to see hash lists")
    return restrict(RematchJob.objects.order_by("-id"), user, Action.VIEW)[:limit]
