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
from himaya.cases import services
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
