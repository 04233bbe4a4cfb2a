"""Audit events of linking: one typed function per event type
(himaya.audit.catalogue.AuditAction), called inside the transaction of the change."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def link_separated_event(*, actor: Any, low: Any, high_id: int, strength: Any, merged: bool, reason: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.LINK_SEPARATED, target=low, unit_id=low.unit_id,
                        data={"low": low.id, "high": high_id, "strength": strength, "merged": merged, "reason": reason})


def link_separation_undone_event(*, actor: Any, low: Any, high_id: int, merges: bool, reason: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.LINK_SEPARATION_UNDONE, target=low, unit_id=low.unit_id,
                        data={"low": low.id, "high": high_id, "merges": merges, "reason": reason})


def geoip_updated_event(*, actor: Any, file_name: str, ranges: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.GEOIP_UPDATED, data={"file": file_name, "ranges": ranges})
