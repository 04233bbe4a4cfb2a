"""Staff pages for reports: the unit's list and one report as a reader thinks of it.

Views parse the request and call selectors (which apply permission and audit);
presentation.py turns a report into sections.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.reports.models import ReportStatus
from himaya.reports.presentation import VALUE_LABELS, annotation_labels, incident_type_label, present_report
from himaya.reports.selectors import report_get_for_user, report_list_for_user

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


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:300]
    incident_type = request.GET.get("incident_type", "")
    if incident_type not in INCIDENT_TYPES:
        incident_type = ""
    status = request.GET.get("status", ReportStatus.FINISHED)
    if status != ALL_STATUSES and status not in ReportStatus.values:
        status = ReportStatus.FINISHED
    reports = report_list_for_user(
        user=request.user,  # type: ignore[arg-type]
        status=None if status == ALL_STATUSES else status,
        search=search,
        incident_type=incident_type,
    )
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "report": report,
            "incident_type": incident_type_label(report.incident_type),
            "annotations": annotation_labels(report.annotations),
        }
        for report in page.object_list
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
        "filtered": bool(search or incident_type or status != ReportStatus.FINISHED),
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
