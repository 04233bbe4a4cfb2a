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
    return AuditEvent.objects.create(content_hash=_content_digest(**fields), **fields)


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
            AuditEvent.objects.bulk_update(pending, ["seq", "prev_hash", "hash"], batch_size=1000)
            head.last_seq, head.last_hash, head.sealed_at = seq, prev, timezone.now()
            head.save()
            sealed += len(pending)


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
