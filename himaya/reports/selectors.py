"""Reads of reports, restricted to what the user may see (SPEC §1 need-to-know).

Permission lives here, in the queryset, never only in a template: a report of
another unit is indistinguishable from one that does not exist.
"""
from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from himaya.accounts.models import Role, User
from himaya.audit.services import audit_record
from himaya.reports.models import Party, Report, ReportFile, ReportStatus

STAFF_ROLES = tuple(Role.values)


def report_queryset_for_user(user: User) -> QuerySet[Report]:
    qs = Report.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_superuser:
        return qs
    if user.unit_id is None or not user.has_role(*STAFF_ROLES):
        return qs.none()
    return qs.filter(unit_id=user.unit_id)


def report_list_for_user(*, user: User, status: str | None = ReportStatus.FINISHED, search: str = "", incident_type: str = "", source: str = "") -> QuerySet[Report]:
    qs = report_queryset_for_user(user)
    if status:
        qs = qs.filter(status=status)
    if incident_type:
        qs = qs.filter(incident_type=incident_type)
    if source:
        qs = qs.filter(source=source)
    if search:
        term = search.strip()
        # Digits may be a report ID, but also a phone number, an IMEI or a platform user ID.
        matches = Q(identifiers__value__iexact=term)
        if term.isdigit() and len(term) < 19:
            matches |= Q(id=int(term))
        qs = qs.filter(matches).distinct()
    return qs.select_related("reporter").annotate(file_count=Count("files", distinct=True)).order_by("-id")


def report_get_for_user(*, user: User, report_id: int, audit: bool = True) -> Report:
    report = (
        report_queryset_for_user(user)
        .select_related("reporter", "unit")
        .prefetch_related(
            Prefetch("files", queryset=ReportFile.objects.order_by("position")),
            Prefetch("parties", queryset=Party.objects.order_by("role", "position").prefetch_related("identifiers", "ip_events", "device_events")),
            "incident_details",
            "ip_events",
            "device_events",
            "identifiers",
        )
        .filter(id=report_id)
        .first()
    )
    if report is None:
        raise Http404("no such report")
    if audit:
        audit_record(actor=user, action="report.viewed", target=report, unit_id=report.unit_id)
    return report
