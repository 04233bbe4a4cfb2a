"""The statistics dashboard in a real headless Chromium, in Arabic: filter a
period, read a number, follow it to its list, and find exactly that many rows."""
from __future__ import annotations

import pytest

from tests.stats.conftest import PASSWORD, expected
from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in, page  # noqa: F401  (the page fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


@pytest.mark.django_db(transaction=True)
def test_filter_a_period_and_follow_a_number_to_its_list(live_server, page, caseload) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from django.utils import timezone

    from himaya.stats.figures import Filters, Period

    earlier = Period.containing(timezone.localdate(caseload.earlier))
    log_in(page, live_server, "st-supervisor", PASSWORD)
    page.get_by_role("link", name="الإحصاءات").click()
    page.wait_for_url(f"{live_server.url}/stats/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "الإحصاءات"

    filters = page.locator("#stats-filters")
    filters.get_by_label("الفترة", exact=True).fill(earlier.label)
    filters.get_by_role("button", name="عرض").click()
    page.wait_for_url(f"{live_server.url}/stats/?period={earlier.label}*")
    want = expected(caseload.unit, earlier, Filters())
    source = page.locator("section[data-table=reports_by_source]")
    assert source.get_by_role("heading").inner_text() == "البلاغات حسب المصدر"
    funnel = page.locator("section[data-table=funnel]")
    assert funnel.locator("tr[data-row=reports] td").inner_text() == str(want["reports"]) == "7"
    # the chart is drawn right to left: its labels stand right of its bars
    chart = source.locator("svg.chart")
    assert chart.get_attribute("direction") == "rtl"
    label = chart.locator("text.chart__label").first.bounding_box()
    bar = chart.locator("rect.chart__bar").first.bounding_box()
    assert label["x"] > bar["x"]
    page.screenshot(path=str(SCREENSHOTS / "himaya-stats-dashboard-ar.png"), full_page=True)

    provider = source.locator("tr[data-row=provider] td a")
    number = int(provider.inner_text())
    assert number == want["by_source"]["provider"] == 6
    provider.click()
    page.wait_for_url(f"{live_server.url}/?*")
    assert page.locator("table.table--reports tbody tr").count() == number
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert [e for e in page.errors if "favicon" not in e] == []  # type: ignore[attr-defined]
