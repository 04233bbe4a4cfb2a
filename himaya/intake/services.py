"""Provider intake: the lifecycle of a CyberTipline report (open → files → file
details → finish / retract; unfinished reports expire).

Every function validates fully before it writes, writes in one transaction with its
audit event, and raises IntakeError with the documented code otherwise — so a
rejected request leaves nothing behind.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.db.models import PROTECT, Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from himaya.accounts.models import Reporter, Unit
from himaya.core.models import Blob
from himaya.core.storage import PendingFile, blob_put
from himaya.intake import events, signals
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


def prior_report_exists(report_id: int, *, unit_id: int) -> bool:
    """A report a provider may cite in priorCTReports: any provider's report of its own
    unit. Another unit's report is answered exactly as a missing one (4100), never 0."""
    return (Report.objects.filter(Q(id=report_id) | Q(external_id=report_id), unit_id=unit_id)
            .exclude(status__in=[ReportStatus.RETRACTED, ReportStatus.EXPIRED]).exists())


def validate_report(raw: bytes, *, now: datetime, unit_id: int) -> Node:
    tree = parse_document(raw, expect="report")
    violations = check_report(tree, now=now, prior_report_exists=lambda rid: prior_report_exists(rid, unit_id=unit_id))
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
    projection_rows([(report, proj)], file=file)


_PARTY_COLUMNS = ("report_id", "parent_id", "role", "position", "path", "first_name", "middle_name", "last_name", "age", "date_of_birth",
                  "esp_identifier", "esp_service", "screen_name", "platform", "account_type")
_IDENTIFIER_COLUMNS = ("report_id", "party_id", "file_id", "kind", "value", "qualifier", "path")
_IP_COLUMNS = ("report_id", "party_id", "file_id", "ip_address", "event_name", "at", "possible_proxy", "port", "path")
_DEVICE_COLUMNS = ("report_id", "party_id", "file_id", "id_type", "id_value", "event_name", "at", "path")
_INCIDENT_COLUMNS = ("report_id", "position", "kind", "content", "additional_info", "fields")
# Written as they are: the ORM's preparation of these field types changes nothing for the
# values built here (ids, str, int, None). Every other field (encrypted, JSON, dates,
# booleans) goes through its own get_db_prep_save, as the ORM would.
_AS_IS = (models.CharField, models.TextField, models.IntegerField, models.PositiveIntegerField, models.BigIntegerField)
_PREPARERS: dict[tuple[str, str, tuple[str, ...]], list[Callable[[Any], Any] | None]] = {}


def _preparers(model: type[models.Model], columns: tuple[str, ...]) -> list[Callable[[Any], Any] | None]:
    from django.db import connection

    key = (connection.vendor, model._meta.label, columns)
    if key not in _PREPARERS:
        fields = [model._meta.get_field(c) for c in columns]
        _PREPARERS[key] = [None if f.is_relation or type(f) in _AS_IS else functools.partial(_db_prep_save, f) for f in fields]
    return _PREPARERS[key]


def _db_prep_save(field: Any, value: Any) -> Any:
    from django.db import connection

    return field.get_db_prep_save(value, connection)


def _insert_statements(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[tuple[str, list[Any]]]:
    """Rows of one table as multi-row INSERTs (one per 1,000 rows) from plain tuples: no
    model instances and no ORM compilation (which was most of a submit's CPU), each
    value prepared by its field exactly as the ORM would."""
    from django.db import connection

    preparers = _preparers(model, columns)
    q = connection.ops.quote_name
    head = f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(model._meta.get_field(c).column) for c in columns)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per = max(1, min(1000, 30000 // len(columns)))  # SQLite takes at most 32,766 parameters a statement
    return [(head + ", ".join([one] * len(rows[start:start + per])),
             [v if prep is None else prep(v) for row in rows[start:start + per] for v, prep in zip(row, preparers)])
            for start in range(0, len(rows), per)]


_RECORDSET_SQL: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None]]] = {}
# The column types a row can be sent as in one JSON document (json_to_recordset), and
# the JSON values they take: str, int, bool, None, an aware datetime (as ISO 8601 with
# its offset and microseconds: the same instant), a JSON field's own value.
_RECORD_TYPES = {"bigint": "bigint", "integer": "integer", "smallint": "smallint", "varchar": "text", "text": "text",
                 "boolean": "boolean", "timestamp with time zone": "timestamptz", "jsonb": "jsonb", "double precision": "double precision"}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("a naive datetime cannot be sent as an instant")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not sent in a JSON recordset")


def _recordset_statement(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """PostgreSQL: the rows of one table as `INSERT … SELECT … FROM json_to_recordset(%s)`
    with ONE parameter, the rows as a JSON array. A multi-row VALUES list has one
    placeholder per value and a different text for every document: psycopg split and
    quoted it value by value (most of what writing the projection cost); here the statement's
    text is the same for every document (psycopg converts it once per process), the
    JSON is made by the json module in C, and the server parses it in C. Each value is
    first prepared by its field as the ORM would (encrypted fields included), and the
    record's declared types turn the JSON values back into exactly what the ORM
    would have stored (tests/pipeline/test_intake_statements.py compares them)."""
    from django.db import connection

    key = (model._meta.label, columns)
    if key not in _RECORDSET_SQL:
        q = connection.ops.quote_name
        fields = [model._meta.get_field(c) for c in columns]
        types = [_RECORD_TYPES[f.db_type(connection).split("(")[0]] for f in fields]
        names = tuple(f"c{n}" for n in range(len(fields)))
        sql = (f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
               f"SELECT {', '.join(names)} FROM json_to_recordset(%s::json) AS r({', '.join(f'{n} {t}' for n, t in zip(names, types))})")
        # A JSON field's value goes in as it is (what the ORM's Jsonb wrapper would dump).
        preparers = [None if isinstance(f, models.JSONField) else prep for f, prep in zip(fields, _preparers(model, columns))]
        _RECORDSET_SQL[key] = (sql, names, preparers)
    sql, names, preparers = _RECORDSET_SQL[key]
    records = [{name: (v if prep is None else prep(v)) for name, v, prep in zip(names, row, preparers)} for row in rows]
    return sql, [json.dumps(records, ensure_ascii=False, separators=(",", ":"), default=_json_value)]


def _insert_rows(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]], *, returning: bool = False) -> list[int]:
    """`_insert_statements` run (one `_recordset_statement` on PostgreSQL); with `returning`,
    the new ids in the order of the rows (as Django's bulk_create relies on too)."""
    from django.db import connection

    if not rows:
        return []
    tail = f" RETURNING {connection.ops.quote_name(model._meta.pk.column)}" if returning else ""
    statements = [_recordset_statement(model, columns, rows)] if connection.vendor == "postgresql" else _insert_statements(model, columns, rows)
    ids: list[int] = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql + tail, params)
            if returning:
                ids += [r[0] for r in cursor.fetchall()]
    return ids


def _insert_tables(parts: list[tuple[type[models.Model], tuple[str, ...], list[tuple[Any, ...]]]]) -> None:
    """Rows of several tables that need no ids back. On PostgreSQL in one statement (the
    INSERTs but the last as data-modifying WITH parts, each run exactly once): one
    round trip and one parse instead of one per table."""
    from django.db import connection

    if not any(rows for _, _, rows in parts):
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every table, even one with no rows this time (an empty JSON array inserts nothing):
            # the same text for every document.
            *first, last = [_recordset_statement(model, columns, rows) for model, columns, rows in parts]
            cursor.execute("WITH " + ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(first)) + " " + last[0]
                           if first else last[0], [v for _, params in (*first, last) for v in params])
            return
        for sql, params in [st for model, columns, rows in parts if rows for st in _insert_statements(model, columns, rows)]:
            cursor.execute(sql, params)


def projection_rows(items: list[tuple[Report, Projection]], *, file: ReportFile | None = None) -> None:
    """The rows of the reports' projections (parties, identifiers, IP and device events,
    incidents): one multi-row INSERT per table for all of them."""
    file_id = file.pk if file is not None else None
    parties: dict[tuple[int, int], int] = {}  # (position in items, row key) → party id
    # Two levels at most (a person and their associated accounts): one insert each.
    for level in (False, True):
        rows = [(n, report, row) for n, (report, proj) in enumerate(items) for row in proj.parties if (row.parent_key is not None) == level]
        created = _insert_rows(Party, _PARTY_COLUMNS, [
            (report.pk, parties.get((n, row.parent_key)) if row.parent_key is not None else None,
             row.role, row.position, row.path[:300], row.first_name[:256], row.middle_name[:256], row.last_name[:256], row.age,
             row.date_of_birth[:40], row.esp_identifier[:256], row.esp_service[:256], row.screen_name[:256], row.platform[:256],
             row.account_type[:50])
            for n, report, row in rows
        ], returning=True)
        parties.update({(n, row.key): pk for (n, _, row), pk in zip(rows, created)})

    identifiers: list[tuple[Any, ...]] = []
    ips: list[tuple[Any, ...]] = []
    devices: list[tuple[Any, ...]] = []
    incidents: list[tuple[Any, ...]] = []
    for n, (report, proj) in enumerate(items):
        def p(key: int | None, n: int = n) -> int | None:
            return parties.get((n, key)) if key is not None else None

        rid = report.pk
        identifiers += [(rid, p(r.party_key), file_id, r.kind, r.value, r.qualifier[:256], r.path[:300]) for r in proj.identifiers]
        ips += [(rid, p(r.party_key), file_id, r.ip_address.strip()[:100], r.event_name[:20], _dt(r.at), r.possible_proxy, r.port,
                 r.path[:300]) for r in proj.ips]
        devices += [(rid, p(r.party_key), file_id, r.id_type[:255], r.id_value, r.event_name[:20], _dt(r.at), r.path[:300])
                    for r in proj.devices]
        incidents += [(rid, r.position, r.kind, r.content, r.additional_info, r.fields) for r in proj.incidents]
    _insert_tables([(Identifier, _IDENTIFIER_COLUMNS, identifiers), (IpCaptureEvent, _IP_COLUMNS, ips),
                    (DeviceIdEvent, _DEVICE_COLUMNS, devices), (IncidentDetail, _INCIDENT_COLUMNS, incidents)])


def report_create_from_tree(
    *, tree: Node, raw: bytes, unit: Unit, source: str, reporter: Reporter | None, now: datetime,
    status: str = ReportStatus.OPEN, import_key: str | None = None, import_label: str = "", external_id: int | None = None,
) -> Report:
    proj = project_report(tree)
    report = Report(
        unit=unit, reporter=reporter, source=source, status=status, opened_at=now, modified_at=now,
        finished_at=now if status == ReportStatus.FINISHED else None,
        raw_xml=raw, raw_sha256=hashlib.sha256(raw).hexdigest(), document=tree.to_json(),
        import_key=import_key, import_label=import_label[:500], external_id=external_id,
        incident_type=proj.incident_type[:100], incident_at=_dt(proj.incident_at), platform=proj.platform[:256],
        escalation=proj.escalation, batched_reason=proj.batched_reason[:50], annotations=proj.annotations,
    )
    _insert_new(report)
    _write_projection(report, proj)
    return report


_NEW_ROW_SQL: dict[tuple[str, str], tuple[str, list[Any]]] = {}


def _insert_new(obj: models.Model) -> None:
    """`obj.save()` for a new row of a model with an automatic id and no database
    defaults: the same signals, the same values (each field's `pre_save` and
    `get_db_prep_save`, as the ORM's insert), but the statement's text made once per
    process instead of compiled by the ORM for every report."""
    from django.db import connection
    from django.db.models.signals import post_save, pre_save

    meta = obj._meta
    key = (connection.vendor, meta.label)
    if key not in _NEW_ROW_SQL:
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
        assert meta.auto_field is not None and meta.db_returning_fields == [meta.pk] and not meta.parents
        assert not any(f.has_db_default() for f in fields)
        q = connection.ops.quote_name
        _NEW_ROW_SQL[key] = (f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
                             f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {q(meta.db_table)}.{q(meta.pk.column)}", fields)
    sql, fields = _NEW_ROW_SQL[key]
    cls = obj.__class__
    obj._prepare_related_fields_for_save(operation_name="save")
    pre_save.send(sender=cls, instance=obj, raw=False, using=connection.alias, update_fields=None)
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, connection.alias
    post_save.send(sender=cls, instance=obj, created=True, update_fields=None, raw=False, using=connection.alias)


def report_open(*, reporter: Reporter, raw: bytes, now: datetime | None = None) -> Report:
    """POST /submit."""
    now = now or timezone.now()
    if not reporter.is_active:
        raise IntakeError(3100)
    tree = validate_report(raw, now=now, unit_id=reporter.unit_id)
    try:
        with transaction.atomic():
            report = report_create_from_tree(tree=tree, raw=raw, unit=reporter.unit, source=ReportSource.API, reporter=reporter, now=now)
            events.report_opened_event(reporter=reporter, report=report, size=len(raw))
    except DatabaseError:
        log.exception("saving a submitted report failed")
        raise IntakeError(1100) from None
    return report


class _ExpiredNow(IntakeError):
    """The report turned out expired inside a request's transaction. Expiring it there
    would be rolled back with the request's error (after its purge had run, with the
    immediate task backend): the request's transaction rolls back instead (nothing was
    written yet) and `_expiring` commits the expiry in a transaction of its own."""

    def __init__(self, report_id: int) -> None:
        super().__init__(5101, report_id=report_id)


_Service = TypeVar("_Service", bound=Callable[..., Any])


def _expiring(service: _Service) -> _Service:
    """For a service that opens a report with `_report_for_update`: an expired report is
    closed for good (and its files purged after that commit), then answered 5101."""
    @functools.wraps(service)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return service(*args, **kwargs)
        except _ExpiredNow as exc:
            assert exc.report_id is not None
            report_expire(report_id=exc.report_id)
            raise IntakeError(5101, report_id=exc.report_id) from None
    return wrapper  # type: ignore[return-value]


def _report_for_update(*, reporter: Reporter, report_id: Any) -> Report:
    rid = parse_report_id(report_id)
    # The documents are large and encrypted: the lifecycle checks never need them.
    report = Report.objects.select_for_update().defer("raw_xml", "document").filter(id=rid).first()
    if report is None or report.unit_id != reporter.unit_id:
        # Another unit's report does not exist for this provider (need-to-know).
        raise IntakeError(5001, report_id=rid)
    if report.reporter_id != reporter.id:
        # Another provider's report: refuse without saying more about it.
        raise IntakeError(3000, report_id=rid)
    if not reporter.is_active:
        raise IntakeError(3300, report_id=rid)
    if report.status == ReportStatus.OPEN and report_is_expired(report, now=timezone.now()):
        raise _ExpiredNow(rid)
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


@_expiring
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
            events.report_file_uploaded_event(reporter=reporter, report=report, file_id=rf.file_id, sha256=s.sha256, size=s.size)
    except DatabaseError:
        log.exception("recording an uploaded file failed")
        raise IntakeError(1110) from None
    finally:
        pending.discard()  # no-op when blob_put moved it into place
    return rf


@_expiring
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
            events.report_file_details_event(reporter=reporter, report=report, file_id=file_id)
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


def _finish_in_place(*, reporter: Reporter, rid: int, now: datetime) -> tuple[Report, list[str]] | None:
    """The common case of /finish in two statements, inside the caller's transaction:
    one UPDATE that locks the report and finishes it only if it is this provider's own,
    open and not expired (the same conditions as `_report_for_update`), then its files
    (read after the lock: an upload that committed before it is listed, a later one
    waits and then finds the report finished). None when no row matched: the caller
    then works out which refusal it is. The statistics hear of the change as from
    `save()` (post_save), which a bare UPDATE would not send."""
    from django.db import connection
    from django.db.models.signals import post_save

    if not reporter.is_active:
        return None
    field = Report._meta.get_field
    at = field("finished_at").get_db_prep_value(now, connection)
    opened_after = field("opened_at").get_db_prep_value(now - timedelta(hours=settings.HIMAYA_OPEN_REPORT_TTL_HOURS), connection)
    changed_after = field("modified_at").get_db_prep_value(now - timedelta(hours=settings.HIMAYA_OPEN_REPORT_IDLE_HOURS), connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Report._meta.db_table} SET status = %s, finished_at = %s, modified_at = %s"
            " WHERE id = %s AND reporter_id = %s AND unit_id = %s AND status = %s AND (opened_at > %s OR modified_at > %s)"
            " RETURNING batched_reason",
            [ReportStatus.FINISHED, at, at, rid, reporter.id, reporter.unit_id, ReportStatus.OPEN, opened_after, changed_after],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(f"SELECT file_id FROM {ReportFile._meta.db_table} WHERE report_id = %s ORDER BY position", [rid])
        file_ids = [r[0] for r in cursor.fetchall()]
    # What the lifecycle, its audit event and the listeners need of it (not the documents).
    report = Report(id=rid, unit_id=reporter.unit_id, reporter_id=reporter.id, status=ReportStatus.FINISHED,
                    modified_at=now, finished_at=now, batched_reason=row[0])
    report._state.adding, report._state.db = False, connection.alias
    violations = check_batched_finish(batched=bool(report.batched_reason), file_count=len(file_ids))
    if violations:
        raise IntakeError(4100, _violations_text(violations), report_id=rid)  # rolls the UPDATE back with the transaction
    post_save.send(sender=Report, instance=report, created=False, update_fields=frozenset({"status", "finished_at", "modified_at"}),
                   raw=False, using=connection.alias)
    return report, file_ids


@_expiring
def report_finish(*, reporter: Reporter, report_id: Any, now: datetime | None = None) -> tuple[Report, list[str]]:
    """POST /finish."""
    now = now or timezone.now()
    rid = parse_report_id(report_id)
    try:
        with transaction.atomic():
            done = _finish_in_place(reporter=reporter, rid=rid, now=now)
            if done is not None:
                report, file_ids = done
                events.report_finished_event(reporter=reporter, report=report, files=len(file_ids))
                enqueue_report_received(report.id)
                return report, file_ids
            # No row matched: the checks one by one, for the documented refusal (or a finish after all).
            report = _report_for_update(reporter=reporter, report_id=rid)
            file_ids = list(report.files.order_by("position").values_list("file_id", flat=True))
            violations = check_batched_finish(batched=bool(report.batched_reason), file_count=len(file_ids))
            if violations:
                raise IntakeError(4100, _violations_text(violations), report_id=report.id)
            report.status = ReportStatus.FINISHED
            report.finished_at = now
            report.modified_at = now
            report.save(update_fields=["status", "finished_at", "modified_at"])
            events.report_finished_event(reporter=reporter, report=report, files=len(file_ids))
            enqueue_report_received(report.id)
    except DatabaseError:
        log.exception("finishing a report failed")
        raise IntakeError(1300, report_id=rid) from None
    return report, file_ids


@_expiring
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
            events.report_retracted_event(reporter=reporter, report=report)
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
    events.report_expired_event(report=report)
    enqueue_purge(report.id)


def report_expire(*, report_id: int, now: datetime | None = None) -> bool:
    """Close one unfinished report past its time, in a transaction of its own."""
    now = now or timezone.now()
    with transaction.atomic():
        report = Report.objects.select_for_update().defer("raw_xml", "document").get(id=report_id)
        if not report_is_expired(report, now=now):
            return False
        _expire(report, now=now)
    return True


def reports_expire(*, now: datetime | None = None) -> int:
    """Close every unfinished report past its time; their files are then purged."""
    now = now or timezone.now()
    candidates = Report.objects.filter(
        status=ReportStatus.OPEN,
        opened_at__lte=now - timedelta(hours=settings.HIMAYA_OPEN_REPORT_TTL_HOURS),
        modified_at__lte=now - timedelta(hours=settings.HIMAYA_OPEN_REPORT_IDLE_HOURS),
    ).values_list("id", flat=True)
    count = sum(report_expire(report_id=rid, now=now) for rid in list(candidates))
    # A purge is enqueued after its report's closing commits: a crash in between loses
    # it. Catch up here with closed reports still holding content an hour on.
    left = ReportFile.objects.filter(
        report__status__in=[ReportStatus.RETRACTED, ReportStatus.EXPIRED], blob__isnull=False,
        report__closed_at__lt=now - timedelta(hours=1), report__closed_at__gte=now - timedelta(days=7),
    ).values_list("report_id", flat=True).distinct()
    for rid in list(left):
        report_files_purge(report_id=rid)
    return count


def report_files_purge(*, report_id: int) -> int:
    """Remove the stored content of a retracted or expired report's files.

    A blob shared with a live report stays. Each file leaves an audit event. The
    stored content is deleted once the rows saying so have committed. Idempotent:
    safe to run again.
    """
    from himaya.core.storage import delete as storage_delete

    purged = 0
    now = timezone.now()
    unit_id = Report.objects.filter(id=report_id).values_list("unit_id", flat=True).first()
    for pk in list(ReportFile.objects.filter(report_id=report_id, report__status__in=[ReportStatus.RETRACTED, ReportStatus.EXPIRED],
                                             blob__isnull=False).values_list("pk", flat=True)):
        with transaction.atomic():
            rf = ReportFile.objects.select_for_update().filter(pk=pk, blob__isnull=False).only("pk", "file_id", "sha256", "blob_id").first()
            if rf is None:
                continue  # purged meanwhile by another run
            blob = Blob.objects.select_for_update().filter(address=rf.blob_id).first()
            ReportFile.objects.filter(pk=rf.pk).update(blob=None, purged_at=now)
            removed = bool(blob and not _blob_in_use(blob))
            if blob and removed:
                address = blob.address
                blob.delete()
                transaction.on_commit(functools.partial(storage_delete, address))
            events.report_file_purged_event(report_id=report_id, unit_id=unit_id, file_id=rf.file_id, sha256=rf.sha256, content_removed=removed)
            purged += 1
    return purged


def _blob_in_use(blob: Blob) -> bool:
    """Another record still holds this content (another report's file, a case
    attachment with the same bytes...): every relation that protects a Blob is
    asked, so intake need not know the apps that came after it."""
    for rel in Blob._meta.related_objects:
        if rel.on_delete is PROTECT and rel.related_model._default_manager.filter(**{rel.field.name: blob}).exists():
            return True
    return False


def enqueue_report_received(report_id: int) -> None:
    """Call inside the transaction that finished or imported the report."""
    from himaya.core.tasks import enqueue_with_transaction
    from himaya.intake.tasks import report_received

    if any(answer is True for _, answer in signals.reports_arriving.send(sender=None, report_ids=[report_id])):
        return  # in a listener's charge: its workers run it, no task of ours needed
    enqueue_with_transaction(report_received, report_id=report_id)


def enqueue_reports_received(report_ids: list[int]) -> None:
    """`enqueue_report_received` for many reports at once (a bulk import's batch): one
    queued task announces each of them, in the transaction that wrote them."""
    from himaya.core.tasks import enqueue_with_transaction
    from himaya.intake.tasks import reports_received

    if report_ids:
        enqueue_with_transaction(reports_received, report_ids=list(report_ids))


def enqueue_purge(report_id: int) -> None:
    """Call inside the transaction that retracts or expires the report: the purge is
    enqueued once that transaction has committed, never before (deleting files for a
    closing that is then rolled back would leave rows pointing at nothing)."""
    from himaya.intake.tasks import report_purge_files

    transaction.on_commit(lambda: report_purge_files.enqueue(report_id=report_id))
