"""The case page and "my work" ask the database a fixed number of times, whatever
the number of victims, suspects, tasks, legal requests or cases (bench/RESULTS.md,
issue 14): a busy case must open as fast as an empty one. The only per-victim
writes are the identity audit rows (every showing of a child's identity is audited)."""
from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.audit.models import AuditEvent
from himaya.cases import selectors, services
from tests.auth_helpers import login_verified
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db


def build_case(people: dict[str, Any], n: int, *, title: str = "Case", nreports: int = 3) -> Any:
    """A case of three new reports (about the same hawk as every other built case) given
    to the investigator, with `n` victims (named, one referral each), suspects (two
    identifiers, one step), tasks and legal requests."""
    sup, inv, cp = people["supervisor"], people["investigator"], people["cp"]
    unit = sup.unit
    reports = [store(report_xml(suspect=Person(esp_id=f"hawk-{k + 1}", emails=["hawk@example.com"])), unit=unit) for k in range(nreports)]
    case = services.case_open(actor=sup, title=title, report_ids=[r.id for r in reports])
    services.case_assign(actor=sup, case=case, usernames=["investigator"])
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    for i in range(n):
        victim = services.victim_create(actor=cp, case=case, identification="identified", first_name=f"Mira{i}", last_name="Example",
                                        report_ids=[reports[i % len(reports)].id])
        services.referral_create(actor=cp, victim=victim, kind="shelter", service=f"Shelter {i}", officer="cp")
        suspect = services.suspect_create(actor=inv, case=case, label=f"S{i}", identifiers=[
            {"kind": "email", "value": "hawk@example.com" if i % 2 == 0 else f"s{i}@example.com"},
            {"kind": "esp_id", "value": f"hawk-{i + 1}", "platform": "ExampleChat"}])
        services.suspect_update(actor=inv, suspect=suspect, status="identified", status_date=yesterday)
        services.task_create(actor=inv, case=case, kind="other", title=f"Task {i}", due=yesterday if i % 2 else None,
                             assignee="investigator")
        services.legal_request_create(actor=inv, case=case, provider="ExampleChat", kind="preservation", legal_basis="Art. 12",
                                      account=f"hawk-{i + 1}", sent_on=yesterday, due_on=yesterday, report_id=reports[0].id)
    return case


def page_queries(client: Client, url: str) -> tuple[int, str]:
    reset_queries()  # the log keeps 9,000 queries: a full one would count nothing
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_case_page_asks_the_same_number_of_queries_for_one_or_four_of_everything(people) -> None:  # type: ignore[no-untyped-def]
    small = build_case(people, 1, title="Small")
    large = build_case(people, 4, title="Large")
    inv = login_verified(Client(HTTP_ACCEPT_LANGUAGE="ar"), people["investigator"])
    inv.get(f"/cases/{small.pk}/")  # warm the session and the caches a first request fills
    audits = AuditEvent.objects.count()
    few, small_page = page_queries(inv, f"/cases/{small.pk}/")
    assert AuditEvent.objects.count() == audits + 1  # the one child's identity shown: one audit row
    audits = AuditEvent.objects.count()
    many, large_page = page_queries(inv, f"/cases/{large.pk}/")
    assert AuditEvent.objects.count() == audits + 4  # each child's identity shown is still audited
    # What the page shows is all there: the four children by name, the four suspects with
    # where else they appear, their steps, the tasks and the requests.
    for i in range(4):
        assert f"Mira{i}" in large_page and f"Shelter {i}" in large_page and f"Task {i}" in large_page
        assert 'id="suspect-' in large_page and f">S{i}<" in large_page
    assert large_page.count('data-legal="') == 4 and large_page.count('data-task="') == 4
    suspects = large_page.split('id="suspects"')[1].split('id="tasks"')[0]  # the hawk is also in the small case
    assert f'href="/cases/{small.pk}/"' in suspects and 'href="/reports/' in suspects
    assert f'href="/cases/{large.pk}/"' in small_page.split('id="suspects"')[1].split('id="tasks"')[0]
    # Only the audit row of each further child: the page looks nothing up per object.
    assert many <= few + 3, (few, many)
    assert few <= 31, few  # session 10 (32 before: the offered reports' clusters are now a subquery)


def test_my_work_asks_the_same_number_of_queries_for_one_or_many_cases(people) -> None:  # type: ignore[no-untyped-def]
    inv = login_verified(Client(HTTP_ACCEPT_LANGUAGE="ar"), people["investigator"])
    build_case(people, 1, title="First")
    inv.get("/cases/mine/")
    few, page = page_queries(inv, "/cases/mine/")
    assert "Task 0" in page and "ExampleChat" in page
    for k in range(4):
        build_case(people, 2, title=f"More {k}", nreports=1)
    many, page = page_queries(inv, "/cases/mine/")
    assert page.count("Task 1") == 4 and "More 3" in page
    assert many == few, (few, many)
    assert few <= 9, few  # one query per section of "my work" while it fits on a page


def test_my_work_shows_a_page_of_each_section_with_its_count_and_a_link_to_the_rest(people, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A person with 1,000 cases sees the first rows of each section (what is due first,
    the nearest deadlines first), how many there are, and a link to the next ones —
    the page does not grow with their cases (session 10: it rendered every row)."""
    monkeypatch.setattr(selectors, "MY_WORK_PAGE", 2)
    for k in range(3):
        build_case(people, 1, title=f"Paged {k}", nreports=1)
    inv = login_verified(Client(HTTP_ACCEPT_LANGUAGE="ar"), people["investigator"])
    inv.get("/cases/mine/")
    few, page = page_queries(inv, "/cases/mine/")
    mine = page.split('id="my-cases"')[1]
    assert '<span class="count">3</span>' in mine and mine.count("Paged ") == 2 and "Paged 2" not in mine
    assert 'href="?cases=2#my-cases"' in mine and 'rel="prev"' not in mine
    due = page.split('id="due"')[1].split('id="my-referrals"')[0]  # the three "Task 0", without a date
    assert '<span class="count">3</span>' in due and due.count('data-task="') == 2 and 'href="?due=2#due"' in due
    legal = page.split('id="my-legal"')[1].split('id="my-cases"')[0]  # three overdue requests
    assert '<span class="count">3</span>' in legal and legal.count("ExampleChat") == 2
    # The next page of one section: the rest of it, a link back, the other sections as they were.
    rest = inv.get("/cases/mine/?cases=2").content.decode()
    mine = rest.split('id="my-cases"')[1]
    assert mine.count("Paged ") == 1 and "Paged 2" in mine and 'href="?cases=1#my-cases"' in mine and 'rel="next"' not in mine
    assert rest.split('id="due"')[1].split('id="my-referrals"')[0].count('data-task="') == 2
    assert inv.get("/cases/mine/?cases=99&due=x").status_code == 200  # a page past the end, or not a number: no error
    # Twice as many cases: the same number of queries, the same number of rows.
    for k in range(3, 6):
        build_case(people, 1, title=f"Paged {k}", nreports=1)
    many, page = page_queries(inv, "/cases/mine/")
    assert '<span class="count">6</span>' in page.split('id="my-cases"')[1] and page.count('data-task="') == 2
    assert many == few, (few, many)
    assert few <= 12, few  # and its count for each full section (three here)


def test_the_case_page_shows_the_latest_timeline_events_and_the_whole_timeline_on_request(people, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A case's timeline grows all its life: the page shows its latest events, says how
    many earlier ones there are, and shows them all when asked."""
    from himaya.cases import views
    from himaya.cases.models import TimelineEvent

    monkeypatch.setattr(views, "TIMELINE_SHOWN", 3)
    case = build_case(people, 1)
    events = list(TimelineEvent.objects.filter(case=case).order_by("at", "id").values_list("type", flat=True))
    assert len(events) > 3
    inv = login_verified(Client(HTTP_ACCEPT_LANGUAGE="ar"), people["investigator"])
    timeline = inv.get(f"/cases/{case.pk}/").content.decode().split('id="timeline"')[1]
    shown = [chunk.split('"')[0] for chunk in timeline.split('<li data-type="')[1:]]
    assert shown == events[-3:]
    earlier = timeline.split('id="timeline-earlier"')[1].split("</p>")[0]
    assert f"{len(events) - 3} " in earlier and 'href="?timeline=all#timeline"' in earlier
    whole = inv.get(f"/cases/{case.pk}/?timeline=all").content.decode().split('id="timeline"')[1]
    assert [chunk.split('"')[0] for chunk in whole.split('<li data-type="')[1:]] == events and 'id="timeline-earlier"' not in whole
