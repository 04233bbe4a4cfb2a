"""The queue's count stops at a cap (SPEC §5: the page stays fast at 1 M reports):
past it the page says "more than N" and pages on while there are rows."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from himaya.triage import pagination
from himaya.triage.pagination import CappedPaginator, grouped
from himaya.reports.models import Report
from himaya.triage import views
from himaya.triage.models import ReportTriage
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db
PASSWORD = "staff-password-1"
ROW = re.compile(r'data-report="(\d+)"')


@pytest.fixture
def queue(unit):  # type: ignore[no-untyped-def]
    """Seven triaged reports, stored directly (their content does not matter here),
    and the ids in queue order."""
    now = datetime.now(UTC)
    reports = Report.objects.bulk_create([
        Report(unit=unit, source="import", status="finished", opened_at=now, modified_at=now, finished_at=now - timedelta(hours=i),
               raw_xml=b"", raw_sha256="0" * 64, document={}, incident_type="x")
        for i in range(7)
    ])
    tiers = ["P1", "P1", "P2", "P2", "P3", "P4", "P4"]
    ReportTriage.objects.bulk_create([
        ReportTriage(report=r, unit=unit, received_at=r.finished_at, priority=t, effective_priority=t, score=50, ruleset_version=1,
                     computed_at=now, due_at=now + timedelta(hours=i))
        for i, (r, t) in enumerate(zip(reports, tiers, strict=True))
    ])
    return [t.report_id for t in ReportTriage.objects.order_by("effective_priority", "due_at", "received_at", "report_id")]


def analyst(language: str = "en") -> Client:
    from himaya.accounts.services import user_create

    user = user_create(username="analyst-a", password=PASSWORD, roles=["intake_analyst"], unit_code="unit-a")
    c = login_verified(Client(), user, PASSWORD)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return c


@pytest.fixture
def small(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pagination, "COUNT_CAP", 4)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)


def rows(html: str) -> list[int]:
    return [int(x) for x in ROW.findall(html)]


def test_capped_count_says_more_than_and_pages_on(queue, small) -> None:  # type: ignore[no-untyped-def]
    c = analyst()
    first = c.get("/triage/").content.decode()
    assert "more than 4 reports" in first and "7 reports" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    seen, number = [], 1
    while True:  # follow "next" as a person would, past the cap
        html = c.get(f"/triage/?page={number}").content.decode()
        seen += rows(html)
        assert f"Page {number}<" in html  # no total: it is not known
        if 'rel="next"' not in html:
            break
        assert f"page={number + 1}" in html
        number += 1
    assert seen == queue and number == 4
    assert f"page={number - 1}" in html and 'rel="prev"' in html
    # A page past the end falls back to a page that has rows; junk means the first.
    assert rows(c.get("/triage/?page=99").content.decode())
    assert rows(c.get("/triage/?page=junk").content.decode()) == queue[:2]


def test_under_the_cap_the_count_is_exact(queue, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pagination, "COUNT_CAP", 7)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    c = analyst()
    html = c.get("/triage/").content.decode()
    assert "7 reports" in html and "more than" not in html and "Page 1 of 4" in html
    last = c.get("/triage/?page=4").content.decode()
    assert rows(last) == queue[6:] and 'rel="next"' not in last and "Page 4 of 4" in last
    # A filter below the cap counts exactly too.
    monkeypatch.setattr(pagination, "COUNT_CAP", 4)
    assert "2 reports" in c.get("/triage/?priority=P1").content.decode()


def test_arabic_says_more_than_with_arabic_grouping(queue, small) -> None:  # type: ignore[no-untyped-def]
    html = analyst("ar").get("/triage/").content.decode()
    assert "أكثر من 4" in html and "التالية" in html
    with translation.override("ar"):
        assert grouped(10_000) == "10٬000"
    with translation.override("en"):
        assert grouped(10_000) == "10,000"


def test_paginator_counts_no_further_than_the_cap(queue) -> None:  # type: ignore[no-untyped-def]
    qs = ReportTriage.objects.order_by("effective_priority", "due_at", "received_at", "report_id")
    p = CappedPaginator(qs, 2, cap=3)
    assert p.count == 4 and p.capped and p.cap_display == "3"
    page = p.page(4)
    assert [t.report_id for t in page] == queue[6:] and not page.has_next() and page.end_index() == 7
    exact = CappedPaginator(qs, 2, cap=7)
    assert exact.count == 7 and not exact.capped and exact.num_pages == 4
