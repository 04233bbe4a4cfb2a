"""Staff pages for reports: the unit's list and one report as a reader thinks of it.

Views parse the request and call selectors (which apply permission and audit);
presentation.py turns a report into sections.
"""
from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.core.report_extras import report_extras
from himaya.reports.models import ReportSource, ReportStatus
from himaya.reports.presentation import VALUE_LABELS, annotation_labels, incident_type_label, present_report
from himaya.reports.selectors import NONE, report_get_for_user, report_list_for_user

PAGE_SIZE = 50
INCIDENT_TYPES = (
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
)
ALL_STATUSES = "all"


def _day_start(text: str) -> datetime.datetime | None:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _narrowing(request: HttpRequest) -> dict[str, Any]:
    """The filters a statistics figure links with: received from/before (dates),
    tier, jurisdiction, country, governorate, provider. Unreadable ones are ignored."""
    get = request.GET
    out: dict[str, Any] = {}
    for name in ("received_from", "received_before"):
        moment = _day_start(get.get(name, "")[:10])
        if moment is not None:
            out[name] = moment
    if get.get("tier") in {"P1", "P2", "P3", "P4", NONE}:
        out["tier"] = get["tier"]
    if get.get("jurisdiction") in {"ours", "foreign", "unknown"}:
        out["jurisdiction"] = get["jurisdiction"]
    if get.get("source") in ReportSource.values:
        out["source"] = get["source"]
    for name, size in (("country", 2), ("region", 100), ("provider", 150)):
        value = get.get(name, "").strip()
        if value and (len(value) <= size or value == NONE):
            out[name] = value
    return out


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:300]
    incident_type = request.GET.get("incident_type", "")
    if incident_type not in INCIDENT_TYPES and incident_type != NONE:
        incident_type = ""
    narrowed = _narrowing(request)  # what a statistics figure links with (himaya.stats)
    status = request.GET.get("status", ReportStatus.FINISHED)
    if status != ALL_STATUSES and status not in ReportStatus.values:
        status = ReportStatus.FINISHED
    reports = report_list_for_user(
        user=request.user,  # type: ignore[arg-type]
        status=None if status == ALL_STATUSES else status,
        search=search,
        incident_type=incident_type,
        **narrowed,
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    reports_on_page = list(page.object_list)
    extras = report_extras([report.pk for report in reports_on_page])  # the case, its assignees, its due time (himaya.cases)
    rows = [
        {
            "report": report,
            "incident_type": incident_type_label(report.incident_type),
            "annotations": annotation_labels(report.annotations),
            "case": extras[report.pk].get("case"),
        }
        for report in reports_on_page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "reports/list.html", {
        "page": page,
        "rows": rows,
        "search": search,
        "incident_type": incident_type,
        "incident_types": [(value, str(VALUE_LABELS[value])) for value in INCIDENT_TYPES],
        "status": status,
        "statuses": [(ALL_STATUSES, _("All statuses")), *ReportStatus.choices],
        "filtered": bool(search or incident_type or status != ReportStatus.FINISHED or narrowed),
        "narrowed": narrowed,
        "query": query.urlencode(),
    })


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_get_for_user(user=request.user, report_id=pk)  # type: ignore[arg-type]
    presentation = present_report(report, identities=allowed(request.user, Action.VIEW_IDENTITY, Kind.REPORT))
    return render(request, "reports/detail.html", {
        "report": report,
        "incident_type": incident_type_label(report.incident_type),
        "annotations": annotation_labels(report.annotations),
        "sections": [s for s in presentation.sections if not s.is_empty],
        "files": presentation.files,
    })
