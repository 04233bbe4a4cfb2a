"""The national report (SPEC §3.7, §4.2): one period's figures as a PDF, in Arabic
or English — cover, summary in words, every table of the figures with its chart,
method and caveats.

HTML from a template (`stats/report/report.html`) laid out by WeasyPrint, which
shapes Arabic and lays it out right to left through Pango/HarfBuzz (tables mirror
with the page's `dir`); the charts are matplotlib drawings (`himaya.stats.charts`).
The Arabic font is Amiri from Debian's `fonts-hosny-amiri`.

The figures come from `figures_for` (the maintained aggregates, the same numbers
as the dashboard and the exports); for a report meant for outside the unit they go
through `suppress` first, so the PDF shows what an external export shows.
"""
from __future__ import annotations

import base64
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from himaya.accounts.permissions import Action, Kind, check
from himaya.stats.charts import AMIRI_BOLD, AMIRI_REGULAR, Chart, amiri_available, chart_pngs
from himaya.stats.events import stats_report_generated_event
from himaya.stats.figures import Cell, ColumnRole, Figures, Filters, Measure, Period, PeriodKind, Table
from himaya.stats.selectors import figures_for

LANGUAGES = ("ar", "en")

# What a machine without them lacks, named as Debian packages (the error says so).
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"
FONT_PACKAGE = "fonts-hosny-amiri"


class ReportUnavailable(RuntimeError):
    """The machine lacks what the PDF needs (a system library or the Arabic font)."""


def weasyprint_problem() -> str | None:
    """Why WeasyPrint cannot run here, in words an operator can act on; None if it can."""
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:  # cffi could not open Pango
        return (f"the PDF report needs Pango ({exc}): install the Debian packages {PANGO_PACKAGES} "
                f"(apt-get install {PANGO_PACKAGES})")
    except ImportError as exc:
        return f"the PDF report needs WeasyPrint ({exc}): reinstall the project (pip install -e .)"
    return None


def font_problem() -> str | None:
    if not amiri_available():
        return (f"the PDF report needs the Arabic font Amiri ({AMIRI_REGULAR} is missing): "
                f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})")
    return None


def report_problem() -> str | None:
    return weasyprint_problem() or font_problem()


@dataclass(frozen=True)
class RenderedReport:
    pages: int
    size: int


def render_report(*, user_or_operator: Any, period: Period | str, lang: str, external: bool, out_path: str | os.PathLike[str]) -> None:
    """Write the national report for `period` as a PDF at `out_path`.

    Who may: the statistics export permission (an operator of the command line
    always). Raises ValueError for a bad period or language, PermissionDenied for a
    role that may not, ReportUnavailable when the machine lacks Pango or the font.
    The file appears whole or not at all, and its production is audited."""
    report_document(user_or_operator=user_or_operator, period=period, lang=lang, external=external, out_path=out_path)


def report_document(*, user_or_operator: Any, period: Period | str, lang: str, external: bool,
                    out_path: str | os.PathLike[str]) -> RenderedReport:
    """`render_report`, also saying how many pages and bytes it wrote."""
    period, pdf, pages = report_pdf(user_or_operator=user_or_operator, period=period, lang=lang, external=external)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", delete=False) as tmp:
        tmp.write(pdf)
        tmp_path = Path(tmp.name)
    try:
        with transaction.atomic():
            stats_report_generated_event(actor=user_or_operator, period=period.label, lang=lang, external=external,
                                         pages=pages, size=len(pdf))
        os.replace(tmp_path, out)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return RenderedReport(pages=pages, size=len(pdf))


def report_pdf(*, user_or_operator: Any, period: Period | str, lang: str, external: bool) -> tuple[Period, bytes, int]:
    """The report's PDF bytes and page count, not audited (the caller audits when
    it hands the file over). Same checks and errors as `render_report`."""
    if lang not in LANGUAGES:
        raise ValueError(f"bad language {lang!r}: use ar or en")
    if not isinstance(period, Period):
        period = Period.parse(period)
    check(user_or_operator, Action.EXPORT, Kind.STATISTICS)
    problem = report_problem()
    if problem:
        raise ReportUnavailable(problem)
    with translation.override(lang):  # some labels are made in the active language when the figures are read
        figures = figures_for(user=user_or_operator, period=period, filters=Filters(), action=Action.EXPORT, links=False)
        if external:
            figures = figures.suppressed()  # `suppress` on every table: no count 1..4, none recomputable
        html = report_html(figures=figures, lang=lang)
    document = _layout(html)
    return period, document.write_pdf(), len(document.pages)


def _layout(html: str) -> Any:
    from weasyprint import HTML

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per page at INFO
    return HTML(string=html, base_url=str(AMIRI_REGULAR.parent)).render()


# --- the document ------------------------------------------------------------------------------------------

def number(value: int | float) -> str:
    """A count with thousands grouped (Latin digits in both languages, as the
    unit's other documents write them)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def cell_text(cell: Cell) -> str:
    if cell.suppressed or cell.value is None:
        return cell.display()
    return number(cell.value) if isinstance(cell.value, int) or float(cell.value).is_integer() else cell.display()


def css_string(text: str) -> str:
    """Text for a CSS string in the page's <style> (the running head): every
    character that could end the string or the element as a CSS escape."""
    return "".join(f"\\{ord(c):x} " if c in '"\\<>&\n\r' or not c.isprintable() else c for c in text)


def _iso(text: str) -> str:
    """A number (or "<5") inside a sentence, isolated left to right: in Arabic text
    the bidi algorithm would otherwise mirror "<5" into "5>"."""
    return f"\u2066{text}\u2069"


def period_words(period: Period) -> str:
    if period.kind is PeriodKind.YEAR:
        return _("the year %(year)s") % {"year": _iso(str(period.start.year))}
    if period.kind is PeriodKind.QUARTER:
        quarter = (period.start.month - 1) // 3 + 1
        names = {1: _("first quarter"), 2: _("second quarter"), 3: _("third quarter"), 4: _("fourth quarter")}
        return _("the %(quarter)s of %(year)s") % {"quarter": names[quarter], "year": _iso(str(period.start.year))}
    return formats.date_format(period.start, "F Y")


def _step_label(key: str) -> str | None:
    """A time series' row key ("2026-07" or "2026-07-14") as its label; None if it is not one."""
    try:
        if len(key) == 7:
            return formats.date_format(date.fromisoformat(key + "-01"), "M")
        if len(key) == 10:
            return str(date.fromisoformat(key).day)
    except ValueError:
        return None
    return None


def _chart_column(table: Table) -> int | None:
    """The column a table's chart draws: its total if it has one, else its first count."""
    counts = [i for i, c in enumerate(table.columns) if c.measure is Measure.COUNT]
    totals = [i for i in counts if table.columns[i].role is ColumnRole.TOTAL]
    if totals:
        return totals[0]
    if counts:
        return counts[0]
    times = [i for i, c in enumerate(table.columns) if c.measure is not Measure.COUNT]
    return times[0] if times else None


def _is_series(table: Table) -> bool:
    body = table.body
    return len(body) > 1 and all(_step_label(r.key) is not None for r in body)


def _chart(table: Table, *, rtl: bool, funnel: bool) -> Chart | None:
    column = _chart_column(table)
    body = table.body
    if column is None or len(body) < 2:
        return None
    series = _is_series(table)
    cells = [row.cells[column] for row in body]
    if not any(c.value and not c.suppressed for c in cells):
        return None  # an empty chart says nothing the table does not
    labels = [(_step_label(r.key) if series else str(r.label)) or str(r.label) for r in body]
    values = [_plotted(c) for c in cells]
    heading = table.columns[column].title
    parts: list[tuple[str, list[float]]] = []
    if table.columns[column].role is ColumnRole.TOTAL and not series:
        # The parts of the total, stacked: within target / late, answered / pending, by sex...
        for i, col in enumerate(table.columns):
            if col.measure is Measure.COUNT and col.role is ColumnRole.PART:
                parts.append((str(col.title), [_plotted(r.cells[i]) for r in body]))
        if any(r.cells[i].suppressed for r in body for i, col in enumerate(table.columns)
               if col.measure is Measure.COUNT and col.role is ColumnRole.PART):
            parts = []  # a hidden part would leave a bar short of its total: draw the totals alone
    if len(table.columns) == 1 or parts:
        title = str(table.title)
    else:
        title = f"{table.title}: {heading}"
    return Chart(title=title, labels=labels, values=values, kind="series" if series else "bars",
                 value_labels=[cell_text(c) for c in cells], highlight_first=funnel, parts=parts)


def _plotted(cell: Cell) -> float:
    """A suppressed count is drawn as nothing (its label says "<5")."""
    return 0.0 if cell.suppressed or cell.value is None else float(cell.value)


def _section(table: Table, *, rtl: bool, funnel: bool = False) -> dict[str, Any]:
    return {
        "key": table.key,
        "title": str(table.title),
        "headings": [str(c.title) for c in table.columns],
        "rows": [{"label": str(r.label), "total": r.is_total, "cells": [{"text": cell_text(c), "suppressed": c.suppressed} for c in r.cells]}
                 for r in table.rows],
        "note": str(table.note) if table.note else "",
        "chart": _chart(table, rtl=rtl, funnel=funnel),  # a Chart, drawn with the others by `_draw_charts`
    }


def _draw_charts(sections: list[dict[str, Any]], *, rtl: bool) -> None:
    """Every section's chart as an embedded PNG, all drawn at once (in parallel)."""
    drawn = [s for s in sections if s["chart"] is not None]
    for section, png in zip(drawn, chart_pngs([s["chart"] for s in drawn], rtl=rtl)):
        section["chart"] = "data:image/png;base64," + base64.b64encode(png).decode()


def _funnel_value(figures: Figures, index: int) -> Cell | None:
    body = figures.funnel.body
    if index >= len(body) or not figures.funnel.columns:
        return None
    return body[index].cells[0]


def _summary(figures: Figures) -> tuple[list[str], list[dict[str, str]]]:
    """Sentences with the key numbers, and the funnel's stages as a short list."""
    paragraphs: list[str] = []
    funnel = figures.funnel
    column = _chart_column(funnel)
    stages = [(str(r.label), r.cells[column]) for r in funnel.body] if column is not None else []
    received = next((c for r, c in ((r, r.cells[column]) for r in funnel.body) if r.key == "reports"), None) if column is not None else None
    if received is None and stages:
        received = stages[0][1]
    if received is not None:
        paragraphs.append(_("In %(period)s, %(unit)s received %(reports)s reports of online child sexual exploitation and abuse.")
                          % {"period": period_words(figures.period), "unit": figures.unit, "reports": _iso(cell_text(received))})
    if stages:
        paragraphs.append(_("The outcome funnel follows these reports through cases to the children identified and safeguarded "
                            "and to the suspects identified, arrested, charged and convicted: %(stages)s.")
                          % {"stages": _("; ").join(f"{label} {_iso(cell_text(cell))}" for label, cell in stages)})
    tables = {t.key: t for t in figures.tables}
    by_tier = tables.get("reports_by_tier")
    if by_tier is not None and by_tier.columns:
        parts = [f"{r.label} {_iso(cell_text(r.cells[0]))}" for r in by_tier.body]
        paragraphs.append(_("By priority: %(tiers)s.") % {"tiers": _("; ").join(parts)})
    if figures.external:
        paragraphs.append(_("This edition is for readers outside the unit: counts from 1 to 4 are shown as “%(mark)s”, "
                            "and where a total would reveal one, another cell is suppressed too.") % {"mark": _iso("<5")})
    keys = [{"label": label, "value": cell_text(cell)} for label, cell in stages]
    return paragraphs, keys


def _method(figures: Figures) -> list[dict[str, str]]:
    items = [
        {"title": _("Volume is not prevalence"),
         "text": _("These figures count reports received and the unit's work on them. More reports can mean more "
                   "vigilant providers, a new reporting channel or a single viral file shared many times; fewer reports "
                   "do not mean less abuse. They do not measure how many children are exploited.")},
        {"title": _("What is counted"),
         "text": _("A report is counted once, in the period in which it was received, whatever the number of files it "
                   "carries. A case is counted in the period it was opened; a victim or a suspect in the period it was "
                   "recorded, at the furthest stage reached so far (a child safeguarded was also identified and located). "
                   "The tables by source, provider, incident type, priority and jurisdiction each add up to the reports "
                   "received.")},
        {"title": _("Times and targets"),
         "text": _("Times run from a report's arrival to its triage and to the first action on it, and from a legal "
                   "request's sending to its answer. Medians and 90th percentiles are read from counts in fixed time "
                   "bands: each is the upper bound of its band. Targets are the unit's service targets per priority tier.")},
        {"title": _("Source of the figures"),
         "text": _("All figures are produced by Himaya from the unit's records at the time of production, from the same "
                   "counts as the dashboard and the exports; figures for a past period can still change as cases move on.")},
    ]
    if figures.external:
        items.append({"title": _("Small counts suppressed"),
                      "text": _("So that no child or case can be recognised, every count from 1 to 4 is replaced by "
                                "“%(mark)s”. Where a total and its other parts would let a hidden count be worked out, the "
                                "smallest other part (or the total) is hidden too; a time measured over a hidden count "
                                "is hidden with it. Totals therefore may not equal the sum of the cells shown.") % {"mark": _iso("<5")}})
    else:
        items.append({"title": _("Internal edition"),
                      "text": _("This edition shows every count, small ones included: it is for the unit. For readers "
                                "outside it, produce the external edition, which suppresses counts from 1 to 4.")})
    return items


def _unit_name(figures: Figures) -> str:
    return str(figures.unit) or _("the unit")


def report_html(*, figures: Figures, lang: str) -> str:
    """The report as HTML for WeasyPrint, in `lang` (strings and mirroring)."""
    with translation.override(lang):
        rtl = translation.get_language_bidi()
        title = _("National report on online child sexual exploitation and abuse")
        funnel_section = _section(figures.funnel, rtl=rtl, funnel=True)
        sections = [funnel_section] + [_section(t, rtl=rtl) for t in (*figures.tables, *figures.timings)]
        _draw_charts(sections, rtl=rtl)
        summary, keys = _summary(figures)
        produced = timezone.localdate()
        context = {
            "lang": lang,
            "direction": "rtl" if rtl else "ltr",
            "title": title,
            "unit_name": _unit_name(figures),
            "period": figures.period,
            "period_words": period_words(figures.period),
            "period_range": _("%(first)s to %(last)s") % {"first": formats.date_format(figures.period.start, "j F Y"),
                                                          "last": formats.date_format(figures.period.last, "j F Y")},
            "produced_on": formats.date_format(produced, "j F Y"),
            "external": figures.external,
            "summary": summary,
            "key_numbers": keys,
            "sections": sections,
            "method": _method(figures),
            "running_head": css_string(f"{title} — {_iso(figures.period.label)}"
                                       + (" — " + pgettext("report edition", "external") if figures.external else "")),
            "font_regular": AMIRI_REGULAR.as_uri(),
            "font_bold": (AMIRI_BOLD if AMIRI_BOLD.is_file() else AMIRI_REGULAR).as_uri(),
        }
        return render_to_string("stats/report/report.html", context)
