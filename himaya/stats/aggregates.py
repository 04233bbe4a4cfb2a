"""Keeping the aggregates: what one unit's month counts, recomputed from the
source tables, and the marks that say a month must be recomputed.

What is counted, and in which month (the rules the dashboard's "method" note
states in words):

* a report in the month it was received (`finished_at`; retracted and unfinished
  reports are not counted), with its source, provider account, incident type,
  effective tier, jurisdiction decision, country (foreign) or governorate (ours),
  and day; its time to review (triage) and to first action (its case opened or
  it joined one) against the due time of its tier (the service target in force);
* a case in the month it was opened, and again (as closed) in the month it closed;
* a victim, a suspect in the month they were recorded, at the furthest stage
  they have reached (victims: identified → located → safeguarded; suspects, from
  their recorded steps: identified, arrested, charged, convicted);
* a legal request in the month it was sent, with its provider and, once
  answered, its answer time in days; a referral in the month it was requested,
  whether it was answered (accepted or declined), accepted, completed.

Everything about a case carries the filters of the case's earliest report.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time
from time import monotonic as time_monotonic
from typing import Any

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from himaya.stats.figures import Histogram, _add_months
from himaya.stats.models import FiguresVersion, MonthlyCount, StaleMonth

log = logging.getLogger(__name__)

Key = tuple[str, str, str, str, str]  # dimension, value, source, tier, jurisdiction

# The funnel's stages, in order; a thing at a stage has reached every earlier one.
VICTIM_STAGES = ("identified", "located", "safeguarded")
SUSPECT_STAGES = ("identified", "arrested", "charged", "convicted")
# A suspect step implies the stages before it in the usual order of a prosecution.
_SUSPECT_REACHED = {
    "unidentified": (),
    "identified": ("identified",),
    "arrested": ("identified", "arrested"),
    "released": ("identified", "arrested"),
    "charged": ("identified", "charged"),
    "acquitted": ("identified", "charged"),
    "convicted": ("identified", "charged", "convicted"),
}
AGE_BANDS = ("0-2", "3-5", "6-8", "9-12", "13-15", "16-17")
NO_TIER = ""


def month_of(moment: datetime | date | None) -> date | None:
    if moment is None:
        return None
    day = timezone.localdate(moment) if isinstance(moment, datetime) else moment
    return day.replace(day=1)


def _local_bounds(month: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(month, time.min), tz)
    end = timezone.make_aware(datetime.combine(_add_months(month, 1), time.min), tz)
    return start, end


def age_band(age: int | None, age_range: str) -> str:
    if age_range in AGE_BANDS:
        return age_range
    if age is None:
        return "unknown"
    for band in AGE_BANDS:
        low, high = (int(x) for x in band.split("-"))
        if low <= age <= high:
            return band
    return "unknown"


def _minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


# --- one month -----------------------------------------------------------------------------------------------

def case_filters(case_ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
    """Each case's (source, tier, jurisdiction): those of its earliest report."""
    from himaya.cases.models import CaseReport

    out: dict[int, tuple[str, str, str]] = {}
    rows = (CaseReport.objects.filter(case_id__in=list(case_ids)).order_by("case_id", "report_id")
            .values_list("case_id", "report__source", "report__triage__effective_priority", "report__linkage__decision"))
    for case_id, source, tier, decision in rows:
        if case_id not in out:
            out[case_id] = (source or "", tier or NO_TIER, decision or "unknown")
    return out


def compute_month(unit_id: int, month: date) -> Counter[Key]:
    """Every count of one unit's month, from the source tables."""
    from himaya.cases.models import Case, LegalRequest, Referral, Suspect, SuspectStep, Victim
    from himaya.reports.models import Report, ReportStatus

    start, end = _local_bounds(month)
    counts: Counter[Key] = Counter()

    reports = (Report.objects.filter(unit_id=unit_id, status=ReportStatus.FINISHED, finished_at__gte=start, finished_at__lt=end)
               .values_list("source", "reporter__username", "incident_type", "finished_at", "triage__effective_priority",
                            "triage__reviewed_at", "triage__due_at", "linkage__decision", "linkage__country", "linkage__region",
                            "case_link__added_at"))
    for source, provider, incident_type, received, tier, reviewed, due, decision, country, region, in_case in reports.iterator(chunk_size=5000):
        f = (source or "", tier or NO_TIER, decision or "unknown")
        counts[("reports", "", *f)] += 1
        counts[("provider", provider or "", *f)] += 1
        counts[("incident_type", incident_type or "", *f)] += 1
        counts[("day", timezone.localdate(received).isoformat(), *f)] += 1
        if decision == "foreign":
            counts[("country", country or "", *f)] += 1
        elif decision == "ours":
            counts[("region", region or "", *f)] += 1
        if reviewed is not None:
            counts[("review_minutes", str(Histogram.bucket(_minutes(received, reviewed))), *f)] += 1
            counts[("review_on_time", "1" if due is None or reviewed <= due else "0", *f)] += 1
        if in_case is not None:
            counts[("action_minutes", str(Histogram.bucket(_minutes(received, in_case))), *f)] += 1
            counts[("action_on_time", "1" if due is None or in_case <= due else "0", *f)] += 1

    opened = list(Case.objects.filter(unit_id=unit_id, created_at__gte=start, created_at__lt=end).values_list("id", flat=True))
    closed = list(Case.objects.filter(unit_id=unit_id, closed_at__gte=start, closed_at__lt=end).values_list("id", "outcome"))
    victims = list(Victim.objects.filter(case__unit_id=unit_id, created_at__gte=start, created_at__lt=end)
                   .values_list("case_id", "identification", "age", "age_range", "sex"))
    suspects = list(Suspect.objects.filter(case__unit_id=unit_id, created_at__gte=start, created_at__lt=end)
                    .values_list("id", "case_id", "status"))
    requests = list(LegalRequest.objects.filter(case__unit_id=unit_id, sent_on__gte=month, sent_on__lt=_add_months(month, 1))
                    .values_list("case_id", "provider", "sent_on", "answered_on"))
    referrals = list(Referral.objects.filter(victim__case__unit_id=unit_id, requested_at__gte=start, requested_at__lt=end)
                     .values_list("victim__case_id", "kind", "accepted_at", "declined_at", "completed_at"))
    filters = case_filters({*opened, *(c for c, _ in closed), *(v[0] for v in victims), *(s[1] for s in suspects),
                            *(r[0] for r in requests), *(r[0] for r in referrals)})
    none = ("", NO_TIER, "unknown")
    for case_id in opened:
        counts[("cases_opened", "", *filters.get(case_id, none))] += 1
    for case_id, outcome in closed:
        counts[("cases_closed", outcome or "", *filters.get(case_id, none))] += 1
    for case_id, identification, age, age_range, sex in victims:
        f = filters.get(case_id, none)
        counts[("victims", "", *f)] += 1
        rank = VICTIM_STAGES.index(identification) + 1 if identification in VICTIM_STAGES else 0
        for stage in VICTIM_STAGES[:rank]:
            counts[("victim_reached", stage, *f)] += 1
        counts[("victim_age_sex", f"{age_band(age, age_range)}|{sex or 'unknown'}", *f)] += 1
    steps: dict[int, set[str]] = {}
    for suspect_id, status in SuspectStep.objects.filter(suspect_id__in=[s[0] for s in suspects]).values_list("suspect_id", "status"):
        steps.setdefault(suspect_id, set()).add(status)
    for suspect_id, case_id, status in suspects:
        f = filters.get(case_id, none)
        counts[("suspects", "", *f)] += 1
        reached = {stage for s in {status, *steps.get(suspect_id, set())} for stage in _SUSPECT_REACHED.get(s, ())}
        for stage in reached:
            counts[("suspect_reached", stage, *f)] += 1
    for case_id, provider, sent, answered in requests:
        f = filters.get(case_id, none)
        counts[("lr_sent", provider, *f)] += 1
        if answered is not None:
            counts[("lr_answered", provider, *f)] += 1
            counts[("lr_days", f"{max(0, (answered - sent).days)}|{provider}", *f)] += 1
    for case_id, kind, accepted, declined, completed in referrals:
        f = filters.get(case_id, none)
        counts[("ref_sent", kind, *f)] += 1
        if accepted is not None or declined is not None:
            counts[("ref_answered", kind, *f)] += 1
        if accepted is not None:
            counts[("ref_accepted", kind, *f)] += 1
        if completed is not None:
            counts[("ref_completed", kind, *f)] += 1
    return counts


def bump_version(unit_ids: Iterable[int]) -> None:
    """Say that these units' aggregates changed (inside the caller's transaction):
    every cached dashboard drawn from the old rows stops matching."""
    ids = sorted(set(unit_ids))
    if not ids:
        return
    FiguresVersion.objects.bulk_create([FiguresVersion(unit_id=u) for u in ids], ignore_conflicts=True)
    FiguresVersion.objects.filter(unit_id__in=ids).update(version=F("version") + 1)


def figures_version(unit_ids: Iterable[int]) -> tuple[int, ...]:
    """The units' aggregate versions, in the order given (0 before any rewrite)."""
    ids = list(unit_ids)
    found = dict(FiguresVersion.objects.filter(unit_id__in=ids).values_list("unit_id", "version"))
    return tuple(found.get(u, 0) for u in ids)


def _store(unit_id: int, month: date, counts: Counter[Key]) -> None:
    bump_version([unit_id])
    MonthlyCount.objects.filter(unit_id=unit_id, month=month).delete()
    MonthlyCount.objects.bulk_create(
        [MonthlyCount(unit_id=unit_id, month=month, dimension=d[:40], value=v[:300], source=s, tier=t, jurisdiction=j, count=n)
         for (d, v, s, t, j), n in counts.items() if n],
        batch_size=2000,
    )


def month_refresh(*, unit_id: int, month: date) -> None:
    """Recompute one unit's month and clear its stale mark, in one transaction. A
    change committed while this runs marks the month again (it waits on the
    mark's row), so nothing is missed."""
    with transaction.atomic():
        StaleMonth.objects.filter(unit_id=unit_id, month=month).delete()
        forget_marks()  # this process marks again what changes from now on (before and after the commit)
        transaction.on_commit(forget_marks)
        _store(unit_id, month, compute_month(unit_id, month))


def refresh_stale(*, unit_ids: Iterable[int] | None = None, start: date | None = None, end: date | None = None) -> int:
    """Recompute the stale months (of these units, within [start, end)); returns how many."""
    qs = StaleMonth.objects.all()
    if unit_ids is not None:
        qs = qs.filter(unit_id__in=list(unit_ids))
    if start is not None:
        qs = qs.filter(month__gte=start)
    if end is not None:
        qs = qs.filter(month__lt=end)
    done = 0
    for unit_id, month in list(qs.order_by("unit_id", "month").values_list("unit_id", "month")):
        month_refresh(unit_id=unit_id, month=month)
        done += 1
    return done


def _months_with_data() -> set[tuple[int, date]]:
    from himaya.cases.models import Case, LegalRequest, Referral, Suspect, Victim
    from himaya.reports.models import Report, ReportStatus

    found: set[tuple[int, date]] = set()

    def add(qs: Any, unit_field: str, field: str) -> None:
        for unit_id, moment in qs.exclude(**{f"{field}__isnull": True}).values_list(unit_field, field).order_by().distinct().iterator():
            found.add((unit_id, month_of(moment)))  # type: ignore[arg-type]

    # Distinct timestamps can be many: the reports are taken month by month instead.
    for unit_id in Report.objects.values_list("unit_id", flat=True).order_by().distinct():  # no Meta ordering: one row per unit
        bounds = Report.objects.filter(unit_id=unit_id, status=ReportStatus.FINISHED).aggregate(first=Min("finished_at"))
        if bounds["first"] is None:
            continue
        month = month_of(bounds["first"])
        last = month_of(timezone.now())
        while month is not None and last is not None and month <= last:
            start, end = _local_bounds(month)
            if Report.objects.filter(unit_id=unit_id, status=ReportStatus.FINISHED, finished_at__gte=start, finished_at__lt=end).exists():
                found.add((unit_id, month))
            month = _add_months(month, 1)
    add(Case.objects, "unit_id", "created_at")
    add(Case.objects, "unit_id", "closed_at")
    add(Victim.objects, "case__unit_id", "created_at")
    add(Suspect.objects, "case__unit_id", "created_at")
    add(LegalRequest.objects, "case__unit_id", "sent_on")
    add(Referral.objects, "victim__case__unit_id", "requested_at")
    return found


def rebuild(*, progress: Any = None) -> int:
    """Every aggregate from scratch; returns the number of months computed."""
    months = sorted(_months_with_data())
    with transaction.atomic():
        bump_version(MonthlyCount.objects.values_list("unit_id", flat=True).order_by().distinct())
        MonthlyCount.objects.all().delete()
        StaleMonth.objects.all().delete()
        forget_marks()
        transaction.on_commit(forget_marks)
    for unit_id, month in months:
        with transaction.atomic():
            _store(unit_id, month, compute_month(unit_id, month))
        if progress:
            progress(unit_id, month)
    return len(months)


# --- stale marks ---------------------------------------------------------------------------------------------

# (database alias, unit, month) → time.monotonic() when this process last committed a
# mark of it: intake finishes hundreds of reports a second in the same month, and
# each would otherwise write the same mark again. See `mark_stale`.
_marked: dict[tuple[str, int, date], float] = {}
_marked_lock = threading.Lock()


def _memo_seconds() -> float:
    """HIMAYA_STATS_MARK_MEMO_SECONDS from the settings, else the environment,
    else 0: off (a test suite's rolled-back rows reuse ids)."""
    import os

    from django.conf import settings

    configured = getattr(settings, "HIMAYA_STATS_MARK_MEMO_SECONDS", None)
    return float(configured if configured is not None else os.environ.get("HIMAYA_STATS_MARK_MEMO_SECONDS") or 0)


def forget_marks() -> None:
    """Forget every mark this process remembers (a month recomputed here, a rebuild):
    the next change marks again."""
    with _marked_lock:
        _marked.clear()


def mark_stale(unit_id: int | None, moments: Iterable[datetime | date | None]) -> None:
    """Mark the months of these moments stale for the unit (inside the caller's
    transaction: the mark commits with the change, or neither does).

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING: the months newly
    marked), and none for a month this process committed a mark of less than
    HIMAYA_STATS_MARK_MEMO_SECONDS ago. The memory is OFF by default (0), and `himaya
    serve` does not turn it on: it is per process, so a month recomputed elsewhere within
    that window (a reader, the refresh task) is not marked again by this process until
    the window ends — a report finished in it would be counted only at the month's next
    mark, which may never come for the last report of a burst. Kept for a site that
    prefers one write per month per second to exact figures. A mark is remembered only
    once it has committed."""
    from django.db import connection

    if unit_id is None:
        return
    months = {m for m in (month_of(x) for x in moments) if m is not None}
    if not months:
        return
    memo = _memo_seconds()
    now = time_monotonic()
    if memo > 0:
        with _marked_lock:
            months = {m for m in months if now - _marked.get((connection.alias, unit_id, m), -memo) >= memo}
        if not months:
            return
    field = StaleMonth._meta.get_field
    marked_at = field("marked_at").get_db_prep_value(timezone.now(), connection)
    ordered = sorted(months)
    with connection.cursor() as cursor:
        # Only a month that was not stale yet asks for a refresh: a burst asks once.
        cursor.execute(
            f"INSERT INTO {StaleMonth._meta.db_table} (unit_id, month, marked_at) VALUES "
            + ", ".join(["(%s, %s, %s)"] * len(ordered)) + " ON CONFLICT (unit_id, month) DO NOTHING RETURNING month",
            [v for m in ordered for v in (unit_id, field("month").get_db_prep_value(m, connection), marked_at)],
        )
        new = {m if isinstance(m, date) else date.fromisoformat(str(m)) for (m,) in cursor.fetchall()}
    if memo > 0:
        alias = connection.alias

        def remember() -> None:
            with _marked_lock:
                for m in months:
                    _marked[(alias, unit_id, m)] = now

        transaction.on_commit(remember)
    if new:
        transaction.on_commit(lambda: _refresh_soon(unit_id, new))


def _refresh_soon(unit_id: int, months: set[date]) -> None:
    from himaya.stats.tasks import enqueue_refresh

    try:
        enqueue_refresh(unit_id=unit_id, months=sorted(months))
    except Exception:  # the mark stays: the next reader recomputes the month
        log.warning("stats: could not enqueue a refresh of unit %s", unit_id, exc_info=True)


def case_moments(case_id: int) -> tuple[int | None, list[Any]]:
    """A case's unit and every moment its figures are counted at (its opening and
    closing, its victims', suspects', requests' and referrals')."""
    from himaya.cases.models import Case, LegalRequest, Referral, Suspect, Victim

    row = Case.objects.filter(id=case_id).values_list("unit_id", "created_at", "closed_at").first()
    if row is None:
        return None, []
    unit_id, created, closed = row
    moments: list[Any] = [created, closed]
    moments += list(Victim.objects.filter(case_id=case_id).values_list("created_at", flat=True))
    moments += list(Suspect.objects.filter(case_id=case_id).values_list("created_at", flat=True))
    moments += list(LegalRequest.objects.filter(case_id=case_id).values_list("sent_on", flat=True))
    moments += list(Referral.objects.filter(victim__case_id=case_id).values_list("requested_at", flat=True))
    return unit_id, moments


def mark_case(case_id: int | None) -> None:
    if case_id is None:
        return
    unit_id, moments = case_moments(case_id)
    mark_stale(unit_id, moments)


def mark_reports(report_ids: Iterable[int]) -> None:
    """`mark_report` of many reports (a batch triaged at once): their units and months
    read in one statement, each unit's months marked in one, their cases read in one."""
    from himaya.cases.models import CaseReport
    from himaya.reports.models import Report

    ids = sorted({int(i) for i in report_ids})
    if not ids:
        return
    months: dict[int, list[Any]] = {}
    for unit_id, finished_at in Report.objects.filter(id__in=ids).values_list("unit_id", "finished_at"):
        months.setdefault(unit_id, []).append(finished_at)
    for unit_id, moments in months.items():
        mark_stale(unit_id, moments)
    for case_id in sorted(set(CaseReport.objects.filter(report_id__in=ids).values_list("case_id", flat=True))):
        mark_case(case_id)


def mark_report(report_id: int, *, with_case: bool = True) -> None:
    from himaya.cases.models import CaseReport
    from himaya.reports.models import Report

    row = Report.objects.filter(id=report_id).values_list("unit_id", "finished_at").first()
    if row is None:
        return
    mark_stale(row[0], [row[1]])
    if with_case:
        # The case's filters are its earliest report's: a new tier or decision moves them.
        mark_case(CaseReport.objects.filter(report_id=report_id).values_list("case_id", flat=True).first())

