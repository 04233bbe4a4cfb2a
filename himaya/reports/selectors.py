"""Reads of reports, restricted to what the user may see (SPEC §1 need-to-know).

Permission lives here, in the queryset, never only in a template: a report of
another unit is indistinguishable from one that does not exist.
"""
from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from himaya.accounts.models import User
from himaya.accounts.permissions import Action, Kind, allowed, get_for, restrict
from himaya.reports.events import report_viewed_event
from himaya.reports.models import Party, Report, ReportFile, ReportStatus

def report_queryset_for_user(user: User, action: Action = Action.VIEW) -> QuerySet[Report]:
    """The reports the user may do `action` to: their unit's, if their role may (the one table)."""
    return restrict(Report.objects.all(), user, action)


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
    report = get_for(
        Report.objects
        .select_related("reporter", "unit")
        .prefetch_related(
            Prefetch("files", queryset=ReportFile.objects.order_by("position")),
            Prefetch("parties", queryset=Party.objects.order_by("role", "position").prefetch_related("identifiers", "ip_events", "device_events")),
            "incident_details",
            "ip_events",
            "device_events",
            "identifiers",
        ),
        user, Action.VIEW, id=report_id,
    )
    if audit:
        # The page and the API detail show the report's people (victims, reporting persons) to whom may see them.
        report_viewed_event(actor=user, report=report, identities=allowed(user, Action.VIEW_IDENTITY, Kind.REPORT))
    return report
