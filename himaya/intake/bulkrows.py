"""The rows of a bulk import's batch, built without model instances and written in
one statement per table: COPY on PostgreSQL, one executemany elsewhere (SQLite).

Why: building about 23 model instances per report and letting the ORM compile
their values was half of the import's time. Here each value goes through the
model field's own preparation only where it matters (the encrypted fields, so a
column holds exactly what the ORM would write; datetimes), the rest is written as
it is. The rows are built where the document was parsed (a worker process), with
no ids: the writer reserves the ids of a batch's reports and parties in one
statement and puts them in front of each row.

The columns of each table are listed here, in the same order as
`intake.services.projection_rows` fills them; a test checks that they cover every
column of the models, so a new column cannot be left out silently.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, models

from himaya.core.fields import EncryptedBinaryField, EncryptedJSONField, EncryptedTextField
from himaya.intake.services import _dt
from himaya.reports.models import DeviceIdEvent, Identifier, IncidentDetail, IpCaptureEvent, Party, Report

# (model, columns set by the writer (ids), columns built with the row) — attnames.
REPORT = (Report, ("id",), (
    "unit_id", "reporter_id", "source", "status", "opened_at", "modified_at", "finished_at", "closed_at", "raw_xml", "raw_sha256",
    "document", "import_key", "import_label", "external_id", "incident_type", "incident_at", "platform", "escalation",
    "batched_reason", "annotations"))
PARTY = (Party, ("id", "report_id", "parent_id"), (
    "role", "position", "path", "first_name", "middle_name", "last_name", "age", "date_of_birth", "esp_identifier", "esp_service",
    "screen_name", "platform", "account_type"))
IDENTIFIER = (Identifier, ("report_id", "party_id"), ("file_id", "kind", "value", "qualifier", "path"))
IP = (IpCaptureEvent, ("report_id", "party_id"), ("file_id", "ip_address", "event_name", "at", "possible_proxy", "port", "path"))
DEVICE = (DeviceIdEvent, ("report_id", "party_id"), ("file_id", "id_type", "id_value", "event_name", "at", "path"))
INCIDENT = (IncidentDetail, ("report_id",), ("position", "kind", "content", "additional_info", "fields"))
TABLES = (REPORT, PARTY, IDENTIFIER, IP, DEVICE, INCIDENT)

NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return NULL
    if value.__class__ is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()  # bytea's hex form, its backslash escaped for COPY
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    """A driver's wrapper (psycopg's Binary, sqlite3's memoryview) → the plain value."""
    if isinstance(value, memoryview):
        return bytes(value)
    obj = getattr(value, "obj", None)  # psycopg.Binary / Jsonb
    return obj if obj is not None and not isinstance(value, (str, bytes)) else value


def _converter(f: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How a Python value of this field becomes what the database is sent; None: as it is."""
    if isinstance(f, EncryptedTextField):
        # The field's own preparation: encrypted exactly as the ORM encrypts it ("" stays "").
        return lambda v: _plain(f.get_db_prep_save(v, connection)) if v else v
    if isinstance(f, (EncryptedBinaryField, EncryptedJSONField)):
        return lambda v: _plain(f.get_db_prep_save(v, connection))
    if isinstance(f, models.JSONField):
        encoder = f.encoder
        return lambda v: None if v is None else json.dumps(v, cls=encoder)
    if isinstance(f, models.DateTimeField):
        if connection.vendor == "postgresql":
            # Aware, as the ORM makes it; an aware datetime, what the rows hold, is already that.
            return lambda v: v if v is None or (v.__class__ is datetime and v.utcoffset() is not None) else f.get_prep_value(v)
        return lambda v: f.get_db_prep_save(v, connection)
    if isinstance(f, models.BooleanField) and connection.vendor != "postgresql":
        return lambda v: None if v is None else int(v)
    return None


# (vendor, model) → each column's converter. Looked up by the vendor first: asking the
# connection (a thread-local proxy) for it on every row was a tenth of building them.
_CONVERTERS: dict[tuple[str, type[models.Model]], list[Callable[[Any], Any] | None]] = {}


def converters(vendor: str, model: type[models.Model], columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    key = (vendor, model)
    if key not in _CONVERTERS:
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        _CONVERTERS[key] = [_converter(by_attname[c]) for c in columns]
    return _CONVERTERS[key]


def _copy_line(convs: Sequence[Callable[[Any], Any] | None]) -> Callable[[Sequence[Any]], str]:
    """A function of a row's values → its COPY text, the same as joining `copy_value` of
    each converted value, written out for this table's columns: a str without anything
    to escape and an int go in as they are, anything else through `copy_value`. A call
    and a loop step per value were most of the cost of building a report's ~20 rows."""
    names: dict[str, Any] = {"_c": copy_value, "BS": "\\", "TAB": "\t", "NL": "\n", "CR": "\r"}
    body, fields = [], []
    for i, conv in enumerate(convs):
        if conv is not None:
            names[f"k{i}"] = conv
            body.append(f"    v{i} = k{i}(v{i})")
        v = f"v{i}"
        fields.append(f"{{({v} if ({v}.__class__ is str and BS not in {v} and TAB not in {v} and NL not in {v} and CR not in {v})"
                      f" or {v}.__class__ is int else _c({v}))}}")
    unpack = ", ".join(f"v{i}" for i in range(len(convs))) + ","
    source = "def line(values):\n" + f"    {unpack} = values\n" + "".join(line + "\n" for line in body) + \
        '    return f"' + "\\t".join(fields) + '"\n'
    exec(compile(source, "<bulkrows copy line>", "exec"), names)
    return names["line"]


# (model) → its COPY line function (PostgreSQL only: the converters are the vendor's).
_COPY_LINES: dict[type[models.Model], Callable[[Sequence[Any]], str]] = {}


def row(table: tuple[Any, ...], values: Sequence[Any], vendor: str) -> Any:
    """The built part of one row: a COPY text fragment (PostgreSQL) or a tuple."""
    model, _, columns = table
    if vendor == "postgresql":
        line = _COPY_LINES.get(model)
        if line is None:
            line = _COPY_LINES[model] = _copy_line(converters(vendor, model, columns))
        return line(values)
    return tuple(v if conv is None else conv(v) for v, conv in zip(values, converters(vendor, model, columns)))


@dataclass
class Built:
    """One report's rows, without ids. Parties name each other and are named by the
    other rows through their projection keys."""

    key: str  # the import key (SHA-256 of the report.xml)
    report: Any
    parties: list[tuple[int, int | None, Any]] = field(default_factory=list)  # (key, parent key, row)
    identifiers: list[tuple[int | None, Any]] = field(default_factory=list)  # (party key, row)
    ips: list[tuple[int | None, Any]] = field(default_factory=list)
    devices: list[tuple[int | None, Any]] = field(default_factory=list)
    incidents: list[Any] = field(default_factory=list)


def build(*, raw: bytes, tree: Any, proj: Any, key: str, raw_sha256: str, unit_id: int, origin: str, status: str, now: datetime,
          label: str, external_id: int | None) -> Built:
    """What `report_create_from_tree` and `projection_rows` write for one report, as rows."""
    vendor = connection.vendor
    out = Built(key=key, report=row(REPORT, (
        unit_id, None, origin, status, now, now, now, None, raw, raw_sha256, tree.to_json(), key, label[:500], external_id,
        proj.incident_type[:100], _dt(proj.incident_at), proj.platform[:256], proj.escalation, proj.batched_reason[:50],
        proj.annotations), vendor))
    for r in proj.parties:
        out.parties.append((r.key, r.parent_key, row(PARTY, (
            r.role, r.position, r.path[:300], r.first_name[:256], r.middle_name[:256], r.last_name[:256], r.age,
            r.date_of_birth[:40], r.esp_identifier[:256], r.esp_service[:256], r.screen_name[:256], r.platform[:256],
            r.account_type[:50]), vendor)))
    out.identifiers = [(r.party_key, row(IDENTIFIER, (None, r.kind, r.value, r.qualifier[:256], r.path[:300]), vendor)) for r in proj.identifiers]
    out.ips = [(r.party_key, row(IP, (None, r.ip_address.strip()[:100], r.event_name[:20], _dt(r.at), r.possible_proxy, r.port,
                                       r.path[:300]), vendor)) for r in proj.ips]
    out.devices = [(r.party_key, row(DEVICE, (None, r.id_type[:255], r.id_value, r.event_name[:20], _dt(r.at), r.path[:300]), vendor))
                   for r in proj.devices]
    out.incidents = [row(INCIDENT, (r.position, r.kind, r.content, r.additional_info, r.fields), vendor) for r in proj.incidents]
    return out


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """n new primary keys of the model's table, inside the caller's transaction: from
    the sequence (PostgreSQL), or after the highest ever given (SQLite, whose write
    transactions are IMMEDIATE here: nobody else writes until this one ends)."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, model._meta.pk.column, n])
            return [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT MAX({connection.ops.quote_name(model._meta.pk.column)}) FROM {connection.ops.quote_name(table)}")
        top = cur.fetchone()[0] or 0
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = cur.fetchone()
        top = max(top, seq[0] if seq else 0)
    return list(range(top + 1, top + 1 + n))


def write(table: tuple[Any, ...], rows: list[Any]) -> None:
    """Rows of one table: on PostgreSQL lines of COPY text (ids in front), elsewhere tuples."""
    if not rows:
        return
    model, ids, columns = table
    q = connection.ops.quote_name
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    cols = ", ".join(q(by_attname[c].column) for c in (*ids, *columns))
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {q(model._meta.db_table)} ({cols}) FROM STDIN") as copy:
                for start in range(0, len(rows), 2000):
                    copy.write("".join(rows[start:start + 2000]))
        else:
            marks = ", ".join(["%s"] * (len(ids) + len(columns)))
            cur.executemany(f"INSERT INTO {q(model._meta.db_table)} ({cols}) VALUES ({marks})", rows)


def with_ids(built: Sequence[Built], report_ids: Sequence[int], party_ids: Iterator[int]) -> tuple[list[Any], ...]:
    """The rows of these reports for each of TABLES, their ids in front (COPY lines or
    tuples): each report's id, its parties' ids (taken in order from `party_ids`), and
    the party a row names, by its projection key (NULL when none, or not a party of the
    report). Written out per kind of row: a generic join per row was a third of the
    batch's writing."""
    reports: list[Any] = []
    parties: list[Any] = []
    identifiers: list[Any] = []
    ips: list[Any] = []
    devices: list[Any] = []
    incidents: list[Any] = []
    for rid, b in zip(report_ids, built):
        if b.report.__class__ is str:
            r = str(rid)
            pid: dict[Any, Any] = {key: str(next(party_ids)) for key, _, _ in b.parties}
            reports.append(f"{r}\t{b.report}\n")
            parties += [f"{pid[key]}\t{r}\t{pid.get(parent, NULL)}\t{row}\n" for key, parent, row in b.parties]
            identifiers += [f"{r}\t{pid.get(party, NULL)}\t{row}\n" for party, row in b.identifiers]
            ips += [f"{r}\t{pid.get(party, NULL)}\t{row}\n" for party, row in b.ips]
            devices += [f"{r}\t{pid.get(party, NULL)}\t{row}\n" for party, row in b.devices]
            incidents += [f"{r}\t{row}\n" for row in b.incidents]
        else:
            pid = {key: next(party_ids) for key, _, _ in b.parties}
            reports.append((rid, *b.report))
            parties += [(pid[key], rid, pid.get(parent), *row) for key, parent, row in b.parties]
            identifiers += [(rid, pid.get(party), *row) for party, row in b.identifiers]
            ips += [(rid, pid.get(party), *row) for party, row in b.ips]
            devices += [(rid, pid.get(party), *row) for party, row in b.devices]
            incidents += [(rid, *row) for row in b.incidents]
    return reports, parties, identifiers, ips, devices, incidents
