"""A known caseload, built through the real services (intake's store, enrichment,
triage overrides and reviews, cases, victims, suspects, legal requests,
referrals), and an independent count of every figure straight from the source
rows — written without the statistics' code, so the two can disagree."""
from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from tests.linking.factory import ENTICEMENT, POSSESSION, Person, report_xml

PASSWORD = "stats-tests-password-1"


def make_report(*, unit: Any, when: datetime.datetime, source: str, reporter: Any = None, suspect: Person | None = None,
                incident_type: str = POSSESSION, escalation: str = "") -> Any:
    """A finished report received at `when`, stored as intake stores it, then enriched
    (linked, located, triaged) by the production flow."""
    from himaya.enrichment.tasks import report_reenrich
    from himaya.intake.services import parse_document, report_create_from_tree
    from himaya.reports.models import ReportStatus

    xml = report_xml(suspect=suspect, incident_type=incident_type, escalation=escalation)
    report = report_create_from_tree(tree=parse_document(xml, expect="report"), raw=xml, unit=unit, source=source, reporter=reporter,
                                     now=when, status=ReportStatus.FINISHED)
    report_reenrich.call(report_id=report.id)
    return report


def make_user(name: str, roles: list[str], unit_code: str = "stats-a") -> Any:
    from himaya.accounts.services import user_create

    return user_create(username=name, password=PASSWORD, roles=roles, unit_code=unit_code)


@dataclass
class Caseload:
    unit: Any
    other_unit: Any
    people: dict[str, Any]
    now: datetime.datetime
    earlier: datetime.datetime
    reports: dict[str, list[Any]] = field(default_factory=dict)
    cases: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def caseload(db) -> Caseload:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import reporter_create, unit_get_or_create
    from himaya.cases import services as cs
    from himaya.triage.services import report_triage_override, report_triage_review

    unit = unit_get_or_create(code="stats-a")
    other = unit_get_or_create(code="stats-b")
    people = {
        "analyst": make_user("st-analyst", ["intake_analyst"]),
        "investigator": make_user("st-investigator", ["investigator"]),
        "prosecutor": make_user("st-prosecutor", ["prosecutor"]),
        "cp": make_user("st-cp", ["child_protection"]),
        "supervisor": make_user("st-supervisor", ["supervisor"]),
        "auditor": make_user("st-auditor", ["auditor"]),
        "other": make_user("st-other-supervisor", ["supervisor"], "stats-b"),
        "other_investigator": make_user("st-other-investigator", ["investigator"], "stats-b"),
    }
    acme = reporter_create(username="acme-chat", password="acme-pass-123456", unit_code="stats-a")
    beta = reporter_create(username="beta-video", password="beta-pass-123456", unit_code="stats-a")
    now = timezone.now()
    # Received 40 minutes ago: a review or a case now is within P1's hour.
    recent = now - datetime.timedelta(minutes=40)
    earlier = now - datetime.timedelta(days=62)
    gaza = lambda i: Person(esp_id=f"gz-{i}", country="PS", region="Gaza")  # noqa: E731
    cairo = lambda i: Person(esp_id=f"eg-{i}", country="EG")  # noqa: E731
    load = Caseload(unit=unit, other_unit=other, people=people, now=now, earlier=earlier)
    r = load.reports
    r["earlier_acme"] = [make_report(unit=unit, when=earlier, source="provider", reporter=acme, suspect=gaza(100 + i)) for i in range(6)]
    r["earlier_portal"] = [make_report(unit=unit, when=earlier, source="portal")]
    r["p1"] = [make_report(unit=unit, when=recent, source="provider", reporter=acme, suspect=gaza(i), escalation="child in danger")
               for i in range(3)]
    r["foreign"] = [make_report(unit=unit, when=recent, source="provider", reporter=beta, suspect=cairo(i), incident_type=ENTICEMENT)
                    for i in range(2)]
    r["portal"] = [make_report(unit=unit, when=recent, source="portal") for _ in range(3)]
    r["import"] = [make_report(unit=unit, when=recent, source="import", suspect=Person(esp_id="imp-1"))]
    # The other unit: never counted for unit A, not even its totals.
    r["other"] = [make_report(unit=other, when=recent, source="portal") for _ in range(2)]

    analyst, inv, sup, cp = people["analyst"], people["investigator"], people["supervisor"], people["cp"]
    # Tiers a person chose (the computed ones depend on the rules): two portal reports to P2, one to P3.
    report_triage_override(report_id=r["portal"][0].id, actor=analyst, reason="a child may be at risk", priority="P2")
    report_triage_override(report_id=r["portal"][1].id, actor=analyst, reason="a child may be at risk", priority="P2")
    report_triage_override(report_id=r["portal"][2].id, actor=analyst, reason="no actionable data", priority="P3")
    report_triage_override(report_id=r["import"][0].id, actor=analyst, reason="informational", priority="P4")
    for report in r["foreign"]:
        report_triage_override(report_id=report.id, actor=analyst, reason="referral abroad", priority="P2")
    # Reviewed: the P1 reports within the hour, the earlier ones two months late.
    report_triage_review(report_ids=[x.id for x in r["p1"] + r["earlier_acme"][:4]], actor=analyst)

    case1 = cs.case_open(actor=analyst, title="Gaza cluster", report_ids=[x.id for x in r["p1"]])
    case2 = cs.case_open(actor=analyst, title="Referral abroad", report_ids=[x.id for x in r["foreign"]])
    case3 = cs.case_open(actor=analyst, title="Portal report", report_ids=[r["portal"][0].id])
    cs.case_set_status(actor=sup, case=case3, status="closed", outcome="no_offence")
    other_case = cs.case_open(actor=people["other_investigator"], title="Other unit", report_ids=[x.id for x in r["other"]])
    load.cases = {"case1": case1, "case2": case2, "case3": case3, "other": other_case}

    v1 = cs.victim_create(actor=cp, case=case1, identification="identified", age=10, sex="female")
    cs.victim_update(actor=cp, victim=v1, identification="located")
    cs.victim_update(actor=cp, victim=v1, identification="safeguarded")
    v2 = cs.victim_create(actor=cp, case=case1, identification="located", age=14, sex="male")
    cs.victim_create(actor=cp, case=case1, age_range="13-15")
    cs.victim_create(actor=cp, case=case2, identification="identified", age=16, sex="female")
    cs.victim_create(actor=people["other_investigator"], case=other_case, identification="safeguarded", age=9, sex="male")

    s1 = cs.suspect_create(actor=inv, case=case1, label="A", status="identified")
    for step in ("arrested", "charged", "convicted"):
        s1 = cs.suspect_update(actor=inv, suspect=s1, status=step, legal_basis=f"{step}: order 12/2026")
    cs.suspect_create(actor=inv, case=case1, label="B", status="identified")
    s3 = cs.suspect_create(actor=inv, case=case2, label="C", status="identified")
    cs.suspect_update(actor=inv, suspect=s3, status="charged", legal_basis="indictment 3/2026")
    cs.suspect_create(actor=inv, case=case2, label="D")

    today = timezone.localdate(now)
    lr1 = cs.legal_request_create(actor=inv, case=case1, provider="acme-chat", kind="subscriber_data", legal_basis="art. 12",
                                  sent_on=today, due_on=today + datetime.timedelta(days=30))
    cs.legal_request_answer(actor=inv, request=lr1, result="provided", answer="subscriber found", answered_on=today)
    cs.legal_request_create(actor=inv, case=case1, provider="acme-chat", kind="preservation", legal_basis="art. 9", sent_on=today)
    lr3 = cs.legal_request_create(actor=inv, case=case2, provider="beta-video", kind="content", legal_basis="art. 14", sent_on=today)
    cs.legal_request_answer(actor=inv, request=lr3, result="refused", answer="foreign law", answered_on=today)
    # Sent two months ago (recorded late): counted in that month, with the filters of its case.
    cs.legal_request_create(actor=inv, case=case2, provider="beta-video", kind="preservation", legal_basis="art. 9",
                            sent_on=timezone.localdate(earlier))

    shelter = cs.referral_create(actor=cp, victim=v1, kind="shelter", service="Safe House Gaza")
    for state in ("accepted", "in_progress"):
        shelter = cs.referral_move(actor=cp, referral=shelter, state=state)
    cs.referral_move(actor=cp, referral=shelter, state="completed", outcome="placed with relatives")
    cs.referral_create(actor=cp, victim=v1, kind="psychological", service="Counselling Centre")
    health = cs.referral_create(actor=cp, victim=v2, kind="health", service="Clinic")
    cs.referral_move(actor=cp, referral=health, state="declined", reason="no capacity")
    return load


# --- the independent count -----------------------------------------------------------------------------------

def bounds(period: Any) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(period.start, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(period.end, datetime.time.min))
    return start, end


def report_attrs(report: Any) -> tuple[str, str, str]:
    from himaya.linking.models import ReportLinkage
    from himaya.triage.models import ReportTriage

    triage = ReportTriage.objects.filter(report=report).first()
    linkage = ReportLinkage.objects.filter(report=report).first()
    return report.source, triage.effective_priority if triage else "", linkage.decision if linkage else "unknown"


def wanted(attrs: tuple[str, str, str], filters: Any) -> bool:
    source, tier, decision = attrs
    return ((not filters.source or source == filters.source) and (not filters.tier or tier == filters.tier)
            and (not filters.jurisdiction or decision == filters.jurisdiction))


def expected(unit: Any, period: Any, filters: Any) -> dict[str, Any]:
    """Every figure, counted one object at a time from the source rows."""
    from himaya.cases.models import Case, LegalRequest, Referral, Suspect, Victim
    from himaya.linking.models import ReportLinkage
    from himaya.reports.models import Report

    start, end = bounds(period)
    out: dict[str, Any] = {}
    reports = [x for x in Report.objects.filter(unit=unit, status="finished").order_by("id")
               if start <= x.finished_at < end and wanted(report_attrs(x), filters)]
    out["reports"] = len(reports)
    out["by_source"] = Counter(x.source for x in reports)
    out["by_tier"] = Counter(report_attrs(x)[1] for x in reports)
    out["by_jurisdiction"] = Counter(report_attrs(x)[2] for x in reports)
    out["by_provider"] = Counter(x.reporter.username if x.reporter else "-" for x in reports)
    out["by_incident_type"] = Counter(x.incident_type for x in reports)
    linkages = {lk.report_id: lk for lk in ReportLinkage.objects.filter(report__in=reports)}
    out["by_region"] = Counter(linkages[x.id].region or "-" for x in reports if x.id in linkages and linkages[x.id].decision == "ours")
    out["by_country"] = Counter(linkages[x.id].country or "-" for x in reports if x.id in linkages and linkages[x.id].decision == "foreign")

    def case_ok(case: Any) -> bool:
        first = case.case_reports.order_by("report_id").first()
        return wanted(report_attrs(first.report) if first else ("", "", "unknown"), filters)

    cases = [c for c in Case.objects.filter(unit=unit) if start <= c.created_at < end and case_ok(c)]
    out["cases_opened"] = len(cases)
    closed = [c for c in Case.objects.filter(unit=unit, closed_at__isnull=False) if start <= c.closed_at < end and case_ok(c)]
    out["cases_closed"] = len(closed)
    out["closed_by_outcome"] = Counter(c.outcome for c in closed)
    victims = [v for v in Victim.objects.filter(case__unit=unit) if start <= v.created_at < end and case_ok(v.case)]
    order = ["unidentified", "identified", "located", "safeguarded"]
    for stage in order[1:]:
        out[f"victims_{stage}"] = sum(1 for v in victims if order.index(v.identification) >= order.index(stage))
    bands = {"0-2": (0, 2), "3-5": (3, 5), "6-8": (6, 8), "9-12": (9, 12), "13-15": (13, 15), "16-17": (16, 17)}

    def band(v: Any) -> str:
        if v.age_range:
            return v.age_range
        return next((b for b, (lo, hi) in bands.items() if v.age is not None and lo <= v.age <= hi), "unknown")

    out["victims_age_sex"] = Counter((band(v), v.sex) for v in victims)
    suspects = [s for s in Suspect.objects.filter(case__unit=unit) if start <= s.created_at < end and case_ok(s.case)]
    history = {s.id: {s.status, *s.steps.values_list("status", flat=True)} for s in suspects}
    out["suspects_identified"] = sum(1 for s in suspects if history[s.id] - {"unidentified"})
    out["suspects_arrested"] = sum(1 for s in suspects if history[s.id] & {"arrested", "released"})
    out["suspects_charged"] = sum(1 for s in suspects if history[s.id] & {"charged", "convicted", "acquitted"})
    out["suspects_convicted"] = sum(1 for s in suspects if "convicted" in history[s.id])
    requests = [q for q in LegalRequest.objects.filter(case__unit=unit, sent_on__isnull=False)
                if period.start <= q.sent_on < period.end and case_ok(q.case)]
    out["lr_sent"] = Counter(q.provider for q in requests)
    out["lr_answered"] = Counter(q.provider for q in requests if q.answered_on)
    referrals = [f for f in Referral.objects.filter(victim__case__unit=unit) if start <= f.requested_at < end and case_ok(f.victim.case)]
    out["ref_sent"] = Counter(f.kind for f in referrals)
    out["ref_answered"] = Counter(f.kind for f in referrals if f.accepted_at or f.declined_at)
    out["ref_accepted"] = Counter(f.kind for f in referrals if f.accepted_at)
    out["ref_completed"] = Counter(f.kind for f in referrals if f.completed_at)
    return out
