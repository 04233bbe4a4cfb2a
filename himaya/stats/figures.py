"""The statistics' shapes: a period, its tables of figures, and the suppression
of small counts for readers outside the unit (SPEC §3.7, §4.2).

Pure: no Django, no database. The selectors (`himaya.stats.selectors`) fill
these from the maintained aggregates; the dashboard, the exports and the national
report only read them, so every place shows the same number for the same cell.

A `Table` is a grid: `columns` × `rows`, each row holding one `Cell` per column.
A cell is a count (or, for the time tables, minutes) with the link to the list it
counts (`link`: a path with its query, built by the selectors; None when no list
shows those rows). Titles and labels are whatever str-like the caller passes
(lazy gettext strings in the application).

Which cells add up is declared, not guessed: a column with `role=TOTAL` is the
sum of the row's `PART` columns, a row with `is_total=True` is the sum of the
table's other rows, column by column, and `chains` lists cells that are nested
groups (victims identified ⊇ located ⊇ safeguarded). `suppress` uses exactly
these relations.
"""
from __future__ import annotations

import calendar
import enum
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

SMALL_MIN = 1
SMALL_MAX = 4  # counts 1..4 are suppressed in exports for outside the unit (SPEC §3.7)
SUPPRESSED_MARK = "<5"


# --- period -----------------------------------------------------------------------------------------------

class PeriodKind(enum.StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<quarter>[Qq][1-4])|(?P<month>\d{2})))?$")


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month. `start` is its first day, `end` the day
    after its last (half-open, so `start <= day < end`); `last` is its last day."""

    label: str       # canonical: "2026", "2026-Q3", "2026-07"
    kind: PeriodKind
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """"2026", "2026-Q3" (or q3), "2026-07" → the period; anything else → ValueError
        whose message says what is accepted."""
        raw = (text or "").strip()
        match = _PERIOD.match(raw)
        if not match:
            raise ValueError(f"bad period {text!r}: use a year (2026), a quarter (2026-Q3) or a month (2026-07)")
        year = int(match["year"])
        if not 1900 <= year <= 9998:
            raise ValueError(f"bad period {text!r}: year {year} is out of range")
        if match["quarter"]:
            q = int(match["quarter"][1])
            start = date(year, 3 * (q - 1) + 1, 1)
            end = _add_months(start, 3)
            return cls(f"{year}-Q{q}", PeriodKind.QUARTER, start, end)
        if match["month"]:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise ValueError(f"bad period {text!r}: month {month:02d} does not exist (01..12)")
            start = date(year, month, 1)
            return cls(f"{year}-{month:02d}", PeriodKind.MONTH, start, _add_months(start, 1))
        return cls(str(year), PeriodKind.YEAR, date(year, 1, 1), date(year + 1, 1, 1))

    @classmethod
    def containing(cls, day: date, kind: PeriodKind = PeriodKind.MONTH) -> Period:
        if kind is PeriodKind.YEAR:
            return cls.parse(f"{day.year}")
        if kind is PeriodKind.QUARTER:
            return cls.parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
        return cls.parse(f"{day.year}-{day.month:02d}")

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    def __str__(self) -> str:
        return self.label

    def steps(self) -> list[Period | date]:
        """The points of its time series: months of a year or a quarter, days of a month."""
        if self.kind is PeriodKind.MONTH:
            return [self.start + timedelta(days=i) for i in range(self.days)]
        out: list[Period | date] = []
        day = self.start
        while day < self.end:
            out.append(Period.containing(day, PeriodKind.MONTH))
            day = _add_months(day, 1)
        return out


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


# --- filters ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What the figures are narrowed to besides the period (empty = everything).
    Values are the stored codes: source "provider"/"import"/"portal"/"partner",
    tier "P1".."P4", jurisdiction "ours"/"foreign"/"unknown"."""

    source: str = ""
    tier: str = ""
    jurisdiction: str = ""

    def items(self) -> dict[str, str]:
        return {k: v for k, v in (("source", self.source), ("tier", self.tier), ("jurisdiction", self.jurisdiction)) if v}

    def __bool__(self) -> bool:
        return bool(self.items())


# --- tables -----------------------------------------------------------------------------------------------

class Measure(enum.StrEnum):
    COUNT = "count"      # a number of things: suppressed when small
    MINUTES = "minutes"  # a time derived from counted things: suppressed with its basis
    DAYS = "days"


class ColumnRole(enum.StrEnum):
    PART = "part"    # adds up into the TOTAL column of its row, if there is one
    TOTAL = "total"  # the sum of the row's PART columns
    OTHER = "other"  # neither (a subset such as "answered" of "sent", a time, a target)


@dataclass(frozen=True)
class Column:
    key: str
    title: Any
    measure: Measure = Measure.COUNT
    role: ColumnRole = ColumnRole.PART
    basis: str = ""  # for a time: the key of the count column it is measured over


@dataclass(frozen=True)
class Cell:
    value: int | float | None     # None: not applicable (no data to measure), or suppressed
    link: str | None = None       # the list this cell counts (path + query), for a count
    suppressed: bool = False

    def display(self) -> str:
        if self.suppressed:
            return SUPPRESSED_MARK
        if self.value is None:
            return "–"
        if isinstance(self.value, float):
            return f"{self.value:.1f}".rstrip("0").rstrip(".")
        return str(self.value)

    @property
    def count(self) -> int:
        """The value as a count, 0 when suppressed or absent (for charts' scales)."""
        return 0 if self.suppressed or self.value is None else int(self.value)


@dataclass(frozen=True)
class Row:
    key: str
    label: Any
    cells: tuple[Cell, ...]
    is_total: bool = False


Ref = tuple[str, str]  # (row key, column key)


@dataclass(frozen=True)
class Table:
    key: str
    title: Any
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: Any = ""                          # a caveat printed under the table
    chains: tuple[tuple[Ref, ...], ...] = ()  # nested groups, outermost first

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(f"table {self.key}: row {row.key} has {len(row.cells)} cells for {len(self.columns)} columns")

    def column_index(self, column_key: str) -> int:
        for i, column in enumerate(self.columns):
            if column.key == column_key:
                return i
        raise KeyError(f"table {self.key} has no column {column_key!r}")

    def row(self, row_key: str) -> Row:
        for row in self.rows:
            if row.key == row_key:
                return row
        raise KeyError(f"table {self.key} has no row {row_key!r}")

    def cell(self, row_key: str, column_key: str) -> Cell:
        return self.row(row_key).cells[self.column_index(column_key)]

    def value(self, row_key: str, column_key: str) -> int | float | None:
        return self.cell(row_key, column_key).value

    @property
    def body(self) -> tuple[Row, ...]:
        """The rows without the total row."""
        return tuple(r for r in self.rows if not r.is_total)

    @property
    def total_row(self) -> Row | None:
        return next((r for r in self.rows if r.is_total), None)

    def iter_cells(self) -> Iterator[tuple[Row, Column, Cell]]:
        for row in self.rows:
            for column, cell in zip(self.columns, row.cells):
                yield row, column, cell

    def relations(self) -> list[tuple[Ref, tuple[Ref, ...]]]:
        """Each declared sum: (the total cell, the cells that add up to it)."""
        out: list[tuple[Ref, tuple[Ref, ...]]] = []
        counts = [c for c in self.columns if c.measure is Measure.COUNT]
        totals = [c for c in counts if c.role is ColumnRole.TOTAL]
        parts = [c for c in counts if c.role is ColumnRole.PART]
        if totals and parts:
            for row in self.rows:
                out.append(((row.key, totals[0].key), tuple((row.key, c.key) for c in parts)))
        total_row = self.total_row
        if total_row is not None:
            for column in counts:
                out.append(((total_row.key, column.key), tuple((r.key, column.key) for r in self.body)))
        return out


@dataclass(frozen=True)
class Figures:
    """Everything the statistics show for one unit, period and filter.

    `tables`: the report tables (by source, provider, ...), in display order;
    `funnel`: the outcome funnel (rows are stages, one column `count`);
    `timings`: time to triage and to first action per tier against the targets;
    `all_tables()` gives them all in the order exports and the report use."""

    period: Period
    unit: str
    filters: Filters
    tables: tuple[Table, ...]
    funnel: Table
    timings: tuple[Table, ...]
    external: bool = False  # small counts suppressed (`suppress` applied)

    def all_tables(self) -> tuple[Table, ...]:
        return (self.funnel, *self.tables, *self.timings)

    def table(self, key: str) -> Table:
        for table in self.all_tables():
            if table.key == key:
                return table
        raise KeyError(f"no table {key!r}")

    def suppressed(self) -> Figures:
        """The same figures with small counts suppressed (for outside the unit)."""
        if self.external:
            return self
        funnel, *rest = suppress(self.all_tables())
        n = len(self.tables)
        return replace(self, funnel=funnel, tables=tuple(rest[:n]), timings=tuple(rest[n:]), external=True)


# --- suppression --------------------------------------------------------------------------------------------

def is_small(value: int | float | None) -> bool:
    return value is not None and SMALL_MIN <= value <= SMALL_MAX


def suppress(tables: Iterable[Table]) -> list[Table]:
    """The tables as they may leave the unit: no count between 1 and 4 is shown, and
    none can be worked back from what is shown.

    Method (cell suppression with secondary suppression, per table):

    1. Primary: every count cell of 1..4 is suppressed.
    2. Secondary, for sums: in every declared sum (a row with its TOTAL column, a
       column with the total row) that has exactly one suppressed cell, that cell
       would equal the total minus the others; so one more cell of that sum is
       suppressed: its smallest non-zero shown part (zeros are left shown — a shown
       zero protects nothing), or the total when no such part is left. Repeated
       until no sum has exactly one suppressed cell (it ends: cells only ever get
       suppressed).
    3. Secondary, for nested groups (a `chain`): the difference of two consecutive
       shown cells of a chain is the size of a group too (identified but not yet
       located); when it is 1..4 the inner cell is suppressed, and the chain is
       checked again. Then step 2 runs again, and so on to a fixed point.
    4. A time measured over a suppressed count (its column's `basis`) is suppressed
       with it: a median over two reports says too much about them.

    Each table is protected on its own terms. Tables that share a total (every
    "reports by ..." table adds up to the reports received) stay consistent
    because a total is only ever suppressed when no non-zero part is left to take,
    which means the total is itself 1..4 and so suppressed everywhere.

    What this does not promise: it protects exact values, not ranges (two suppressed
    cells of a sum of 9 still bound each other); that is the usual standard for
    published crime statistics.
    """
    return [_suppress_table(t) for t in tables]


def _suppress_table(table: Table) -> Table:
    values: dict[Ref, int | float | None] = {}
    measures: dict[str, Column] = {c.key: c for c in table.columns}
    hidden: set[Ref] = set()
    for row, column, cell in table.iter_cells():
        ref = (row.key, column.key)
        values[ref] = cell.value
        if column.measure is Measure.COUNT and (cell.suppressed or is_small(cell.value)):
            hidden.add(ref)
    relations = table.relations()
    changed = True
    while changed:
        changed = False
        for total, parts in relations:
            members = (total, *parts)
            if sum(1 for m in members if m in hidden) != 1:
                continue
            candidates = sorted((values[p] or 0, i) for i, p in enumerate(parts) if p not in hidden and (values[p] or 0) > 0)
            if candidates:
                hidden.add(parts[candidates[0][1]])
            else:
                hidden.add(total)  # the sum's other parts are zeros: only hiding the total protects it
            changed = True
        for chain in table.chains:
            shown = [ref for ref in chain if ref not in hidden]
            for outer, inner in zip(shown, shown[1:]):
                difference = (values[outer] or 0) - (values[inner] or 0)
                if is_small(difference):
                    hidden.add(inner)
                    changed = True
                    break
    rows = []
    for row in table.rows:
        cells = []
        for column, cell in zip(table.columns, row.cells):
            ref = (row.key, column.key)
            hide = ref in hidden or (column.measure is not Measure.COUNT and column.basis and (row.key, column.basis) in hidden)
            cells.append(Cell(value=None, link=None, suppressed=True) if hide else cell)
        rows.append(replace(row, cells=tuple(cells)))
    return replace(table, rows=tuple(rows))


def recomputable(table: Table) -> list[Ref]:
    """Suppressed cells whose value follows exactly from what is shown through one
    declared sum (the check the tests and exports use; empty after `suppress`)."""
    out: list[Ref] = []
    cells = {(r.key, c.key): cell for r, c, cell in table.iter_cells()}
    for total, parts in table.relations():
        members = (total, *parts)
        hidden = [m for m in members if cells[m].suppressed]
        if len(hidden) == 1:
            out.append(hidden[0])
    return out


# --- building tables ----------------------------------------------------------------------------------------

def count_table(
    *,
    key: str,
    title: Any,
    rows: Sequence[tuple[str, Any, int, str | None]],
    column_title: Any,
    total_label: Any,
    total_link: str | None = None,
    note: Any = "",
    with_total: bool = True,
) -> Table:
    """A one-column table of counts (label → count) with its total row: the shape of
    every "reports by ..." table. `rows` are (key, label, count, link)."""
    column = Column("count", column_title)
    body = [Row(k, label, (Cell(n, link if n else None),)) for k, label, n, link in rows]
    if with_total:
        total = sum(n for _, _, n, _ in rows)
        body.append(Row("total", total_label, (Cell(total, total_link if total else None),), is_total=True))
    return Table(key=key, title=title, columns=(column,), rows=tuple(body), note=note)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (0 < fraction ≤ 1) of the values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(round(fraction * len(ordered) * 1000)) // 1000))
    return float(ordered[min(rank, len(ordered)) - 1])


@dataclass
class Histogram:
    """Durations counted into fixed buckets (minutes), so a median and a 90th
    percentile come from maintained counts, not from every report. The bucket
    edges are dense where the targets are (1 h, 24 h, 7 d, 30 d)."""

    counts: dict[int, int] = field(default_factory=dict)  # bucket upper edge (minutes) -> count

    EDGES = (
        5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 960, 1440, 2160, 2880, 4320, 5760,
        7200, 8640, 10080, 14400, 20160, 30240, 43200, 64800, 86400, 129600, 259200, 525600, 10**9,
    )

    @classmethod
    def bucket(cls, minutes: float) -> int:
        for edge in cls.EDGES:
            if minutes <= edge:
                return edge
        return cls.EDGES[-1]

    def add(self, bucket: int, count: int = 1) -> None:
        self.counts[bucket] = self.counts.get(bucket, 0) + count

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def within(self, minutes: float) -> int:
        """How many took at most `minutes` (exact when `minutes` is a bucket edge;
        the targets are)."""
        return sum(n for edge, n in self.counts.items() if edge <= minutes)

    def quantile(self, fraction: float) -> float | None:
        """The bucket edge the nearest-rank quantile falls in: an upper bound, at the
        buckets' resolution."""
        total = self.total
        if not total:
            return None
        rank = max(1, -(-int(round(fraction * total * 1000)) // 1000))
        seen = 0
        for edge in sorted(self.counts):
            seen += self.counts[edge]
            if seen >= rank:
                return float(edge)
        return None
