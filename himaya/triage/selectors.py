"""Reads of triage results: the SPEC §4.3 fields of a report and the queue.

Permission lives in the querysets (himaya.reports.selectors): a linked report of
another unit is not listed, as if it did not exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from himaya.accounts.permissions import Action, restrict
from himaya.linking.models import ReportLink, ReportLinkage
from himaya.reports.models import Report
from himaya.triage.models import ReportTriage, RuleSet, TriageOverride

EMPTY = {"priority": None, "score": None, "reasons": [], "classification": None, "jurisdiction": None, "cluster": None, "linked_reports": []}


def _one(model: Any, report: Report, attr: str) -> Any:
    try:
        return getattr(report, attr)
    except model.DoesNotExist:
        return None


def report_links(report: Report, *, limit: int = 200) -> list[dict[str, Any]]:
    """Reports of the same unit that share identifiers with this one, strongest first."""
    rows = (ReportLink.objects.filter(Q(low_id=report.id) | Q(high_id=report.id))
            .filter(Q(low__unit_id=report.unit_id) & Q(high__unit_id=report.unit_id))
            .order_by("-strength", "-high_id")[:limit])
    return [
        {"id": r.high_id if r.low_id == report.id else r.low_id, "via": [{"kind": v["kind"], "value": v["value"]} for v in r.via],
         "strength": r.strength, "merges": r.merges, "via_detail": r.via}
        for r in rows
    ]


def report_triage_summary(report: Report) -> dict[str, Any]:
    """The SPEC §4.3 triage fields of one report, exactly those keys."""
    triage = _one(ReportTriage, report, "triage")
    linkage = _one(ReportLinkage, report, "linkage")
    if triage is None and linkage is None:
        return dict(EMPTY)
    out = dict(EMPTY)
    if triage is not None:
        out.update(
            priority=triage.effective_priority, score=triage.score, reasons=list(triage.reasons),
            classification=triage.override_classification or triage.classification,
        )
    if linkage is not None:
        out.update(
            jurisdiction={"country": linkage.country or None, "region": linkage.region or None, "decision": linkage.decision},
            cluster=linkage.unit_cluster_id,
            linked_reports=[{"id": r["id"], "via": r["via"], "strength": r["strength"]} for r in report_links(report)],
        )
    return out


@dataclass
class TriagePanel:
    """Everything the "why this priority" panel shows."""

    triage: ReportTriage | None
    linkage: ReportLinkage | None
    links: list[dict[str, Any]]
    overrides: list[TriageOverride]
    cluster_size: int
    overdue: bool
    previously: list[dict[str, Any]]


def _previously_visible(report: Report, linkage: ReportLinkage | None) -> list[dict[str, Any]]:
    """"Previously reported" entries without the ids of other units' reports: a
    priorCTReports reference stays (the provider wrote it), its link does not;
    a link found through a shared account is dropped."""
    if linkage is None:
        return []
    entries = list(linkage.previously_reported or [])
    ids = {p["id"] for p in entries if p.get("id")}
    mine = set(Report.objects.filter(id__in=ids, unit_id=report.unit_id).values_list("id", flat=True)) if ids else set()
    out = []
    for p in entries:
        if p.get("id") in mine or p.get("id") is None:
            out.append(p)
        elif p.get("via") == "priorCTReports":
            out.append({**p, "id": None})
    return out


def report_triage_panel(report: Report, *, now: datetime | None = None) -> TriagePanel:
    now = now or timezone.now()
    triage = _one(ReportTriage, report, "triage")
    linkage = _one(ReportLinkage, report, "linkage")
    return TriagePanel(
        triage=triage, linkage=linkage, links=report_links(report) if linkage else [],
        overrides=list(TriageOverride.objects.filter(report=report).select_related("actor")),
        # unit_cluster_id is a report id of this unit; the unit filter says so again.
        cluster_size=(ReportLinkage.objects.filter(unit_cluster_id=linkage.unit_cluster_id, report__unit_id=report.unit_id).count()
                      if linkage else 0),
        previously=_previously_visible(report, linkage),
        overdue=bool(triage and triage.reviewed_at is None and triage.due_at < now),
    )


def triage_queue_for_user(user: Any, *, priority: str = "", decision: str = "", cluster: int | None = None,
                          overdue: bool | None = None, reviewed: bool | None = False, now: datetime | None = None) -> QuerySet[ReportTriage]:
    """Triaged reports the user may see, most urgent first: tier, then the service
    target (earliest due first), then age (oldest first). Restricted by the one
    table on the unit copied into ReportTriage (its UNIT_PATH), so that the
    queue's order and filters are one index scan."""
    now = now or timezone.now()
    qs = restrict(ReportTriage.objects.all(), user, Action.VIEW)
    if priority:
        qs = qs.filter(effective_priority=priority)
    if decision:
        qs = qs.filter(report__linkage__decision=decision)
    if cluster is not None:
        qs = qs.filter(report__linkage__unit_cluster_id=cluster)
    if overdue is True:
        qs = qs.filter(reviewed_at__isnull=True, due_at__lt=now)
    elif overdue is False:
        qs = qs.exclude(reviewed_at__isnull=True, due_at__lt=now)
    if reviewed is True:
        qs = qs.filter(reviewed_at__isnull=False)
    elif reviewed is False:
        qs = qs.filter(reviewed_at__isnull=True)
    # The queue shows neither the XML nor the document: not fetched, not decrypted.
    return (qs.select_related("report", "report__linkage").defer("report__raw_xml", "report__document")
            .order_by("effective_priority", "due_at", "received_at", "report_id"))


def ruleset_versions_for_user(*, user: Any, limit: int = 20) -> QuerySet[RuleSet]:
    """The latest published versions of the national rule set, for whom may read it."""
    return restrict(RuleSet.objects.only("version", "note", "created_at", "created_by"), user, Action.VIEW)[:limit]
