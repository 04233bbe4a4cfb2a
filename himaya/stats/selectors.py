"""Reads of the statistics: `figures_for` turns the maintained aggregates of what
the user may see into the tables of `himaya.stats.figures`.

Permission starts here, from the one table: `restrict(MonthlyCount, user, view)`
keeps the user's unit's rows only (nothing of another unit, not even a count),
and none for a role that may not see statistics. The operator (a command) sees
the installation: every unit, or one unit when asked.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Action, Operator, restrict
from himaya.stats import aggregates
from himaya.stats.aggregates import AGE_BANDS, SUSPECT_STAGES, VICTIM_STAGES
from himaya.stats.figures import (
    Cell, Column, ColumnRole, Figures, Filters, Histogram, Measure, Period, Row, Table, count_table,
)
from himaya.stats.models import MonthlyCount

TIERS = ("P1", "P2", "P3", "P4")
NONE = "-"  # in a list's query: "has none" (no provider account, governorate unknown, not triaged)


class Cube:
    """The period's aggregate rows: (dimension, value, source, tier, jurisdiction) → count."""

    def __init__(self, rows: Iterable[tuple[str, str, str, str, str, int]]) -> None:
        self.by_dim: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.by_filter: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for dimension, value, source, tier, jurisdiction, n in rows:
            self.by_dim[dimension][value] += n
            self.by_filter[(dimension, "source")][source] += n
            self.by_filter[(dimension, "tier")][tier] += n
            self.by_filter[(dimension, "jurisdiction")][jurisdiction] += n

    def values(self, dimension: str) -> dict[str, int]:
        return self.by_dim.get(dimension, {})

    def total(self, dimension: str) -> int:
        return sum(self.values(dimension).values())

    def one(self, dimension: str, value: str = "") -> int:
        return self.values(dimension).get(value, 0)


def stats_queryset(user: Any, action: Action = Action.VIEW, unit_id: int | None = None) -> Any:
    qs = restrict(MonthlyCount.objects.all(), user, action)
    if isinstance(user, Operator) and unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    return qs


def _unit_ids(user: Any, unit_id: int | None) -> list[int] | None:
    if isinstance(user, Operator):
        return None if unit_id is None else [unit_id]
    return [user.unit_id] if getattr(user, "unit_id", None) else []


# --- links -------------------------------------------------------------------------------------------------------

class Links:
    """The list behind each number, with the period and the filters applied."""

    def __init__(self, period: Period, filters: Filters, enabled: bool = True) -> None:
        self.period, self.filters, self.enabled = period, filters, enabled

    def reports(self, *, start: date | None = None, end: date | None = None, **params: str) -> str | None:
        if not self.enabled:
            return None
        query = {"received_from": (start or self.period.start).isoformat(), "received_before": (end or self.period.end).isoformat()}
        query |= self.filters.items()
        query |= {k: v for k, v in params.items()}
        return f"{reverse('reports:list')}?{urlencode(query)}"

    def cases(self, *, which: str = "opened", start: date | None = None, end: date | None = None) -> str | None:
        if not self.enabled or self.filters:
            return None  # the cases list has no report filters: a number it would not show is not linked
        query = {"status": "all", f"{which}_from": (start or self.period.start).isoformat(),
                 f"{which}_before": (end or self.period.end).isoformat()}
        return f"{reverse('cases:index')}?{urlencode(query)}"


# --- labels ------------------------------------------------------------------------------------------------------

def _choices(model_choices: Any) -> dict[str, Any]:
    return {value: label for value, label in model_choices.choices}


def _labels() -> dict[str, Callable[[str], Any]]:
    from himaya.cases.models import AgeRange, CaseOutcome, ReferralKind, Sex
    from himaya.linking.models import Decision
    from himaya.reports.models import ReportSource
    from himaya.reports.presentation import incident_type_label
    from himaya.triage.models import Priority

    sources, tiers, decisions = _choices(ReportSource), _choices(Priority), _choices(Decision)
    outcomes, kinds, ages, sexes = _choices(CaseOutcome), _choices(ReferralKind), _choices(AgeRange), _choices(Sex)
    return {
        "source": lambda v: sources.get(v, v),
        "tier": lambda v: tiers.get(v, v) if v else _("Not yet triaged"),
        "jurisdiction": lambda v: decisions.get(v, v),
        "incident_type": lambda v: incident_type_label(v) if v else _("No incident type"),
        "provider": lambda v: v or _("No provider account (portal, import, partner)"),
        "country": lambda v: v or _("Country unknown"),
        "region": lambda v: v or _("Governorate unknown"),
        "outcome": lambda v: outcomes.get(v, v),
        "referral": lambda v: kinds.get(v, v),
        "age": lambda v: ages.get(v, v) if v != "unknown" else _("Age unknown"),
        "sex": lambda v: sexes.get(v, v),
    }


def _step_label(step: Period | date) -> str:
    return step.label if isinstance(step, Period) else step.isoformat()


# --- tables ------------------------------------------------------------------------------------------------------

def _by(cube: Cube, *, key: str, title: Any, dimension: str, label: Callable[[str], Any], link: Callable[[str], str | None],
        order: Iterable[str] | None = None, note: Any = "") -> Table:
    values = cube.values(dimension)
    keys = list(order) if order is not None else sorted(values, key=lambda v: (-values[v], v))
    if order is not None:
        keys += sorted(v for v in values if v not in keys)
    rows = [(v or NONE, label(v), values.get(v, 0), link(v)) for v in keys]
    return count_table(key=key, title=title, rows=rows, column_title=_("Reports"), total_label=_("Total"), note=note,
                       total_link=link("\0"))


def _by_filter(cube: Cube, *, key: str, title: Any, dimension: str, label: Callable[[str], Any], link: Callable[[str], str | None],
               order: Iterable[str]) -> Table:
    values = cube.by_filter.get((dimension, key.removeprefix("reports_by_")), {})
    keys = list(order) + sorted(v for v in values if v not in order)
    rows = [(v or NONE, label(v), values.get(v, 0), link(v)) for v in keys]
    return count_table(key=key, title=title, rows=rows, column_title=_("Reports"), total_label=_("Total"), total_link=link("\0"))


def _report_tables(cube: Cube, links: Links, labels: dict[str, Callable[[str], Any]], period: Period) -> list[Table]:
    def with_(name: str) -> Callable[[str], str | None]:
        def make(value: str) -> str | None:
            if value == "\0":
                return links.reports()
            return links.reports(**{name: value or NONE})
        return make

    days = cube.values("day")
    steps = period.steps()
    over_time = []
    for step in steps:
        if isinstance(step, Period):
            n = sum(c for d, c in days.items() if d.startswith(step.label))
            over_time.append((step.label, step.label, n, links.reports(start=step.start, end=step.end)))
        else:
            n = days.get(step.isoformat(), 0)
            over_time.append((step.isoformat(), step.isoformat(), n, links.reports(start=step, end=date.fromordinal(step.toordinal() + 1))))
    from himaya.reports.models import ReportSource

    return [
        count_table(key="reports_over_time", title=_("Reports received over the period"), rows=over_time, column_title=_("Reports"),
                    total_label=_("Total"), total_link=links.reports(),
                    note=_("Reports received by the unit, counted on the day they were received. Volume is not prevalence: "
                           "one incident may be reported many times, and most abuse is never reported.")),
        _by_filter(cube, key="reports_by_source", title=_("Reports by source"), dimension="reports", label=labels["source"],
                   link=with_("source"), order=ReportSource.values),
        _by(cube, key="reports_by_provider", title=_("Reports by provider"), dimension="provider", label=labels["provider"],
            link=with_("provider")),
        _by(cube, key="reports_by_incident_type", title=_("Reports by incident type"), dimension="incident_type",
            label=labels["incident_type"], link=with_("incident_type")),
        _by_filter(cube, key="reports_by_tier", title=_("Reports by priority"), dimension="reports", label=labels["tier"],
                   link=with_("tier"), order=TIERS),
        _by_filter(cube, key="reports_by_jurisdiction", title=_("Reports by jurisdiction"), dimension="reports",
                   label=labels["jurisdiction"], link=with_("jurisdiction"), order=("ours", "foreign", "unknown")),
        _by(cube, key="reports_by_region", title=_("Reports of our jurisdiction by governorate"), dimension="region",
            label=labels["region"], link=lambda v: links.reports(jurisdiction="ours") if v == "\0" else links.reports(
                jurisdiction="ours", region=v or NONE)),
        _by(cube, key="reports_by_country", title=_("Reports for another country, by country"), dimension="country",
            label=labels["country"], link=lambda v: links.reports(jurisdiction="foreign") if v == "\0" else links.reports(
                jurisdiction="foreign", country=v or NONE),
            note=_("These reports are referred to the country's unit.")),
    ]


def _funnel(cube: Cube, links: Links) -> Table:
    stages = [
        ("reports", _("Reports received"), cube.total("reports"), links.reports()),
        ("cases", _("Cases opened"), cube.total("cases_opened"), links.cases()),
    ]
    stages += [(f"victims_{s}", label, cube.one("victim_reached", s), None) for s, label in zip(
        VICTIM_STAGES, (_("Victims identified"), _("Victims located"), _("Victims safeguarded")))]
    stages += [(f"suspects_{s}", label, cube.one("suspect_reached", s), None) for s, label in zip(
        SUSPECT_STAGES, (_("Suspects identified"), _("Suspects arrested"), _("Suspects charged"), _("Suspects convicted")))]
    rows = tuple(Row(k, label, (Cell(n, link if n else None),)) for k, label, n, link in stages)
    column = Column("count", _("Number"), role=ColumnRole.OTHER)
    chains = (
        tuple((f"victims_{s}", "count") for s in VICTIM_STAGES),
        (("suspects_identified", "count"), ("suspects_arrested", "count")),
        (("suspects_identified", "count"), ("suspects_charged", "count"), ("suspects_convicted", "count")),
    )
    return Table(key="funnel", title=_("Outcome funnel"), columns=(column,), rows=rows, chains=chains,
                 note=_("Reports received and cases opened in the period; victims and suspects recorded in the period, "
                        "at the furthest stage they have reached so far."))


def _timing(cube: Cube, *, key: str, title: Any, prefix: str, targets: dict[str, Any], note: Any) -> Table:
    columns = (
        Column("target", _("Service target (minutes)"), Measure.MINUTES, ColumnRole.OTHER),
        Column("on_time", _("Within target"), Measure.COUNT, ColumnRole.PART),
        Column("late", _("Late"), Measure.COUNT, ColumnRole.PART),
        Column("measured", _("Reports measured"), Measure.COUNT, ColumnRole.TOTAL),
        Column("median", _("Median (minutes, at most)"), Measure.MINUTES, ColumnRole.OTHER, basis="measured"),
        Column("p90", _("90th percentile (minutes, at most)"), Measure.MINUTES, ColumnRole.OTHER, basis="measured"),
    )
    rows = []
    for tier in TIERS:
        hist = Histogram()
        on_time = late = 0
        # The cube's rows by tier: these dimensions are read back per filter value.
        for value, n in cube.values(f"{prefix}_minutes|{tier}").items():
            hist.add(int(value), n)
        on_time = cube.one(f"{prefix}_on_time|{tier}", "1")
        late = cube.one(f"{prefix}_on_time|{tier}", "0")
        target = targets.get(tier)
        rows.append(Row(tier, tier, (Cell(int(target) if target is not None else None), Cell(on_time), Cell(late),
                                     Cell(on_time + late), Cell(hist.quantile(0.5)), Cell(hist.quantile(0.9)))))
    return Table(key=key, title=title, columns=columns, rows=tuple(rows), note=note)


def _legal_requests(cube: Cube) -> Table:
    sent, answered = cube.values("lr_sent"), cube.values("lr_answered")
    days: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for value, n in cube.values("lr_days").items():
        d, provider = value.split("|", 1)
        days[provider].append((int(d), n))
    columns = (
        Column("answered", _("Answered"), role=ColumnRole.PART),
        Column("pending", _("Not answered yet"), role=ColumnRole.PART),
        Column("sent", _("Requests sent"), role=ColumnRole.TOTAL),
        Column("median_days", _("Median answer time (days)"), Measure.DAYS, ColumnRole.OTHER, basis="answered"),
    )
    rows, all_days = [], []
    for provider in sorted(sent, key=lambda p: (-sent[p], p)):
        a = answered.get(provider, 0)
        rows.append(Row(provider, provider, (Cell(a), Cell(sent[provider] - a), Cell(sent[provider]), Cell(_median(days[provider])))))
        all_days += days[provider]
    total_sent, total_answered = sum(sent.values()), sum(answered.values())
    rows.append(Row("total", _("Total"), (Cell(total_answered), Cell(total_sent - total_answered), Cell(total_sent),
                                          Cell(_median(all_days))), is_total=True))
    return Table(key="legal_requests", title=_("Providers' answers to legal requests"), columns=columns, rows=tuple(rows),
                 note=_("Requests sent in the period, by provider; answer time from the day sent to the day answered."))


def _median(pairs: list[tuple[int, int]]) -> float | None:
    total = sum(n for _, n in pairs)
    if not total:
        return None
    ordered, seen = sorted(pairs), 0
    lower = upper = None
    for value, n in ordered:
        seen += n
        if lower is None and seen >= (total + 1) // 2:
            lower = value
        if seen >= total // 2 + 1:
            upper = value
            break
    assert lower is not None and upper is not None
    return (lower + upper) / 2


def _referrals(cube: Cube, labels: dict[str, Callable[[str], Any]]) -> Table:
    from himaya.cases.models import ReferralKind

    sent, answered = cube.values("ref_sent"), cube.values("ref_answered")
    accepted, completed = cube.values("ref_accepted"), cube.values("ref_completed")
    columns = (
        Column("answered", _("Answered (accepted or declined)"), role=ColumnRole.PART),
        Column("unanswered", _("Awaiting an answer"), role=ColumnRole.PART),
        Column("sent", _("Referrals sent"), role=ColumnRole.TOTAL),
        Column("accepted", _("Accepted"), role=ColumnRole.OTHER),
        Column("completed", _("Completed"), role=ColumnRole.OTHER),
    )
    rows = []
    for kind in ReferralKind.values:
        s, a = sent.get(kind, 0), answered.get(kind, 0)
        rows.append(Row(kind, labels["referral"](kind), tuple(Cell(v) for v in (a, s - a, s, accepted.get(kind, 0), completed.get(kind, 0)))))
    ts, ta = sum(sent.values()), sum(answered.values())
    rows.append(Row("total", _("Total"), tuple(Cell(v) for v in (ta, ts - ta, ts, sum(accepted.values()), sum(completed.values()))),
                    is_total=True))
    chains = tuple(((r.key, "answered"), (r.key, "accepted"), (r.key, "completed")) for r in rows)
    return Table(key="referrals", title=_("Victims' referrals to services"), columns=columns, rows=tuple(rows), chains=chains,
                 note=_("Referrals requested in the period (shelter, education, health, psychological care), and what the services answered."))


def _cases_tables(months: dict[tuple[str, date], int], cube: Cube, links: Links, labels: dict[str, Callable[[str], Any]],
                  period: Period) -> list[Table]:
    from himaya.cases.models import CaseOutcome

    steps = [p for p in period.steps() if isinstance(p, Period)] or [period]
    columns = (Column("opened", _("Cases opened"), role=ColumnRole.OTHER), Column("closed", _("Cases closed"), role=ColumnRole.OTHER))
    rows = []
    for step in steps:
        opened, closed = months.get(("cases_opened", step.start), 0), months.get(("cases_closed", step.start), 0)
        rows.append(Row(step.label, step.label, (
            Cell(opened, links.cases(start=step.start, end=step.end) if opened else None),
            Cell(closed, links.cases(which="closed", start=step.start, end=step.end) if closed else None))))
    opened, closed = cube.total("cases_opened"), cube.total("cases_closed")
    rows.append(Row("total", _("Total"), (Cell(opened, links.cases() if opened else None),
                                          Cell(closed, links.cases(which="closed") if closed else None)), is_total=True))
    over_time = Table(key="cases_over_time", title=_("Cases opened and closed"), columns=columns, rows=tuple(rows),
                      note=_("A case is counted in the month it was opened, and in the month it was closed."))
    values = cube.values("cases_closed")
    keys = list(CaseOutcome.values) + sorted(v for v in values if v not in CaseOutcome.values)
    outcomes = count_table(key="cases_closed_by_outcome", title=_("Cases closed, by outcome"), column_title=_("Cases"),
                           total_label=_("Total"), rows=[(v, labels["outcome"](v), values.get(v, 0), None) for v in keys],
                           total_link=links.cases(which="closed"))
    return [over_time, outcomes]


def _victims(cube: Cube, labels: dict[str, Callable[[str], Any]]) -> Table:
    from himaya.cases.models import Sex

    values = cube.values("victim_age_sex")
    sexes = list(Sex.values)
    columns = (*(Column(s, labels["sex"](s)) for s in sexes), Column("total", _("Total"), role=ColumnRole.TOTAL))
    rows = []
    for band in (*AGE_BANDS, "unknown"):
        counts = [values.get(f"{band}|{s}", 0) for s in sexes]
        rows.append(Row(band, labels["age"](band), tuple(Cell(n) for n in (*counts, sum(counts)))))
    sums = [sum(r.cells[i].count for r in rows) for i in range(len(sexes))]
    rows.append(Row("total", _("Total"), tuple(Cell(n) for n in (*sums, sum(sums))), is_total=True))
    return Table(key="victims_by_age_sex", title=_("Victims by age and sex"), columns=columns, rows=tuple(rows),
                 note=_("Victims recorded in the period."))


def _tiered(cube_rows: Iterable[tuple[str, str, str, str, str, int]]) -> list[tuple[str, str, str, str, str, int]]:
    """The timing dimensions are read per tier: `review_minutes` of a P1 report
    becomes `review_minutes|P1`."""
    out = []
    for dimension, value, source, tier, jurisdiction, n in cube_rows:
        out.append((dimension, value, source, tier, jurisdiction, n))
        if dimension.startswith(("review_", "action_")):
            out.append((f"{dimension}|{tier}", value, source, tier, jurisdiction, n))
    return out


def _targets() -> dict[str, Any]:
    from himaya.triage.services import ruleset_active

    try:
        return dict(ruleset_active()[1].get("service_targets") or {})
    except Exception:  # no rule set yet (an empty installation)
        from himaya.triage.defaults import DEFAULT_SERVICE_TARGETS

        return dict(DEFAULT_SERVICE_TARGETS)


def figures_for(*, user: Any, period: Period, filters: Filters | None = None, action: Action = Action.VIEW,
                unit_id: int | None = None, links: bool = True) -> Figures:
    """Every figure of the period for what the user may see: their unit's (the
    operator: every unit, or `unit_id`'s). A role that may not see statistics
    reads no rows, so every figure is zero — the views and commands refuse such a
    user first (`allowed(user, action, Kind.STATISTICS)`). Stale months are
    recomputed before reading, so every figure is exact."""
    filters = filters or Filters()
    qs = stats_queryset(user, action, unit_id)
    if not qs.query.is_empty():
        aggregates.refresh_stale(unit_ids=_unit_ids(user, unit_id), start=period.start, end=period.end)
    qs = qs.filter(month__gte=period.start, month__lt=period.end)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.tier:
        qs = qs.filter(tier="" if filters.tier == NONE else filters.tier)
    if filters.jurisdiction:
        qs = qs.filter(jurisdiction=filters.jurisdiction)
    cube_rows = list(qs.values_list("dimension", "value", "source", "tier", "jurisdiction").annotate(n=Sum("count")).order_by())
    months = {(d, m): n for m, d, n in qs.filter(dimension__in=["cases_opened", "cases_closed"])
              .values_list("month", "dimension").annotate(n=Sum("count")).order_by()}
    cube = Cube(_tiered(cube_rows))
    link = Links(period, filters, enabled=links)
    labels = _labels()
    targets = _targets()
    tables = _report_tables(cube, link, labels, period)
    tables += _cases_tables(months, cube, link, labels, period)
    tables += [_legal_requests(cube), _referrals(cube, labels), _victims(cube, labels)]
    timings = (
        _timing(cube, key="time_to_triage", title=_("Time to triage (review) by priority"), prefix="review", targets=targets,
                note=_("From receipt to a person's review in the queue, for reports received in the period; "
                       "within target means by the due time of the report's tier.")),
        _timing(cube, key="time_to_first_action", title=_("Time to first action by priority"), prefix="action", targets=targets,
                note=_("From receipt to the report's case being opened (or the report joining a case).")),
    )
    return Figures(period=period, unit=_unit_name(user, unit_id), filters=filters, tables=tuple(tables),
                   funnel=_funnel(cube, link), timings=timings)


def _unit_name(user: Any, unit_id: int | None) -> str:
    from himaya.accounts.models import Unit

    if isinstance(user, Operator):
        if unit_id is None:
            return str(_("All units"))
        return Unit.objects.filter(id=unit_id).values_list("name", flat=True).first() or ""
    return user.unit.name if getattr(user, "unit_id", None) else ""




def figures_cache_key(*, user: Any, period: Period, filters: Filters | None, purpose: str) -> str:
    """A key naming exactly what `figures_for(user, period, filters)` would read,
    for caching what is drawn from it. Stale months are recomputed first, then the
    key takes: the units the user may read (and whether the permission table lets
    them read any row), the roles, each unit's aggregate version (it grows with
    every rewrite of the unit's rows), the rule set (its service targets are in the
    timing tables), the unit's name, the language, the period and the filters. So
    a cached answer is never one drawn from older rows, nor another unit's."""
    from hashlib import sha256

    from django.utils import translation

    from himaya.accounts.permissions import roles_of

    filters = filters or Filters()
    qs = stats_queryset(user, Action.VIEW)
    visible = not qs.query.is_empty()
    units = _unit_ids(user, None) or []
    if visible:
        aggregates.refresh_stale(unit_ids=units, start=period.start, end=period.end)
    versions = aggregates.figures_version(units) if visible else ()
    ruleset = _ruleset_version()
    parts = [purpose, ",".join(map(str, units)), "visible" if visible else "none", ",".join(sorted(roles_of(user))),
             ",".join(map(str, versions)), str(ruleset), _unit_name(user, None), translation.get_language() or "",
             period.label, repr(sorted(filters.items().items()))]
    return "stats:" + sha256("\x1f".join(parts).encode()).hexdigest()


def _ruleset_version() -> int:
    from himaya.triage.services import ruleset_active

    try:
        return ruleset_active()[0]
    except Exception:  # no rule set yet (an empty installation): the defaults
        return 0
