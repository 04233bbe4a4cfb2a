"""The append-only, hash-chained audit log (SPEC §3.10).

Every state change and every sensitive read calls `audit_record` inside its own
transaction, so the event commits with the change or not at all.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from himaya.audit.models import AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 0x48494D41  # "HIMA": serialises chain appends on PostgreSQL


def _digest(prev_hash: str, *, at: datetime, actor: str, action: str, target_type: str, target_id: str, unit_id: int | None, data: dict[str, Any]) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor, action, target_type, target_id, unit_id, data],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    from himaya.accounts.models import Reporter

    if isinstance(actor, Reporter):
        return f"reporter:{actor.username}"
    return f"user:{actor.get_username()}"


def audit_record(*, actor: Any, action: str, target: Any = None, target_type: str = "", target_id: str | int = "", unit_id: int | None = None, data: dict[str, Any] | None = None) -> AuditEvent:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
    data = json.loads(json.dumps(data or {}, default=str))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev = last or GENESIS
        at = timezone.now()
        fields = dict(at=at, actor=actor_label(actor), action=action, target_type=target_type, target_id=str(target_id), unit_id=unit_id, data=data)
        return AuditEvent.objects.create(prev_hash=prev, hash=_digest(prev, **fields), **fields)


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_verify() -> tuple[int, list[ChainBreak]]:
    breaks: list[ChainBreak] = []
    prev = GENESIS
    count = 0
    for ev in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if ev.prev_hash != prev:
            breaks.append(ChainBreak(ev.id, "previous hash does not match the event before it (an event was removed or inserted)"))
        expected = _digest(ev.prev_hash, at=ev.at, actor=ev.actor, action=ev.action, target_type=ev.target_type, target_id=ev.target_id, unit_id=ev.unit_id, data=ev.data)
        if expected != ev.hash:
            breaks.append(ChainBreak(ev.id, "content does not match its hash (the event was altered)"))
        prev = ev.hash
    return count, breaks
