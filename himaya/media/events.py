"""Audit events of media: one typed function per event type
(himaya.audit.catalogue.AuditAction), called inside the transaction of the change.

A stored content (`core.blob`) is shared by every report that holds the same bytes,
so its hashing and matching events belong to no unit (system events)."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def media_hashed_event(*, blob: Any, state: str, kind: str, pdq: str, reason: str) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.MEDIA_HASHED, target=blob, data={"state": state, "kind": kind, "pdq": pdq, "reason": reason})


def media_matched_event(*, address: str, old_status: str, status: str, matches: list[Any]) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.MEDIA_MATCHED, target_type="core.blob", target_id=address,
                        data={"old_status": old_status, "status": status, "matches": matches})


def media_viewed_event(*, actor: Any, report_file: Any, level: str) -> AuditEvent:
    """A preview's pixels were served: the sensitive read itself."""
    return audit_record(actor=actor, action=AuditAction.MEDIA_VIEWED, target=report_file, unit_id=report_file.report.unit_id,
                        data={"file_id": report_file.file_id, "level": level})


def media_revealed_event(*, actor: Any, report_file: Any, level: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.MEDIA_REVEALED, target=report_file, unit_id=report_file.report.unit_id,
                        data={"file_id": report_file.file_id, "level": level})


def media_authorisation_recorded_event(*, actor: Any, authorisation: Any) -> AuditEvent:
    report_file = authorisation.report_file
    return audit_record(actor=actor, action=AuditAction.MEDIA_AUTHORISATION_RECORDED, target=report_file, unit_id=report_file.report.unit_id, data={
        "file_id": report_file.file_id, "warrant_number": authorisation.warrant_number,
        "granted_on": authorisation.granted_on.isoformat(), "granted_by": authorisation.granted_by,
    })


def media_permission_granted_event(*, actor: Any, user: Any, permission: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.MEDIA_PERMISSION_GRANTED, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "permission": permission})


def media_permission_withdrawn_event(*, actor: Any, user: Any, permission: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.MEDIA_PERMISSION_WITHDRAWN, target=user, unit_id=user.unit_id,
                        data={"username": user.username, "permission": permission})


def media_rematch_queued_event(*, actor: Any, job: Any, reason: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.MEDIA_REMATCH_QUEUED, target=job, data={"reason": reason, "total": job.total})


def media_rematch_done_event(*, job: Any, done: int) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.MEDIA_REMATCH_DONE, target=job, data={"done": done})


def hashlist_imported_event(*, actor: Any, hash_list: Any, entries: int, source_format: str, source_name: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.HASHLIST_IMPORTED, target=hash_list, data={
        "name": hash_list.name, "kind": hash_list.kind, "version": hash_list.version, "entries": entries, "format": source_format,
        "sha256": hash_list.source_sha256, "source": source_name,
    })


def hashlist_exported_event(*, actor: Any, hash_list: Any, entries: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.HASHLIST_EXPORTED, target=hash_list,
                        data={"name": hash_list.name, "version": hash_list.version, "entries": entries})


def hashlist_deleted_event(*, actor: Any, hash_list: Any, reason: str) -> AuditEvent:
    """Written before the list row goes: the event keeps what it held, who retired it and why."""
    return audit_record(actor=actor, action=AuditAction.HASHLIST_DELETED, target=hash_list, data={
        "name": hash_list.name, "kind": hash_list.kind, "version": hash_list.version, "entries": hash_list.entry_count,
        "provenance": hash_list.provenance, "sha256": hash_list.source_sha256, "reason": reason[:1000],
    })
