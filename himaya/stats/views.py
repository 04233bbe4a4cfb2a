"""The statistics pages: the dashboard (charts and tables, every number a link
to the list it counts) and the downloads. Views parse the request and call the
selectors and services; permission comes from the one table."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.stats.figures import ColumnRole, Figures, Measure, Period, Table
from himaya.stats.forms import FilterForm
from himaya.stats.selectors import figures_cache_key, figures_for
from himaya.stats.svg import Bar, bar_chart

# The tables drawn as charts, and the column each one draws.
CHARTED = {
    "funnel": "count", "reports_over_time": "count", "reports_by_source": "count", "reports_by_provider": "count",
    "reports_by_incident_type": "count", "reports_by_tier": "count", "reports_by_jurisdiction": "count",
    "reports_by_region": "count", "reports_by_country": "count", "cases_over_time": "opened", "legal_requests": "sent",
    "referrals": "sent", "victims_by_age_sex": "total", "time_to_triage": "measured", "time_to_first_action": "measured",
}


def _chart(table: Table, rtl: bool) -> str:
    column = CHARTED.get(table.key)
    if column is None:
        return ""
    i = table.column_index(column)
    bars = [Bar(str(r.label), r.cells[i].count, r.cells[i].link, r.cells[i].display()) for r in table.body]
    if not bars:
        return ""
    return bar_chart(bars, title=str(table.title), rtl=rtl)


def _present(figures: Figures, rtl: bool) -> list[dict[str, Any]]:
    out = []
    for table in figures.all_tables():
        out.append({
            "table": table,
            "chart": mark_safe(_chart(table, rtl)),  # noqa: S308 — svg.py escapes every text it draws
            "numeric": [c.measure is not Measure.COUNT or c.role is ColumnRole.TOTAL for c in table.columns],
            "rows": [{"row": r, "cells": list(zip(table.columns, r.cells))} for r in table.rows],
        })
    return out


# How long a drawn dashboard is kept. Its key changes with every rewrite of the
# unit's aggregates, so this only bounds the memory a period nobody reads keeps.
GRID_TTL = 15 * 60


def _grid(user: Any, period: Period, filters: Any) -> dict[str, Any]:
    """The dashboard's tables and charts as HTML, drawn once per state of the
    aggregates: later requests for the same unit, roles, period, filters and
    language read it from the cache (the key: `figures_cache_key`)."""
    key = figures_cache_key(user=user, period=period, filters=filters, purpose="dashboard")
    found = cache.get(key)
    if found is None:
        figures = figures_for(user=user, period=period, filters=filters)
        rtl = translation.get_language_bidi()
        found = {"grid": render_to_string("stats/_grid.html", {"tables": _present(figures, rtl)}), "unit_name": str(figures.unit)}
        cache.set(key, found, GRID_TTL)
    return {"grid": mark_safe(found["grid"]), "unit_name": found["unit_name"]}  # noqa: S308 — rendered by our template


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not allowed(request.user, Action.VIEW, Kind.STATISTICS):
        raise PermissionDenied("view statistics")
    form = FilterForm(request.GET or None, auto_id="stats-%s")
    if form.is_bound and form.is_valid():
        period, filters = form.cleaned_data["period"], form.filters()
    else:
        period, filters = Period.parse(str(timezone.localdate().year)), None
    status = 200 if not form.is_bound or form.is_valid() else 400
    context: dict[str, Any] = {
        "form": form, "period": period, **_grid(request.user, period, filters),
        "may_export": allowed(request.user, Action.EXPORT, Kind.STATISTICS),
        "query": request.GET.urlencode(),
    }
    if context["may_export"]:
        try:
            from himaya.stats.report_views import report_form

            context["report_form"] = report_form(period=period.label)
        except ImportError:  # the national report is not installed here
            pass
    return render(request, "stats/dashboard.html", context, status=status)


@login_required
def export_download(request: HttpRequest) -> HttpResponse:
    """The dashboard's tables as an XLSX workbook (the period and filters shown)."""
    from himaya.stats.services import ExportError, stats_download_record, stats_export

    if not allowed(request.user, Action.EXPORT, Kind.STATISTICS):
        raise PermissionDenied("export statistics")
    form = FilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(_("Give a year (2026), a quarter (2026-Q3) or a month (2026-07)."), status=400, content_type="text/plain")
    period = form.cleaned_data["period"]
    external = request.GET.get("external") == "1"
    lang = "en" if (translation.get_language() or "ar").startswith("en") else "ar"
    with tempfile.TemporaryDirectory(prefix="himaya-stats-") as folder:
        try:
            (path,) = stats_export(actor=request.user, period=period, fmt="xlsx", out_dir=folder, external=external,
                                   filters=form.filters(), lang=lang)
        except ExportError as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        data = Path(path).read_bytes()
        name = Path(path).name
    stats_download_record(actor=request.user, period=period, fmt="xlsx", external=external, lang=lang, size=len(data))
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


def report_download(request: HttpRequest) -> HttpResponse:
    """The national report (himaya.stats.report_views), when installed."""
    try:
        from himaya.stats.report_views import report_download as view
    except ImportError:
        return HttpResponse(_("The national report is not available on this server."), status=503, content_type="text/plain")
    return view(request)


def report_file(request: HttpRequest, job_id: int) -> HttpResponse:
    """A ready national report's PDF (himaya.stats.report_views)."""
    try:
        from himaya.stats.report_views import report_file as view
    except ImportError:
        return HttpResponse(_("The national report is not available on this server."), status=503, content_type="text/plain")
    return view(request, job_id)
