"""Audit events of the portal: one typed function per event type, called inside
the transaction of the change or read. Never a word of what the reporter wrote,
never their contact: ids, counts and sizes only."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record

REPORTER = "portal:reporter"  # the actor a reporter is known by: anonymous by design


def portal_report_received_event(*, report: Any, files: int, anonymous: bool, device_hashed: int = 0) -> AuditEvent:
    return audit_record(actor=REPORTER, action=AuditAction.PORTAL_REPORT_RECEIVED, target=report, unit_id=report.unit_id,
                        data={"sha256": report.raw_sha256, "files": files, "device_hashed": device_hashed, "anonymous": anonymous})


def portal_reporter_message_event(*, report: Any, message_id: int, size: int) -> AuditEvent:
    return audit_record(actor=REPORTER, action=AuditAction.PORTAL_REPORTER_MESSAGE, target=report, unit_id=report.unit_id,
                        data={"message": message_id, "bytes": size})


def portal_reply_sent_event(*, actor: Any, report: Any, message_id: int, size: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PORTAL_REPLY_SENT, target=report, unit_id=report.unit_id,
                        data={"message": message_id, "bytes": size})


def portal_messages_viewed_event(*, actor: Any, report: Any, messages: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PORTAL_MESSAGES_VIEWED, target=report, unit_id=report.unit_id,
                        data={"messages": messages})


def portal_identity_viewed_event(*, actor: Any, report: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PORTAL_IDENTITY_VIEWED, target=report, unit_id=report.unit_id)


def portal_status_viewed_event(*, report: Any) -> AuditEvent:
    return audit_record(actor=REPORTER, action=AuditAction.PORTAL_STATUS_VIEWED, target=report, unit_id=report.unit_id)


def portal_device_matched_event(*, report: Any, file_id: str, old_status: str, status: str, matches: int) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.PORTAL_DEVICE_MATCHED, target=report, unit_id=report.unit_id,
                        data={"file_id": file_id, "old_status": old_status, "status": status, "matches": matches})
