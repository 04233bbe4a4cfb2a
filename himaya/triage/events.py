"""Audit events of triage: one typed function per event type
(himaya.audit.catalogue.AuditAction), called inside the transaction of the change."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record


def priority_changed_event(*, report: Any, before: str | None, after: str | None, ruleset: int | None) -> AuditEvent:
    """The rules (not a person) moved a report to another tier."""
    return audit_record(actor=None, action=AuditAction.PRIORITY_CHANGED, target=report, unit_id=report.unit_id,
                        data={"from": before, "to": after, "ruleset": ruleset})


def triage_overridden_event(*, actor: Any, report: Any, before: str | None, after: str | None, classification: Any, reason: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.TRIAGE_OVERRIDDEN, target=report, unit_id=report.unit_id,
                        data={"priority": [before, after], "classification": classification, "reason": reason})


def triage_reviewed_event(*, actor: Any, report: Any, priority: str | None, late: bool) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.TRIAGE_REVIEWED, target=report, unit_id=report.unit_id,
                        data={"priority": priority, "late": late})


def triage_rebuilt_event(*, reports: int, ruleset: int | None, tiers: dict[str, int]) -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.TRIAGE_REBUILT, data={"reports": reports, "ruleset": ruleset, "tiers": dict(tiers)})


def ruleset_published_event(*, actor: Any, ruleset: Any, note: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.RULESET_PUBLISHED, target=ruleset, data={"version": ruleset.version, "note": note})
