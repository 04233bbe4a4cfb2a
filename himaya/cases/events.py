"""The case timeline and the audit log, one small typed function per event
(Saleor's order/events.py): each writes the case's timeline event and its audit
event, inside the caller's transaction.

Timeline fields hold ids, codes, dates and user names, never a victim's name or
date of birth: the timeline is shown to every role of the unit, and its sentence
is rendered from these fields through gettext (himaya.cases.presentation).
"""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record
from himaya.cases.models import (
    Attachment, Case, EventType, LegalRequest, Note, Referral, Suspect, Task, TimelineEvent, Victim,
)


def _timeline(*, case: Case, type: EventType, actor: Any, fields: dict[str, Any]) -> TimelineEvent:
    return TimelineEvent.objects.create(case=case, type=type, actor=actor if getattr(actor, "pk", None) else None, fields=fields)


def _audit(*, actor: Any, action: AuditAction, target: Any, case: Case, data: dict[str, Any]) -> AuditEvent:
    return audit_record(actor=actor, action=action, target=target, unit_id=case.unit_id, data={"case": case.reference, **data})


def case_opened_event(*, case: Case, actor: Any, report_ids: list[int], cluster: int | None) -> TimelineEvent:
    fields = {"reference": case.reference, "reports": sorted(report_ids), "cluster": cluster}
    _audit(actor=actor, action=AuditAction.CASE_OPENED, target=case, case=case, data={"title": case.title, **fields})
    return _timeline(case=case, type=EventType.CASE_OPENED, actor=actor, fields=fields)


def case_status_changed_event(*, case: Case, actor: Any, old: str, new: str, outcome: str) -> TimelineEvent:
    fields = {"old": old, "new": new, "outcome": outcome}
    _audit(actor=actor, action=AuditAction.CASE_STATUS_CHANGED, target=case, case=case, data=fields)
    return _timeline(case=case, type=EventType.STATUS_CHANGED, actor=actor, fields=fields)


def case_assigned_event(*, case: Case, actor: Any, added: list[str], removed: list[str]) -> TimelineEvent:
    fields = {"added": sorted(added), "removed": sorted(removed)}
    _audit(actor=actor, action=AuditAction.CASE_ASSIGNED, target=case, case=case, data=fields)
    return _timeline(case=case, type=EventType.ASSIGNED, actor=actor, fields=fields)


def case_reports_added_event(*, case: Case, actor: Any, report_ids: list[int]) -> TimelineEvent:
    fields = {"reports": sorted(report_ids)}
    _audit(actor=actor, action=AuditAction.CASE_REPORTS_ADDED, target=case, case=case, data=fields)
    return _timeline(case=case, type=EventType.REPORTS_ADDED, actor=actor, fields=fields)


def case_merged_event(*, source: Case, target: Case, actor: Any, moved: dict[str, int]) -> None:
    """One audit event (on the case that remains), a timeline event on each case."""
    _audit(actor=actor, action=AuditAction.CASE_MERGED, target=target, case=target, data={"merged": source.reference, "moved": moved})
    _timeline(case=target, type=EventType.MERGED_IN, actor=actor, fields={"other": source.reference, "other_id": source.pk, **moved})
    _timeline(case=source, type=EventType.MERGED_INTO, actor=actor, fields={"other": target.reference, "other_id": target.pk})


def case_note_added_event(*, note: Note, actor: Any) -> TimelineEvent:
    # The note's words stay in the (encrypted) note; the timeline only says one was added.
    _audit(actor=actor, action=AuditAction.CASE_NOTE_ADDED, target=note, case=note.case, data={"note": note.pk})
    return _timeline(case=note.case, type=EventType.NOTE_ADDED, actor=actor, fields={"note": note.pk})


def case_deadline_set_event(*, case: Case, actor: Any, old: str | None, new: str | None) -> TimelineEvent:
    fields = {"old": old, "new": new}
    _audit(actor=actor, action=AuditAction.CASE_DEADLINE_SET, target=case, case=case, data=fields)
    return _timeline(case=case, type=EventType.DEADLINE_SET, actor=actor, fields=fields)


def task_created_event(*, task: Task, actor: Any) -> TimelineEvent:
    fields = {"task": task.pk, "kind": task.kind, "title": task.title, "due": task.due.isoformat() if task.due else None,
              "assignee": task.assignee.get_username() if task.assignee_id else None}
    _audit(actor=actor, action=AuditAction.TASK_CREATED, target=task, case=task.case, data=fields)
    return _timeline(case=task.case, type=EventType.TASK_CREATED, actor=actor, fields=fields)


def task_status_changed_event(*, task: Task, actor: Any, old: str, new: str) -> TimelineEvent:
    fields = {"task": task.pk, "kind": task.kind, "title": task.title, "old": old, "new": new}
    _audit(actor=actor, action=AuditAction.TASK_STATUS_CHANGED, target=task, case=task.case, data=fields)
    return _timeline(case=task.case, type=EventType.TASK_STATUS_CHANGED, actor=actor, fields=fields)


def victim_created_event(*, victim: Victim, actor: Any) -> TimelineEvent:
    fields = {"victim": victim.pk, "identification": victim.identification}
    _audit(actor=actor, action=AuditAction.VICTIM_CREATED, target=victim, case=victim.case, data=fields)
    return _timeline(case=victim.case, type=EventType.VICTIM_ADDED, actor=actor, fields=fields)


def victim_identification_event(*, victim: Victim, actor: Any, old: str, new: str) -> TimelineEvent:
    fields = {"victim": victim.pk, "old": old, "new": new}
    _audit(actor=actor, action=AuditAction.VICTIM_UPDATED, target=victim, case=victim.case, data={**fields, "changed": ["identification"]})
    return _timeline(case=victim.case, type=EventType.VICTIM_IDENTIFICATION, actor=actor, fields=fields)


def victim_updated_event(*, victim: Victim, actor: Any, changed: list[str]) -> TimelineEvent:
    """Which fields changed, never their values (names and dates of birth are identity)."""
    fields = {"victim": victim.pk, "changed": sorted(changed)}
    _audit(actor=actor, action=AuditAction.VICTIM_UPDATED, target=victim, case=victim.case, data=fields)
    return _timeline(case=victim.case, type=EventType.VICTIM_UPDATED, actor=actor, fields=fields)


def victim_identity_viewed_event(*, victim: Victim, actor: Any) -> AuditEvent:
    """A person was shown who a child is: audited, not on the timeline."""
    return _audit(actor=actor, action=AuditAction.VICTIM_IDENTITY_VIEWED, target=victim, case=victim.case, data={"victim": victim.pk})


def referral_created_event(*, referral: Referral, actor: Any) -> TimelineEvent:
    case = referral.victim.case
    fields = {"referral": referral.pk, "victim": referral.victim_id, "kind": referral.kind, "service": referral.service,
              "officer": referral.officer.get_username()}
    _audit(actor=actor, action=AuditAction.REFERRAL_CREATED, target=referral, case=case, data=fields)
    return _timeline(case=case, type=EventType.REFERRAL_CREATED, actor=actor, fields=fields)


def referral_moved_event(*, referral: Referral, actor: Any, old: str, new: str) -> TimelineEvent:
    case = referral.victim.case
    fields = {"referral": referral.pk, "victim": referral.victim_id, "kind": referral.kind, "service": referral.service,
              "old": old, "new": new}
    _audit(actor=actor, action=AuditAction.REFERRAL_MOVED, target=referral, case=case,
           data={**fields, "outcome": referral.outcome, "reason": referral.reason})
    return _timeline(case=case, type=EventType.REFERRAL_MOVED, actor=actor, fields=fields)


def suspect_created_event(*, suspect: Suspect, actor: Any, identifiers: list[dict[str, str]]) -> TimelineEvent:
    fields = {"suspect": suspect.pk, "label": suspect.label, "status": suspect.status, "identifiers": len(identifiers),
              "report": suspect.source_report_id}
    _audit(actor=actor, action=AuditAction.SUSPECT_CREATED, target=suspect, case=suspect.case, data={**fields, "identifiers": identifiers})
    return _timeline(case=suspect.case, type=EventType.SUSPECT_ADDED, actor=actor, fields=fields)


def suspect_status_changed_event(*, suspect: Suspect, actor: Any, old: str, new: str, on: str, legal_basis: str) -> TimelineEvent:
    fields = {"suspect": suspect.pk, "label": suspect.label, "old": old, "new": new, "on": on, "legal_basis": legal_basis}
    _audit(actor=actor, action=AuditAction.SUSPECT_STATUS_CHANGED, target=suspect, case=suspect.case, data=fields)
    return _timeline(case=suspect.case, type=EventType.SUSPECT_STATUS, actor=actor, fields=fields)


def suspect_updated_event(*, suspect: Suspect, actor: Any, changed: list[str], identifiers: list[dict[str, str]]) -> TimelineEvent:
    fields = {"suspect": suspect.pk, "label": suspect.label, "changed": sorted(changed)}
    _audit(actor=actor, action=AuditAction.SUSPECT_UPDATED, target=suspect, case=suspect.case, data={**fields, "identifiers": identifiers})
    return _timeline(case=suspect.case, type=EventType.SUSPECT_UPDATED, actor=actor, fields=fields)


def legal_request_created_event(*, request: LegalRequest, actor: Any) -> TimelineEvent:
    fields = {"request": request.pk, "provider": request.provider, "kind": request.kind,
              "sent": request.sent_on.isoformat() if request.sent_on else None, "due": request.due_on.isoformat() if request.due_on else None}
    _audit(actor=actor, action=AuditAction.LEGAL_REQUEST_CREATED, target=request, case=request.case,
           data={**fields, "legal_basis": request.legal_basis, "account": request.account})
    return _timeline(case=request.case, type=EventType.LEGAL_REQUEST_CREATED, actor=actor, fields=fields)


def legal_request_answered_event(*, request: LegalRequest, actor: Any) -> TimelineEvent:
    fields = {"request": request.pk, "provider": request.provider, "kind": request.kind, "result": request.result,
              "answered": request.answered_on.isoformat() if request.answered_on else None, "days": request.answer_days}
    _audit(actor=actor, action=AuditAction.LEGAL_REQUEST_ANSWERED, target=request, case=request.case, data=fields)
    return _timeline(case=request.case, type=EventType.LEGAL_REQUEST_ANSWERED, actor=actor, fields=fields)


def legal_request_document_event(*, request: LegalRequest, actor: Any, language: str) -> AuditEvent:
    """The request's document was produced (it names accounts and IPs): audited."""
    return _audit(actor=actor, action=AuditAction.LEGAL_REQUEST_DOCUMENT_EXPORTED, target=request, case=request.case,
                  data={"request": request.pk, "provider": request.provider, "language": language})


def attachment_added_event(*, attachment: Attachment, actor: Any) -> TimelineEvent:
    # The file's name is ciphertext at rest: the timeline and the audit log say only which file and how big.
    fields = {"attachment": attachment.pk, "size": attachment.size, "sha256": attachment.sha256}
    _audit(actor=actor, action=AuditAction.CASE_ATTACHMENT_ADDED, target=attachment, case=attachment.case, data=fields)
    return _timeline(case=attachment.case, type=EventType.ATTACHMENT_ADDED, actor=actor, fields=fields)


def attachment_downloaded_event(*, attachment: Attachment, actor: Any) -> AuditEvent:
    return _audit(actor=actor, action=AuditAction.CASE_ATTACHMENT_DOWNLOADED, target=attachment, case=attachment.case,
                  data={"attachment": attachment.pk, "sha256": attachment.sha256})


def case_timeline_exported_event(*, case: Case, actor: Any, format: str, events: int) -> AuditEvent:
    return _audit(actor=actor, action=AuditAction.CASE_TIMELINE_EXPORTED, target=case, case=case, data={"format": format, "events": events})


# Exchange with partner units (SPEC §3.8): the audit event is written by
# himaya.exchange.events, which calls these for a referral whose reports are in a case.

def partner_referral_sent_event(*, case: Case, actor: Any, partner: str, package: str, report_ids: list[int]) -> TimelineEvent:
    fields = {"partner": partner, "package": package, "reports": sorted(report_ids)}
    return _timeline(case=case, type=EventType.PARTNER_REFERRAL_SENT, actor=actor, fields=fields)


def partner_referral_acknowledged_event(*, case: Case, partner: str, package: str, received_at: str) -> TimelineEvent:
    fields = {"partner": partner, "package": package, "received_at": received_at}
    return _timeline(case=case, type=EventType.PARTNER_REFERRAL_ACKNOWLEDGED, actor=None, fields=fields)


def partner_outcome_event(*, case: Case, partner: str, package: str, outcome: str) -> TimelineEvent:
    # The partner's free text may name people: it stays on the referral, not on the timeline every role reads.
    fields = {"partner": partner, "package": package, "outcome": outcome}
    return _timeline(case=case, type=EventType.PARTNER_OUTCOME, actor=None, fields=fields)
