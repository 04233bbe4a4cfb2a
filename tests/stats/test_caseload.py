"""The "done when" of the statistics (issue 15): a known caseload, and every figure
— on the dashboard page, in the CSV and in the XLSX — equals the count made in
the test straight from the source rows."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from lxml import html as lxml_html

from himaya.stats.figures import Filters, Period, PeriodKind
from tests.auth_helpers import login_verified
from tests.stats.conftest import expected

pytestmark = pytest.mark.django_db

FILTERS = [Filters(), Filters(tier="P1"), Filters(source="portal"), Filters(jurisdiction="ours"), Filters(tier="P2", jurisdiction="foreign")]


def _periods(load) -> list[Period]:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    now = timezone.localdate(load.now)
    return [Period.containing(now), Period.containing(timezone.localdate(load.earlier)), Period.containing(now, PeriodKind.YEAR)]


def figure_map(figures) -> dict[str, dict[str, dict[str, object]]]:  # type: ignore[no-untyped-def]
    """table key → row key → column key → value."""
    return {t.key: {r.key: {c.key: cell.value for c, cell in zip(t.columns, r.cells)} for r in t.rows} for t in figures.all_tables()}


def column(table: dict[str, dict[str, object]], col: str = "count") -> Counter:
    return Counter({k: v for k, row in table.items() if k != "total" and (v := row[col])})


def check_against(fig: dict[str, dict[str, dict[str, object]]], exp: dict[str, object]) -> None:
    funnel = {k: row["count"] for k, row in fig["funnel"].items()}
    assert funnel["reports"] == exp["reports"]
    assert funnel["cases"] == exp["cases_opened"]
    for stage in ("identified", "located", "safeguarded"):
        assert funnel[f"victims_{stage}"] == exp[f"victims_{stage}"], stage
    for stage in ("identified", "arrested", "charged", "convicted"):
        assert funnel[f"suspects_{stage}"] == exp[f"suspects_{stage}"], stage
    assert column(fig["reports_by_source"]) == exp["by_source"]
    assert column(fig["reports_by_tier"]) == Counter({k or "-": v for k, v in exp["by_tier"].items()})
    assert column(fig["reports_by_jurisdiction"]) == exp["by_jurisdiction"]
    assert column(fig["reports_by_provider"]) == exp["by_provider"]
    assert column(fig["reports_by_incident_type"]) == exp["by_incident_type"]
    assert column(fig["reports_by_region"]) == exp["by_region"]
    assert column(fig["reports_by_country"]) == exp["by_country"]
    for key in ("reports_over_time", "reports_by_source", "reports_by_tier", "reports_by_jurisdiction", "reports_by_provider",
                "reports_by_incident_type"):
        assert fig[key]["total"]["count"] == exp["reports"], key
    assert fig["cases_over_time"]["total"] == {"opened": exp["cases_opened"], "closed": exp["cases_closed"]}
    assert column(fig["cases_closed_by_outcome"]) == exp["closed_by_outcome"]
    lr = fig["legal_requests"]
    assert Counter({k: r["sent"] for k, r in lr.items() if k != "total" and r["sent"]}) == exp["lr_sent"]
    assert Counter({k: r["answered"] for k, r in lr.items() if k != "total" and r["answered"]}) == exp["lr_answered"]
    refs = fig["referrals"]
    for col, name in (("sent", "ref_sent"), ("answered", "ref_answered"), ("accepted", "ref_accepted"), ("completed", "ref_completed")):
        assert column(refs, col) == exp[name], col
    victims = fig["victims_by_age_sex"]
    got = Counter({(band, sex): n for band, row in victims.items() if band != "total" for sex, n in row.items() if sex != "total" and n})
    assert got == exp["victims_age_sex"]


def test_every_figure_equals_the_independent_count(caseload):
    from himaya.stats.selectors import figures_for

    sup = caseload.people["supervisor"]
    for period in _periods(caseload):
        for filters in FILTERS:
            fig = figure_map(figures_for(user=sup, period=period, filters=filters))
            check_against(fig, expected(caseload.unit, period, filters))


def test_the_caseload_as_built(caseload):
    """What the test built, said in plain numbers (so a shared mistake in both
    counts would still be seen)."""
    from django.utils import timezone

    from himaya.stats.selectors import figures_for

    sup = caseload.people["supervisor"]
    month = Period.containing(timezone.localdate(caseload.now - __import__("datetime").timedelta(minutes=40)))
    fig = figure_map(figures_for(user=sup, period=month))
    assert fig["funnel"]["reports"]["count"] == 9  # 3 P1 + 2 foreign + 3 portal + 1 import; none of unit B
    assert fig["reports_by_source"]["portal"]["count"] == 3 and fig["reports_by_source"]["provider"]["count"] == 5
    assert fig["reports_by_tier"]["P2"]["count"] == 4 and fig["reports_by_tier"]["P4"]["count"] == 1
    assert fig["reports_by_jurisdiction"]["foreign"]["count"] == 2
    assert fig["reports_by_country"]["EG"]["count"] == 2 and fig["reports_by_region"]["Gaza"]["count"] == 3
    assert fig["reports_by_provider"]["acme-chat"]["count"] == 3 and fig["reports_by_provider"]["-"]["count"] == 4
    triage = fig["time_to_triage"]["P1"]
    assert (triage["on_time"], triage["late"], triage["measured"], triage["target"]) == (3, 0, 3, 60)
    action = fig["time_to_first_action"]
    assert action["P1"]["on_time"] == 3 and action["P2"]["measured"] == 3  # two foreign + one portal report in cases
    if timezone.localdate(caseload.now) == month.start or month.start <= timezone.localdate(caseload.now) < month.end:
        assert fig["funnel"]["cases"]["count"] == 3
        assert fig["funnel"]["victims_identified"]["count"] == 3 and fig["funnel"]["victims_safeguarded"]["count"] == 1
        assert fig["funnel"]["suspects_convicted"]["count"] == 1 and fig["funnel"]["suspects_charged"]["count"] == 2
        assert fig["legal_requests"]["acme-chat"] == {"answered": 1, "pending": 1, "sent": 2, "median_days": 0}
        assert fig["referrals"]["total"] == {"answered": 2, "unanswered": 1, "sent": 3, "accepted": 1, "completed": 1}
    earlier = figure_map(figures_for(user=sup, period=Period.containing(timezone.localdate(caseload.earlier))))
    late = earlier["time_to_triage"]["P3"] if earlier["time_to_triage"]["P3"]["measured"] else None
    reviewed_earlier = sum(row["measured"] for row in earlier["time_to_triage"].values())
    assert reviewed_earlier == 4 and sum(row["late"] for row in earlier["time_to_triage"].values()) == 4
    assert late is None or late["on_time"] == 0


def _dashboard_cells(page: bytes) -> dict[str, dict[str, dict[str, str]]]:
    doc = lxml_html.fromstring(page)
    out: dict[str, dict[str, dict[str, str]]] = {}
    for section in doc.xpath("//section[@data-table]"):
        rows = {}
        for tr in section.xpath(".//tbody/tr"):
            rows[tr.get("data-row")] = {td.get("data-column"): td.text_content().strip() for td in tr.xpath("./td")}
        out[section.get("data-table")] = rows
    return out


def test_dashboard_page_shows_every_figure(caseload, client: Client):
    from himaya.stats.selectors import figures_for

    sup = caseload.people["supervisor"]
    login_verified(client, sup)
    for period in _periods(caseload)[:2]:
        for filters in FILTERS[:3]:
            query = {"period": period.label, **filters.items()}
            response = client.get(reverse("stats:dashboard"), query, HTTP_ACCEPT_LANGUAGE="ar")
            assert response.status_code == 200
            shown = _dashboard_cells(response.content)
            fig = figures_for(user=sup, period=period, filters=filters)
            exp = expected(caseload.unit, period, filters)
            assert shown["funnel"]["reports"]["count"] == str(exp["reports"])
            assert shown["funnel"]["cases"]["count"] == str(exp["cases_opened"])
            assert shown["reports_by_source"]["portal"]["count"] == str(exp["by_source"]["portal"])
            for table in fig.all_tables():
                for row in table.rows:
                    for col, cell in zip(table.columns, row.cells):
                        assert shown[table.key][row.key][col.key] == cell.display(), (table.key, row.key, col.key)


def test_every_number_links_to_a_list_of_that_many(caseload, client: Client):
    """Follow each linked number of the reports' and cases' tables to its list and
    count the rows there."""
    from django.utils import timezone

    sup = caseload.people["supervisor"]
    login_verified(client, sup)
    month = Period.containing(timezone.localdate(caseload.now))
    page = client.get(reverse("stats:dashboard"), {"period": month.label}).content
    doc = lxml_html.fromstring(page)
    followed = 0
    for link in doc.xpath("//section[@data-table]//td/a"):
        href, number = link.get("href"), int(link.text_content())
        listing = lxml_html.fromstring(client.get(href).content)
        if href.startswith(reverse("cases:index")):
            rows = listing.xpath("//tr[@data-case]")
        else:
            rows = listing.xpath("//table[contains(@class,'table--reports')]/tbody/tr")
        assert len(rows) == number, href
        followed += 1
    assert followed >= 15


def _read_csv(folder: Path, name: str) -> list[list[str]]:
    with (folder / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_and_xlsx_hold_the_same_figures(caseload, tmp_path):
    from openpyxl import load_workbook

    from himaya.stats.selectors import figures_for

    period = _periods(caseload)[2]  # the year
    call_command("stats", "export", "--period", period.label, "--format", "csv", "--out", str(tmp_path / "csv"), "--unit", "stats-a",
                 "--lang", "en")
    call_command("stats", "export", "--period", period.label, "--format", "xlsx", "--out", str(tmp_path / "x"), "--unit", "stats-a")
    from himaya.accounts.permissions import OPERATOR

    fig = figures_for(user=OPERATOR, period=period, unit_id=caseload.unit.id)
    exp = expected(caseload.unit, period, Filters())
    book = load_workbook(tmp_path / "x" / f"himaya-stats-{period.label}.xlsx")
    for table in fig.all_tables():
        grid = _read_csv(tmp_path / "csv", f"himaya-stats-{period.label}-{table.key}.csv")
        assert len(grid) == len(table.rows) + 1
        sheet = book[table.key[:31]]
        assert sheet.sheet_view.rightToLeft
        values = [list(r) for r in sheet.iter_rows(min_row=5, max_row=4 + len(table.rows), values_only=True)]
        for row, line, xrow in zip(table.rows, grid[1:], values):
            for j, cell in enumerate(row.cells, start=1):
                want = "" if cell.value is None else cell.display()
                assert line[j] == want, (table.key, row.key, j)
                assert xrow[j] == cell.value, (table.key, row.key, j)
    # and the numbers themselves are the test's own count
    funnel = {line[0]: line[1] for line in _read_csv(tmp_path / "csv", f"himaya-stats-{period.label}-funnel.csv")[1:]}
    assert funnel["Reports received"] == str(exp["reports"]) and funnel["Cases opened"] == str(exp["cases_opened"])
    assert funnel["Victims safeguarded"] == str(exp["victims_safeguarded"])
    source = {line[0]: line[1] for line in _read_csv(tmp_path / "csv", f"himaya-stats-{period.label}-reports_by_source.csv")[1:]}
    assert source["Public portal"] == str(exp["by_source"]["portal"]) and source["Total"] == str(exp["reports"])


def test_incremental_equals_rebuild(caseload):
    """The aggregates kept by the signals equal those recomputed from scratch —
    after the caseload, and after each further change on its own (each change
    must mark its own month: nothing else in the step would)."""
    from himaya.accounts.permissions import OPERATOR
    from himaya.cases import services as cs
    from himaya.cases.models import LegalRequest, Referral, Victim
    from himaya.stats import aggregates
    from himaya.stats.models import MonthlyCount, StaleMonth
    from himaya.stats.selectors import figures_for
    from himaya.triage.services import report_triage_override, report_triage_review
    from tests.stats.conftest import make_report

    def rows() -> set[tuple]:
        return set(MonthlyCount.objects.values_list("unit_id", "month", "dimension", "value", "source", "tier", "jurisdiction", "count"))

    def kept_equals_rebuilt(step: str) -> None:
        aggregates.refresh_stale()
        assert not StaleMonth.objects.exists()
        kept = rows()
        aggregates.rebuild()
        assert rows() == kept, step

    period = _periods(caseload)[2]
    before = figure_map(figures_for(user=OPERATOR, period=period))
    kept_equals_rebuilt("the caseload")
    assert figure_map(figures_for(user=OPERATOR, period=period)) == before
    analyst, cp, sup, inv = (caseload.people[k] for k in ("analyst", "cp", "supervisor", "investigator"))
    earlier = caseload.reports["earlier_acme"]
    steps = [
        ("a tier overridden", lambda: report_triage_override(report_id=earlier[0].id, actor=analyst, reason="re-read", priority="P1")),
        ("a review", lambda: report_triage_review(report_ids=[earlier[5].id], actor=analyst)),
        ("a report received", lambda: make_report(unit=caseload.unit, when=caseload.earlier, source="portal")),
        ("a victim safeguarded", lambda: cs.victim_update(actor=cp, victim=Victim.objects.filter(case=caseload.cases["case2"]).first(),
                                                          identification="located")),
        ("a referral accepted", lambda: cs.referral_move(actor=cp, referral=Referral.objects.get(kind="psychological"), state="accepted")),
        ("a request answered", lambda: cs.legal_request_answer(actor=inv, request=LegalRequest.objects.get(kind="preservation", provider="acme-chat"),
                                                                result="preserved")),
        ("a case merged", lambda: cs.case_merge(actor=sup, source=caseload.cases["case2"], target=caseload.cases["case1"])),
        ("a tier of a case's report", lambda: report_triage_override(report_id=caseload.reports["p1"][0].id, actor=analyst,
                                                                      reason="re-read", priority="P3")),
    ]
    for step, change in steps:
        kept = rows()
        change()
        kept_equals_rebuilt(step)
        assert rows() != kept, f"{step} changed no figure"
