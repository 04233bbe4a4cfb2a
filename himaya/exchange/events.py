"""Audit events of the exchange with partner units, one typed function each
(himaya.audit.catalogue.AuditAction), called inside the transaction of the change.
A referral whose reports are in a case also gets its case-timeline event
(himaya.cases.events)."""
from __future__ import annotations

from typing import Any

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.audit.services import audit_record
from himaya.cases import events as case_events
from himaya.cases.models import Case
from himaya.exchange.models import Partner, Referral, ReferralOutcome


def _cases_of(referral: Referral) -> list[Case]:
    ids = set(referral.reports.filter(case_link__isnull=False).values_list("case_link__case_id", flat=True))
    if referral.case_id:
        ids.add(referral.case_id)
    return list(Case.objects.filter(id__in=ids).order_by("id"))


def key_exported_event(*, actor: Any, unit_id: int, fingerprint: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.EXCHANGE_KEY_EXPORTED, target_type="accounts.unit", target_id=unit_id,
                        unit_id=unit_id, data={"fingerprint": fingerprint})


def partner_added_event(*, actor: Any, partner: Partner) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_ADDED, target=partner, unit_id=partner.unit_id,
                        data={"name": partner.name, "country": partner.country, "fingerprint": partner.fingerprint})


def referral_sent_event(*, actor: Any, referral: Referral, report_ids: list[int], sha256: str) -> AuditEvent:
    for case in _cases_of(referral):
        case_events.partner_referral_sent_event(case=case, actor=actor, partner=referral.partner.name,
                                                package=str(referral.package_id), report_ids=report_ids)
    return audit_record(actor=actor, action=AuditAction.PARTNER_REFERRAL_SENT, target=referral, unit_id=referral.unit_id,
                        data={"partner": referral.partner.name, "package": str(referral.package_id), "reports": sorted(report_ids),
                              "sha256": sha256})


def referral_received_event(*, actor: Any, referral: Referral, imported: list[int], known: list[int], sha256: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_REFERRAL_RECEIVED, target=referral, unit_id=referral.unit_id,
                        data={"partner": referral.partner.name, "package": str(referral.package_id), "imported": sorted(imported),
                              "already_here": sorted(known), "sha256": sha256})


def receipt_sent_event(*, actor: Any, referral: Referral, receipt_id: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_RECEIPT_SENT, target=referral, unit_id=referral.unit_id,
                        data={"partner": referral.partner.name, "package": str(referral.package_id), "receipt": receipt_id})


def referral_acknowledged_event(*, actor: Any, referral: Referral, receipt_id: str) -> AuditEvent:
    for case in _cases_of(referral):
        case_events.partner_referral_acknowledged_event(case=case, partner=referral.partner.name, package=str(referral.package_id),
                                                        received_at=referral.acknowledged_at.isoformat() if referral.acknowledged_at else "")
    return audit_record(actor=actor, action=AuditAction.PARTNER_REFERRAL_ACKNOWLEDGED, target=referral, unit_id=referral.unit_id,
                        data={"partner": referral.partner.name, "package": str(referral.package_id), "receipt": receipt_id})


def outcome_sent_event(*, actor: Any, referral: Referral, outcome_package: str, kind: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_OUTCOME_SENT, target=referral, unit_id=referral.unit_id,
                        data={"partner": referral.partner.name, "package": str(referral.package_id), "outcome_package": outcome_package,
                              "outcome": kind})


def outcome_received_event(*, actor: Any, outcome: ReferralOutcome) -> AuditEvent:
    referral = outcome.referral
    for case in _cases_of(referral):
        case_events.partner_outcome_event(case=case, partner=referral.partner.name, package=str(referral.package_id),
                                          outcome=outcome.kind)
    return audit_record(actor=actor, action=AuditAction.PARTNER_OUTCOME_RECEIVED, target=referral, unit_id=referral.unit_id,
                        data={"partner": referral.partner.name, "package": str(referral.package_id),
                              "outcome_package": str(outcome.package_id), "outcome": outcome.kind})


def package_refused_event(*, actor: Any, unit_id: int, package_id: str, sender: str, sha256: str, reason: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_PACKAGE_REFUSED, target_type="exchange.package", target_id=package_id,
                        unit_id=unit_id, data={"sender": sender, "sha256": sha256, "reason": reason[:500]})


# -- identifier matching and hash sets (himaya.exchange.matching, himaya.exchange.hashsets) --

MATCHES_AUDITED = 1000  # the identifiers named in one event; the session's PartnerMatch rows hold them all


def match_completed_event(*, actor: Any, session: Any, matched: list[tuple[str, str]]) -> AuditEvent:
    """`matched`: (kind, identifier as shown) of what both units hold."""
    return audit_record(actor=actor, action=AuditAction.PARTNER_MATCH_COMPLETED, target=session, unit_id=session.unit_id,
                        data={"partner": session.partner.name, "side": session.side, "offered": session.offered,
                              "partner_offered": session.partner_offered, "matched": session.matched,
                              "partner_matched": session.partner_matched, "kinds": session.kinds,
                              "identifiers": [{"kind": k, "value": v} for k, v in matched[:MATCHES_AUDITED]],
                              "started": session.started_at.isoformat(), "finished": session.finished_at.isoformat()})


def match_failed_event(*, actor: Any, unit_id: int, partner: Partner, side: str, address: str, reason: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_MATCH_FAILED, target=partner, unit_id=unit_id,
                        data={"partner": partner.name, "side": side, "address": address, "reason": reason[:500]})


def hashset_exported_event(*, actor: Any, unit_id: int, lists: list[str], entries: int, sha256: str, fingerprint: str) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_HASHSET_EXPORTED, target_type="exchange.hashset", target_id=sha256[:16],
                        unit_id=unit_id, data={"lists": lists, "entries": entries, "sha256": sha256, "fingerprint": fingerprint})


def hashset_imported_event(*, actor: Any, partner: Partner, hash_list: Any, entries: int, sha256: str, signed: bool) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.PARTNER_HASHSET_IMPORTED, target=hash_list, unit_id=partner.unit_id,
                        data={"partner": partner.name, "country": partner.country, "fingerprint": partner.fingerprint,
                              "list": hash_list.name, "entries": entries, "sha256": sha256, "signed": signed})
