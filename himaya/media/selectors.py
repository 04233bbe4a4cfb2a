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

from himaya.audit.services import audit_record
from himaya.core.storage import read_plaintext
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


def file_media_state(report_file: Any) -> MediaState | None:
    return MediaState.objects.filter(blob_id=report_file.blob_id).first() if report_file.blob_id else None


def _has_explicit_perm(user: Any, codename: str) -> bool:
    # Granted explicitly to the user or a group: a superuser is not implicitly a viewer of abuse material.
    if not user.is_authenticated or not user.is_active:
        return False
    return Permission.objects.filter(Q(user=user) | Q(group__user=user), content_type__app_label="media", codename=codename).exists()


def can_view_media(user: Any) -> bool:
    if not user.is_authenticated or "auditor" in (getattr(user, "roles", None) or []):
        return False
    return _has_explicit_perm(user, "view_media")


def can_record_authorisation(user: Any) -> bool:
    return user.is_authenticated and "auditor" not in (user.roles or []) and _has_explicit_perm(user, "record_authorisation")


def can_manage_hashlists(user: Any) -> bool:
    """Supervisors, and whoever was granted `media.manage_hashlists` explicitly; never an auditor (read-only)."""
    if not user.is_authenticated or "auditor" in (getattr(user, "roles", None) or []):
        return False
    return user.has_role("supervisor") or _has_explicit_perm(user, "manage_hashlists")


def report_file_for_user(*, user: Any, file_id: str) -> Any:
    from himaya.reports.models import ReportFile
    from himaya.reports.selectors import report_queryset_for_user

    report_file = ReportFile.objects.select_related("report").filter(file_id=file_id, report__in=report_queryset_for_user(user)).first()
    if report_file is None:
        raise Http404("no such file")
    return report_file


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
    if not can_view_media(user):
        raise PermissionDenied("not permitted to view media")
    report_file = report_file_for_user(user=user, file_id=file_id)
    if file_is_locked(report_file):
        raise PermissionDenied("this file is locked until a legal authorisation is recorded")
    if not report_file.blob_id:
        raise Http404("the content of this file was removed")
    audit_record(actor=user, action="media.viewed", target=report_file, unit_id=report_file.report.unit_id, data={"file_id": file_id, "level": level})
    try:
        return thumbnail(read_plaintext(report_file.blob_id), size=PREVIEW_SIZES[level], blur=level == "blurred", grey=level == "blurred")
    except Exception as exc:  # undecodable content has no preview
        raise Http404("no preview for this file") from exc


def hashlist_list_for_user(*, user: Any) -> QuerySet[HashList]:
    if not can_manage_hashlists(user):
        raise PermissionDenied("not permitted to manage hash lists")
    return HashList.objects.order_by("name")


def hashlist_get_for_user(*, user: Any, pk: int) -> HashList:
    hash_list = hashlist_list_for_user(user=user).filter(pk=pk).first()
    if hash_list is None:
        raise Http404("no such hash list")
    return hash_list


def hashlist_matched_files(hash_list: HashList) -> int:
    """Stored contents a list matches now: what retiring it may turn from known into new."""
    return MediaMatch.objects.filter(hash_list=hash_list).values("blob_id").distinct().count()


def hashlists_retired_for_user(*, user: Any, limit: int = 20) -> list[dict[str, Any]]:
    """Retired lists, from the audit log (the list rows are gone): what, when, who and why."""
    from himaya.audit.models import AuditEvent

    if not can_manage_hashlists(user):
        raise PermissionDenied("not permitted to manage hash lists")
    events = AuditEvent.objects.filter(action="hashlist.deleted").order_by("-id")[:limit]
    return [{"at": e.at, "actor": e.actor.removeprefix("user:"), **{k: e.data.get(k) for k in ("name", "version", "entries", "reason")}} for e in events]


def rematch_jobs_for_user(*, user: Any, limit: int = 20) -> QuerySet[RematchJob]:
    if not can_manage_hashlists(user):
        raise PermissionDenied("not permitted to manage hash lists")
    return RematchJob.objects.order_by("-id")[:limit]
