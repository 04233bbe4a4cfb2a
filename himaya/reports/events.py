"""Audit events of reading reports: one typed function per event type
(himaya.audit.catalogue.AuditAction), called inside the transaction of the read."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def report_viewed_event(*, actor: Any, report: Any, identities: bool) -> AuditEvent:
    """A person opened a report (page or API). `identities`: whether what they were
    shown named its people (victims, reporting persons): the read an auditor looks for."""
    return audit_record(actor=actor, action=AuditAction.REPORT_VIEWED, target=report, unit_id=report.unit_id,
                        data={"identities": identities})
