"""Provider intake: the lifecycle of a CyberTipline report (open → files → file
details → finish / retract; unfinished reports expire).

Every function validates fully before it writes, writes in one transaction with its
audit event, and raises IntakeError with the documented code otherwise — so a
rejected request leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from himaya.accounts.models import Reporter, Unit
from himaya.audit.services import audit_record
from himaya.core.models import Blob
from himaya.core.storage import PendingFile, blob_put
from himaya.intake.cybertip import (
    Node,
    SchemaInvalid,
    XmlMalformed,
    check_batched_finish,
    check_file_details,
    check_report,
    is_batched,
    parse_xml,
    validate_schema,
)
from himaya.intake.errors import IntakeError
from himaya.reports.models import (
    DeviceIdEvent,
    Identifier,
    IncidentDetail,
    IpCaptureEvent,
    Party,
    Report,
    ReportFile,
    ReportSource,
    ReportStatus,
)
from himaya.reports.projection import Projection, project_file_details, project_report

log = logging.getLogger(__name__)


def _violations_text(violations: list[Any]) -> str:
    return "; ".join(f"{v.path}: {v.message}" if v.path and not v.message.startswith(v.path) else v.message for v in violations[:20])


def parse_document(raw: bytes, *, expect: str) -> Node:
    """XML → tree, or IntakeError 4110 (malformed, hostile) / 4100 (invalid by the XSD)."""
    try:
        root, tree = parse_xml(raw, max_bytes=settings.HIMAYA_MAX_XML_BYTES)
    except XmlMalformed as exc:
        raise IntakeError(4110, str(exc)) from None
    try:
        validate_schema(root, expect=expect)
    except SchemaInvalid as exc:
        raise IntakeError(4100, "; ".join(exc.messages[:20])) from None
    return tree


def prior_report_exists(report_id: int) -> bool:
    return Report.objects.filter(Q(id=report_id) | Q(external_id=report_id)).exclude(status__in=[ReportStatus.RETRACTED, ReportStatus.EXPIRED]).exists()


def validate_report(raw: bytes, *, now: datetime) -> Node:
    tree = parse_document(raw, expect="report")
    violations = check_report(tree, now=now, prior_report_exists=prior_report_exists)
    if violations:
        raise IntakeError(4100, _violations_text(violations))
    return tree


def _dt(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value.strip())
    except ValueError:
        return None


def _write_projection(report: Report, proj: Projection, *, file: ReportFile | None = None) -> None:
    parties: dict[int, Party] = {}
    # Two levels at most (a person and their associated accounts): one insert each.
    for level in (False, True):
        rows = [row for row in proj.parties if (row.parent_key is not None) == level]
        created = Party.objects.bulk_create([
            Party(
                report=report, parent=parties.get(row.parent_key) if row.parent_key is not None else None,
                role=row.role, position=row.position, path=row.path[:300], first_name=row.first_name[:256],
                middle_name=row.middle_name[:256], last_name=row.last_name[:256], age=row.age, date_of_birth=row.date_of_birth[:40],
                esp_identifier=row.esp_identifier[:256], esp_service=row.esp_service[:256], screen_name=row.screen_name[:256],
                platform=row.platform[:256], account_type=row.account_type[:50],
            )
            for row in rows
        ])
        parties.update({row.key: party for row, party in zip(rows, created)})

    def p(key: int | None) -> Party | None:
        return parties.get(key) if key is not None else None

    if not (proj.identifiers or proj.ips or proj.devices or proj.incidents):
        return
    Identifier.objects.bulk_create([
        Identifier(report=report, party=p(r.party_key), file=file, kind=r.kind, value=r.value, qualifier=r.qualifier[:256], path=r.path[:300])
        for r in proj.identifiers
    ])
    IpCaptureEvent.objects.bulk_create([
        IpCaptureEvent(report=report, party=p(r.party_key), file=file, ip_address=r.ip_address.strip()[:100], event_name=r.event_name[:20],
                       at=_dt(r.at), possible_proxy=r.possible_proxy, port=r.port, path=r.path[:300])
        for r in proj.ips
    ])
    DeviceIdEvent.objects.bulk_create([
        DeviceIdEvent(report=report, party=p(r.party_key), file=file, id_type=r.id_type[:255], id_value=r.id_value,
                      event_name=r.event_name[:20], at=_dt(r.at), path=r.path[:300])
        for r in proj.devices
    ])
    IncidentDetail.objects.bulk_create([
        IncidentDetail(report=report, position=r.position, kind=r.kind, content=r.content, additional_info=r.additional_info, fields=r.fields)
        for r in proj.incidents
    ])


def report_create_from_tree(
    *, tree: Node, raw: bytes, unit: Unit, source: str, reporter: Reporter | None, now: datetime,
    status: str = ReportStatus.OPEN, import_key: str | None = None, import_label: str = "", external_id: int | None = None,
) -> Report:
    proj = project_report(tree)
    report = Report.objects.create(
        unit=unit, reporter=reporter, source=source, status=status, opened_at=now, modified_at=now,
        finished_at=now if status == ReportStatus.FINISHED else None,
        raw_xml=raw, raw_sha256=hashlib.sha256(raw).hexdigest(), document=tree.to_json(),
        import_key=import_key, import_label=import_label[:500], external_id=external_id,
        incident_type=proj.incident_type[:100], incident_at=_dt(proj.incident_at), platform=proj.platform[:256],
        escalation=proj.escalation, batched_reason=proj.batched_reason[:50], annotations=proj.annotations,
    )
    _write_projection(report, proj)
    return report


def report_open(*, reporter: Reporter, raw: bytes, now: datetime | None = None) -> Report:
    """POST /submit."""
    now = now or timezone.now()
    if not reporter.is_active:
        raise IntakeError(3100)
    tree = validate_report(raw, now=now)
    try:
        with transaction.atomic():
            report = report_create_from_tree(tree=tree, raw=raw, unit=reporter.unit, source=ReportSource.API, reporter=reporter, now=now)
            audit_record(actor=reporter, action="report.opened", target=report, unit_id=report.unit_id, data={"sha256": report.raw_sha256, "bytes": len(raw)})
    except DatabaseError:
        log.exception("saving a submitted report failed")
        raise IntakeError(1100) from None
    return report


def _report_for_update(*, reporter: Reporter, report_id: Any) -> Report:
    rid = parse_report_id(report_id)
    # The documents are large and encrypted: the lifecycle checks never need them.
    report = Report.objects.select_for_update().defer("raw_xml", "document").filter(id=rid).first()
    if report is None:
        raise IntakeError(5001, report_id=rid)
    if report.reporter_id != reporter.id:
        # Another provider's report: refuse without saying more about it.
        raise IntakeError(3000, report_id=rid)
    if not reporter.is_active:
        raise IntakeError(3300, report_id=rid)
    if report.status == ReportStatus.OPEN and report_is_expired(report, now=timezone.now()):
        _expire(report, now=timezone.now())
    if report.status in (ReportStatus.RETRACTED, ReportStatus.EXPIRED):
        raise IntakeError(5101, report_id=rid)
    if report.status == ReportStatus.FINISHED:
        raise IntakeError(5102, report_id=rid)
    return report


def parse_report_id(value: Any) -> int:
    try:
        rid = int(str(value).strip())
    except (TypeError, ValueError):
        raise IntakeError(4000, "the report id must be a number") from None
    if rid <= 0 or rid > 2**63 - 1:
        raise IntakeError(4000, "the report id is out of range")
    return rid


def report_file_add(*, reporter: Reporter, report_id: Any, pending: PendingFile, upload_name: str, now: datetime | None = None) -> ReportFile:
    """POST /upload: the file is already encrypted in a temporary file; record it."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            report = _report_for_update(reporter=reporter, report_id=report_id)
            try:
                blob = blob_put(pending)
            except OSError:
                log.exception("storing an uploaded file failed")
                raise IntakeError(1111, report_id=report.id) from None
            position = (report.files.aggregate(m=Max("position"))["m"] or 0) + 1
            s = pending.stored
            rf = ReportFile.objects.create(
                report=report, file_id=uuid.uuid4().hex, position=position, blob=blob, upload_name=upload_name[:500],
                size=s.size, md5=s.md5, sha1=s.sha1, sha256=s.sha256, uploaded_at=now,
            )
            report.modified_at = now
            report.save(update_fields=["modified_at"])
            audit_record(actor=reporter, action="report.file_uploaded", target=report, unit_id=report.unit_id,
                         data={"file_id": rf.file_id, "sha256": s.sha256, "size": s.size})
    except DatabaseError:
        log.exception("recording an uploaded file failed")
        raise IntakeError(1110) from None
    finally:
        pending.discard()  # no-op when blob_put moved it into place
    return rf


def report_file_details(*, reporter: Reporter, raw: bytes, now: datetime | None = None) -> ReportFile:
    """POST /fileinfo."""
    now = now or timezone.now()
    tree = parse_document(raw, expect="fileDetails")
    report_id = parse_report_id(tree.child_text("reportId"))
    file_id = (tree.child_text("fileId") or "").strip()
    try:
        with transaction.atomic():
            report = _report_for_update(reporter=reporter, report_id=report_id)
            rf = report.files.select_for_update().filter(file_id=file_id).first()
            if rf is None:
                raise IntakeError(5002, report_id=report.id)
            if rf.details_document is not None:
                raise IntakeError(4000, "file details may be submitted once per file", report_id=report.id)
            violations = check_file_details(tree, now=now, batched=bool(report.batched_reason))
            if violations:
                raise IntakeError(4100, _violations_text(violations), report_id=report.id)
            file_details_apply(rf, tree=tree, raw=raw, now=now)
            report.modified_at = now
            report.save(update_fields=["modified_at"])
            audit_record(actor=reporter, action="report.file_details", target=report, unit_id=report.unit_id, data={"file_id": file_id})
    except DatabaseError:
        log.exception("saving file details failed")
        raise IntakeError(1300, report_id=report_id) from None
    return rf


def file_details_apply(rf: ReportFile, *, tree: Node, raw: bytes, now: datetime) -> None:
    proj = project_file_details(tree)
    rf.details_raw = raw
    rf.details_sha256 = hashlib.sha256(raw).hexdigest()
    rf.details_document = tree.to_json()
    rf.details_at = now
    rf.original_file_name = proj.original_file_name
    rf.file_viewed_by_esp = proj.file_viewed_by_esp
    rf.exif_viewed_by_esp = proj.exif_viewed_by_esp
    rf.publicly_available = proj.publicly_available
    rf.relevance = proj.relevance[:50]
    rf.industry_classification = proj.industry_classification[:5]
    rf.annotations = proj.annotations
    rf.save()
    _write_projection(rf.report, proj, file=rf)


def report_finish(*, reporter: Reporter, report_id: Any, now: datetime | None = None) -> tuple[Report, list[str]]:
    """POST /finish."""
    now = now or timezone.now()
    rid = parse_report_id(report_id)
    try:
        with transaction.atomic():
            report = _report_for_update(reporter=reporter, report_id=rid)
            file_ids = list(report.files.order_by("position").values_list("file_id", flat=True))
            violations = check_batched_finish(batched=bool(report.batched_reason), file_count=len(file_ids))
            if violations:
                raise IntakeError(4100, _violations_text(violations), report_id=report.id)
            report.status = ReportStatus.FINISHED
            report.finished_at = now
            report.modified_at = now
            report.save(update_fields=["status", "finished_at", "modified_at"])
            audit_record(actor=reporter, action="report.finished", target=report, unit_id=report.unit_id, data={"files": len(file_ids)})
            enqueue_report_received(report.id)
    except DatabaseError:
        log.exception("finishing a report failed")
        raise IntakeError(1300, report_id=rid) from None
    return report, file_ids


def report_retract(*, reporter: Reporter, report_id: Any, now: datetime | None = None) -> Report:
    """POST /retract."""
    now = now or timezone.now()
    rid = parse_report_id(report_id)
    try:
        with transaction.atomic():
            report = _report_for_update(reporter=reporter, report_id=rid)
            report.status = ReportStatus.RETRACTED
            report.closed_at = now
            report.modified_at = now
            report.save(update_fields=["status", "closed_at", "modified_at"])
            audit_record(actor=reporter, action="report.retracted", target=report, unit_id=report.unit_id)
            enqueue_purge(report.id)
    except DatabaseError:
        log.exception("retracting a report failed")
        raise IntakeError(1300, report_id=rid) from None
    return report


def report_expiry_time(report: Report) -> datetime:
    """24 h after opening or 1 h after the last change, whichever is later."""
    return max(
        report.opened_at + timedelta(hours=settings.HIMAYA_OPEN_REPORT_TTL_HOURS),
        report.modified_at + timedelta(hours=settings.HIMAYA_OPEN_REPORT_IDLE_HOURS),
    )


def report_is_expired(report: Report, *, now: datetime) -> bool:
    return report.status == ReportStatus.OPEN and now >= report_expiry_time(report)


def _expire(report: Report, *, now: datetime) -> None:
    report.status = ReportStatus.EXPIRED
    report.closed_at = now
    report.save(update_fields=["status", "closed_at"])
    audit_record(actor=None, action="report.expired", target=report, unit_id=report.unit_id)
    enqueue_purge(report.id)


def reports_expire(*, now: datetime | None = None) -> int:
    """Close every unfinished report past its time; their files are then purged."""
    now = now or timezone.now()
    candidates = Report.objects.filter(
        status=ReportStatus.OPEN,
        opened_at__lte=now - timedelta(hours=settings.HIMAYA_OPEN_REPORT_TTL_HOURS),
        modified_at__lte=now - timedelta(hours=settings.HIMAYA_OPEN_REPORT_IDLE_HOURS),
    ).values_list("id", flat=True)
    count = 0
    for rid in list(candidates):
        with transaction.atomic():
            report = Report.objects.select_for_update().get(id=rid)
            if report_is_expired(report, now=now):
                _expire(report, now=now)
                count += 1
    return count


def report_files_purge(*, report_id: int) -> int:
    """Remove the stored content of a retracted or expired report's files.

    A blob shared with a live report stays. Idempotent: safe to run again.
    """
    from himaya.core.storage import delete as storage_delete

    purged = 0
    now = timezone.now()
    for rf in ReportFile.objects.filter(report_id=report_id, report__status__in=[ReportStatus.RETRACTED, ReportStatus.EXPIRED], blob__isnull=False):
        with transaction.atomic():
            blob = Blob.objects.select_for_update().filter(address=rf.blob_id).first()
            ReportFile.objects.filter(pk=rf.pk).update(blob=None, purged_at=now)
            if blob and not ReportFile.objects.filter(blob=blob).exists():
                storage_delete(blob.address)
                blob.delete()
            purged += 1
    return purged


def enqueue_report_received(report_id: int) -> None:
    """Call inside the transaction that finished or imported the report."""
    from himaya.core.tasks import enqueue_with_transaction
    from himaya.intake.tasks import report_received

    enqueue_with_transaction(report_received, report_id=report_id)


def enqueue_purge(report_id: int) -> None:
    from himaya.core.tasks import enqueue_with_transaction
    from himaya.intake.tasks import report_purge_files

    enqueue_with_transaction(report_purge_files, report_id=report_id)
