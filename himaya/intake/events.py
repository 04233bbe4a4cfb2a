"""Audit events of intake: one typed function per event type
(himaya.audit.catalogue.AuditAction), called inside the transaction of the change."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def report_opened_event(*, reporter: Any, report: Any, size: int) -> AuditEvent:
    return audit_record(actor=reporter, action=AuditAction.REPORT_OPENED, target=report, unit_id=report.unit_id,
                        data={"sha256": report.raw_sha256, "bytes": size})


def report_file_uploaded_event(*, reporter: Any, report: Any, file_id: str, sha256: str, size: int) -> AuditEvent:
    return audit_record(actor=reporter, action=AuditAction.REPORT_FILE_UPLOADED, target=report, unit_id=report.unit_id,
                        data={"file_id": file_id, "sha256": sha256, "size": size})


def report_file_details_event(*, reporter: Any, report: Any, file_id: str) -> AuditEvent:
    return audit_record(actor=reporter, action=AuditAction.REPORT_FILE_DETAILS, target=report, unit_id=report.unit_id,
                        data={"file_id": file_id})


def report_finished_event(*, reporter: Any, report: Any, files: int) -> AuditEvent:
    return audit_record(actor=reporter, action=AuditAction.REPORT_FINISHED, target=report, unit_id=report.unit_id, data={"files": files})


def report_retracted_event(*, reporter: Any, report: Any) -> AuditEvent:
    return audit_record(actor=reporter, action=AuditAction.REPORT_RETRACTED, target=report, unit_id=report.unit_id)


def report_expired_event(*, report: Any) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.REPORT_EXPIRED, target=report, unit_id=report.unit_id)


def report_file_purged_event(*, report_id: int, unit_id: int | None, file_id: str, sha256: str, content_removed: bool) -> AuditEvent:
    """The stored content of a retracted or expired report's file was let go
    (`content_removed` is false when another live report still holds the same content)."""
    return audit_record(actor=None, action=AuditAction.REPORT_FILE_PURGED, target_type="reports.report", target_id=report_id,
                        unit_id=unit_id, data={"file_id": file_id, "sha256": sha256, "content_removed": content_removed})


def report_imported_event(*, actor: Any, report: Any, source: str, files: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.REPORT_IMPORTED, target=report, unit_id=report.unit_id,
                        data={"source": source, "files": files, "sha256": report.raw_sha256})


def report_exported_event(*, actor: Any, report: Any, out_dir: Path | str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.REPORT_EXPORTED, target=report, unit_id=report.unit_id, data={"out": str(out_dir)})
