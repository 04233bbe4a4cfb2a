"""The append-only, hash-chained audit log (SPEC §3.10).

Every state change and every sensitive read calls `audit_record` inside its own
transaction, so the event commits with the change or not at all. Recording takes
no lock (the provider API writes two events per report at hundreds of reports a
second); `audit_seal` links recorded events into the chain shortly after, in the
order they became visible. Until sealed (seconds), an event is protected by its
content hash only.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent, AuditSeal, AuditVerification

GENESIS = "0" * 64


def _content_digest(*, at: datetime, actor: str, action: str, target_type: str, target_id: str, unit_id: int | None, data: dict[str, Any]) -> str:
    body = json.dumps(
        [at.isoformat(), actor, action, target_type, target_id, unit_id, data],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _link_digest(prev_hash: str, seq: int, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{seq}:{content_hash}".encode()).hexdigest()


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    from himaya.accounts.models import Reporter

    if isinstance(actor, Reporter):
        return f"reporter:{actor.username}"
    return f"user:{actor.get_username()}"


def audit_record(*, actor: Any, action: AuditAction, target: Any = None, target_type: str = "", target_id: str | int = "", unit_id: int | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Record one event. Call it from an app's `events.py` (one typed function per
    event type), inside the transaction of the change it records."""
    if not isinstance(action, AuditAction):
        # A free string would be an event type nobody can filter, render or translate.
        raise TypeError(f"audit_record takes a member of himaya.audit.catalogue.AuditAction, not {action!r}")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
    data = json.loads(json.dumps(data or {}, default=str))
    fields = dict(at=timezone.now(), actor=actor_label(actor), action=action.value, target_type=target_type, target_id=str(target_id), unit_id=unit_id, data=data)
    event = AuditEvent(content_hash=_content_digest(**fields), **fields)
    _insert_event(event)
    return event


_INSERT_SQL: dict[str, tuple[str, list[Any], bool]] = {}


def _insert_event(event: AuditEvent) -> None:
    """`event.save()` for a new event: the same values (each field's `pre_save` and
    `get_db_prep_save`, as the ORM's insert) and signals, in a statement made once per
    process and database vendor instead of compiled by the ORM for every event (two
    events a report on the provider API)."""
    from django.db.models.signals import post_save, pre_save

    conn = transaction.get_connection()  # the proxy's every attribute is a thread-local look-up
    cached = _INSERT_SQL.get(conn.vendor)
    if cached is None:
        meta = AuditEvent._meta
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
        q = conn.ops.quote_name
        returning = conn.features.can_return_columns_from_insert
        sql = (f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        if returning:
            sql += f" RETURNING {q(meta.db_table)}.{q(meta.pk.column)}"
        cached = _INSERT_SQL[conn.vendor] = (sql, fields, returning)
    sql, fields, returning = cached
    pre_save.send(sender=AuditEvent, instance=event, raw=False, using=conn.alias, update_fields=None)
    # As the ORM's save: a failed insert inside an atomic block marks it for rollback.
    with transaction.mark_for_rollback_on_error(conn.alias), conn.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(event, True), conn) for f in fields])
        event.pk = cursor.fetchone()[0] if returning else conn.ops.last_insert_id(
            cursor, AuditEvent._meta.db_table, AuditEvent._meta.pk.column)
    event._state.adding, event._state.db = False, conn.alias
    post_save.send(sender=AuditEvent, instance=event, created=True, update_fields=None, raw=False, using=conn.alias)


def audit_record_many(*, actor: Any, action: AuditAction, events: list[tuple[str, str | int, int | None, dict[str, Any]]]) -> int:
    """`audit_record` for many events of one actor and action at once (a bulk import's
    batch), inside the caller's transaction: the same rows and content hashes, written
    in one statement (COPY on PostgreSQL). events: (target type, target id, unit id, data)."""
    if not isinstance(action, AuditAction):
        raise TypeError(f"audit_record_many takes a member of himaya.audit.catalogue.AuditAction, not {action!r}")
    at, label = timezone.now(), actor_label(actor)
    rows = []
    for target_type, target_id, unit_id, data in events:
        data = json.loads(json.dumps(data or {}, default=str))
        fields = dict(at=at, actor=label, action=action.value, target_type=target_type, target_id=str(target_id), unit_id=unit_id, data=data)
        rows.append(dict(fields, content_hash=_content_digest(**fields)))
    if connection.vendor == "postgresql" and rows:
        columns = ["at", "actor", "action", "target_type", "target_id", "unit_id", "data", "content_hash"]
        with connection.cursor() as cur, cur.cursor.copy(
                f"COPY {AuditEvent._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for ev in rows:
                copy.write_row([json.dumps(ev[c]) if c == "data" else ev[c] for c in columns])
    else:
        AuditEvent.objects.bulk_create([AuditEvent(**ev) for ev in rows], batch_size=1000)
    return len(rows)


def audit_seal(*, batch: int = 5000) -> int:
    """Append recorded events to the chain. Safe to run from many processes at once."""
    sealed = 0
    while True:
        with transaction.atomic():
            AuditSeal.objects.get_or_create(id=1, defaults={"last_hash": GENESIS})
            head = AuditSeal.objects.select_for_update().get(id=1)
            pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id").only("id", "content_hash")[:batch])
            if not pending:
                return sealed
            prev, seq = head.last_hash, head.last_seq
            for ev in pending:
                seq += 1
                ev.seq, ev.prev_hash = seq, prev
                ev.hash = prev = _link_digest(prev, seq, ev.content_hash)
            _links_write(pending)
            head.last_seq, head.last_hash, head.sealed_at = seq, prev, timezone.now()
            head.save()
            sealed += len(pending)


def _links_write(events: list[AuditEvent]) -> None:
    """The chain positions just computed, written in one statement on PostgreSQL (UPDATE …
    FROM json_to_recordset) and one prepared statement run per event elsewhere: the ORM's
    bulk_update builds a CASE per field and event, and sealing two events per report was
    half of a task worker's CPU under intake (bench/RESULTS.md, session 12)."""
    import json

    from django.db import connection

    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"UPDATE {table} AS t SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "
                        "FROM json_to_recordset(%s::json) AS v(id bigint, seq bigint, prev_hash text, hash text) WHERE t.id = v.id",
                        [json.dumps([{"id": ev.id, "seq": ev.seq, "prev_hash": ev.prev_hash, "hash": ev.hash} for ev in events])])
        else:
            cur.executemany(f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
                            [(ev.seq, ev.prev_hash, ev.hash, ev.id) for ev in events])


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_verify() -> tuple[int, list[ChainBreak]]:
    """Seal what is pending, then check every event's content and every link."""
    audit_seal()
    breaks: list[ChainBreak] = []
    prev, expected_seq, count = GENESIS, 1, 0
    for ev in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        content = _content_digest(at=ev.at, actor=ev.actor, action=ev.action, target_type=ev.target_type, target_id=ev.target_id, unit_id=ev.unit_id, data=ev.data)
        if content != ev.content_hash:
            breaks.append(ChainBreak(ev.id, "content does not match its hash (the event was altered)"))
        if ev.seq is None:
            continue  # recorded after the seal above; only its content can be checked
        if ev.seq != expected_seq or ev.prev_hash != prev:
            breaks.append(ChainBreak(ev.id, "the chain skips here (an event was removed or inserted)"))
        if _link_digest(ev.prev_hash or "", ev.seq, ev.content_hash) != ev.hash:
            breaks.append(ChainBreak(ev.id, "link hash does not match (the chain was rewritten)"))
        prev, expected_seq = ev.hash or "", ev.seq + 1
    head = AuditSeal.objects.filter(id=1).first()
    if head is not None and head.last_seq != expected_seq - 1:
        breaks.append(ChainBreak(0, f"the chain ends at {expected_seq - 1} but its head says {head.last_seq} (events were removed from the end)"))
    return count, breaks


def audit_verify_record(*, actor: Any) -> AuditVerification:
    """Check the whole chain and keep the outcome (shown on the audit page); the check
    itself is an event."""
    count, breaks = audit_verify()
    head = AuditSeal.objects.filter(id=1).first()
    with transaction.atomic():
        outcome = AuditVerification.objects.create(
            at=timezone.now(), by=actor_label(actor)[:200], events=count, sealed_through=head.last_seq if head else 0,
            intact=not breaks, problems=[{"event": b.event_id, "reason": b.reason} for b in breaks[:100]],
        )
        # A person's check belongs to their unit (the command line's to the national unit).
        audit_record(actor=actor, action=AuditAction.AUDIT_VERIFIED, unit_id=getattr(actor, "unit_id", None),
                     data={"intact": not breaks, "events": count, "problems": len(breaks)})
    outcome.breaks = breaks  # type: ignore[attr-defined]
    return outcome


def audit_export_record(*, actor: Any, unit_id: int | None, filters: dict[str, Any], count: int) -> AuditEvent:
    """A person took the (filtered) audit log out as CSV."""
    with transaction.atomic():
        return audit_record(actor=actor, action=AuditAction.AUDIT_EXPORTED, unit_id=unit_id, data={"filters": filters, "count": count})
