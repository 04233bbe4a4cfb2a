"""Reads of reports, restricted to what the user may see (SPEC §1 need-to-know).

Permission lives here, in the queryset, never only in a template: a report of
another unit is indistinguishable from one that does not exist.
"""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet

from himaya.accounts.models import User
from himaya.accounts.permissions import Action, Kind, allowed, get_for, restrict
from himaya.reports.events import report_viewed_event
from himaya.reports.models import Party, Report, ReportFile, ReportStatus

def report_queryset_for_user(user: User, action: Action = Action.VIEW) -> QuerySet[Report]:
    """The reports the user may do `action` to: their unit's, if their role may (the one table)."""
    return restrict(Report.objects.all(), user, action)


NONE = "-"  # a filter value meaning "has none" (no provider account, not triaged, governorate unknown)


def report_list_for_user(*, user: User, status: str | None = ReportStatus.FINISHED, search: str = "", incident_type: str = "", source: str = "",
                         received_from: datetime | None = None, received_before: datetime | None = None, tier: str = "",
                         jurisdiction: str = "", country: str = "", region: str = "", provider: str = "") -> QuerySet[Report]:
    """The list's filters include those a statistics figure links with (himaya.stats):
    received in [received_from, received_before), tier, jurisdiction, country,
    governorate (region), provider account; `NONE` asks for reports that have none."""
    qs = report_queryset_for_user(user)
    if status:
        qs = qs.filter(status=status)
    if incident_type:
        qs = qs.filter(incident_type="" if incident_type == NONE else incident_type)
    if source:
        qs = qs.filter(source=source)
    if received_from is not None:
        qs = qs.filter(finished_at__gte=received_from)
    if received_before is not None:
        qs = qs.filter(finished_at__lt=received_before)
    if tier:
        qs = qs.filter(triage__isnull=True) if tier == NONE else qs.filter(triage__effective_priority=tier)
    if jurisdiction:
        qs = qs.filter(linkage__decision=jurisdiction) if jurisdiction != "unknown" else qs.filter(
            Q(linkage__decision="unknown") | Q(linkage__isnull=True))
    if country:
        qs = qs.filter(linkage__country="" if country == NONE else country)
    if region:
        qs = qs.filter(linkage__region="" if region == NONE else region)
    if provider:
        qs = qs.filter(reporter__isnull=True) if provider == NONE else qs.filter(reporter__username=provider)
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
