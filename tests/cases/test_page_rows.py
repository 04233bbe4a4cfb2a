"""The rows that the queue, "my work" and the case page's timeline repeat are rendered
in Python (himaya/cases/templatetags/case_rows.py, himaya/triage/views.py,
bench/RESULTS.md session 11): they must show what the template loops showed, with
every value escaped, and the pages must not render template nodes per row again."""
from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection, reset_queries
from django.template.base import Node
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from himaya.cases import selectors, services, views
from himaya.cases.models import LegalRequestKind, ReferralKind, ReferralState, TaskKind
from himaya.triage.services import report_triage_override, report_triage_review
from tests.auth_helpers import login_verified
from tests.cases.test_page_queries import build_case
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db
NASTY = '<i>x</i> & "q"'
ESCAPED = "&lt;i&gt;x&lt;/i&gt; &amp; &quot;q&quot;"


@contextlib.contextmanager
def template_nodes() -> Iterator[list[int]]:
    """How many template nodes (tags and variables: text is not counted) a request renders."""
    count = [0]
    original = Node.render_annotated

    def counting(self: Node, context: Any) -> Any:
        count[0] += 1
        return original(self, context)

    with mock.patch.object(Node, "render_annotated", counting):
        yield count


def page(client: Client, url: str) -> tuple[str, int]:
    html, nodes, _ = page_and_queries(client, url)
    return html, nodes


def page_and_queries(client: Client, url: str) -> tuple[str, int, int]:
    reset_queries()
    with template_nodes() as count, CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), count[0], len(queries.captured_queries)


def browser(user: Any, language: str = "ar") -> Client:
    client = login_verified(Client(), user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_my_work_rows_show_each_field_escaped_in_arabic_and_render_no_nodes_per_row(people) -> None:  # type: ignore[no-untyped-def]
    inv, cp = people["investigator"], people["cp"]
    case = build_case(people, 1, title=NASTY)
    task = services.task_create(actor=inv, case=case, kind="search", title=NASTY, due=datetime.date(2031, 5, 6), assignee="investigator")
    services.task_create(actor=inv, case=case, kind="search", title="late", due=datetime.date(2020, 1, 1), assignee="investigator")
    victim = case.victims.get()
    services.referral_create(actor=cp, victim=victim, kind="health", service=NASTY, officer="investigator")
    services.legal_request_create(actor=inv, case=case, provider=NASTY, kind="subscriber_data", legal_basis="Art. 1", account="a",
                                  due_on=datetime.date(2031, 6, 7))
    client = browser(inv)
    html, few = page(client, "/cases/mine/")
    assert NASTY not in html and "<i>x</i>" not in html
    with translation.override("ar"):
        kinds = {str(TaskKind("search").label), str(ReferralKind("health").label), str(ReferralState("requested").label),
                 str(LegalRequestKind("subscriber_data").label)}
    due = html.split('id="due"')[1].split('id="my-referrals"')[0]
    row = due.split(f'data-task="{task.pk}"')[1].split("</tr>")[0]
    assert (f'<a href="/cases/{case.pk}/#tasks"><bdi class="code">{case.reference}</bdi></a>' in row
            and f"<bdi>{ESCAPED}</bdi>" in row and str(TaskKind("search").label) != "search" and '<bdi dir="ltr">2031-05-06</bdi>' in row)
    referrals = html.split('id="my-referrals"')[1].split('id="my-legal"')[0]
    assert f'<a href="/cases/{case.pk}/#victim-{victim.pk}">' in referrals and f"<bdi>{ESCAPED}</bdi>" in referrals
    legal = html.split('id="my-legal"')[1].split('id="my-cases"')[0]
    assert f'<a href="/cases/{case.pk}/#legal">' in legal and f"<bdi>{ESCAPED}</bdi>" in legal and '<bdi dir="ltr">2031-06-07</bdi>' in legal
    assert '<li class="overdue">' in legal  # build_case's request was due yesterday
    mine = html.split('id="my-cases"')[1]
    assert f'<a href="/cases/{case.pk}/"><bdi class="code">{case.reference}</bdi></a> · <bdi>{ESCAPED}</bdi>' in mine
    assert all(k in html for k in kinds)  # the choices' labels, in Arabic
    assert '<tr data-task="' in html.split('id="overdue"')[1].split('id="due"')[0]  # every section has rows: the same branches below
    # More rows in every section: the same number of template nodes (the rows are one tag per section).
    for k in range(3):
        more = build_case(people, 2, title=f"More {k}")
        services.referral_create(actor=cp, victim=more.victims.first(), kind="shelter", service="s", officer="investigator")
    html, many = page(client, "/cases/mine/")
    assert html.count('data-task="') > 4 and html.count("More ") == 3
    assert many == few, (few, many)


def test_the_timeline_renders_no_nodes_per_event(people, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(views, "TIMELINE_SHOWN", 1000)
    case = build_case(people, 1)
    client = browser(people["investigator"])
    client.get(f"/cases/{case.pk}/")
    html, few, asked = page_and_queries(client, f"/cases/{case.pk}/")
    shown = html.split('<ol class="timeline">')[1].split("</ol>")[0]
    events = shown.count("<li data-type=")
    for i in range(5):
        services.case_add_note(actor=people["investigator"], case=case, text=f"{NASTY} {i}")
    html, many, asked_with_notes = page_and_queries(client, f"/cases/{case.pk}/")
    # Notes and their authors in one query (session 10: a second one for the authors once there were notes).
    assert asked_with_notes == asked, (asked, asked_with_notes)
    shown = html.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert shown.count('<li data-type="note_added">') == 5 and shown.count("<li data-type=") == events + 5
    assert re.search(r'<li data-type="note_added"><bdi dir="ltr" class="muted">\d{4}-\d\d-\d\d \d\d:\d\d</bdi> · <bdi>investigator</bdi> · ', shown)
    notes = html.split('id="notes"')[1].split('id="timeline"')[0]
    assert notes.count(ESCAPED) == 5 and NASTY not in html
    # Five notes and their five events: only the notes section adds nodes (three a note), the timeline none.
    assert many - few <= 5 * 3, (few, many)  # a note: its text, author and time


def test_queue_rows_show_each_field_escaped_and_render_a_bounded_number_of_nodes(people, unit) -> None:  # type: ignore[no-untyped-def]
    sup = people["supervisor"]
    first = store(report_xml(suspect=Person(esp_id="row-0")), unit=unit)
    case = services.case_open(actor=sup, title="rows", report_ids=[first.id])
    services.case_assign(actor=sup, case=case, usernames=["investigator", "prosecutor"])
    services.task_create(actor=sup, case=case, kind="other", title="t", due=datetime.date(2030, 1, 2))
    report_triage_override(report_id=first.id, actor=sup, reason="r", priority="P1")
    client = browser(sup)
    html, few = page(client, "/triage/?reviewed=all")
    row = html.split(f'<tr class="queue-row is-p1" data-report="{first.id}">')[1].split("</tr>")[0]
    with translation.override("ar"):
        label = f"Select report {first.id}"
        select = translation.gettext("Select report %(id)s") % {"id": first.id}
        comma, changed = translation.gettext(", "), translation.gettext("changed by a person")
    assert select != label and f'<input type="checkbox" name="reports" value="{first.id}" aria-label="{select}">' in row
    assert '<span class="tier tier--P1"' in row and f'<span class="badge--override">{changed}</span>' in row
    assert f'<a class="report-link" href="/reports/{first.id}/#triage"><bdi>{first.id}</bdi></a>' in row
    assert (f'<a href="/cases/{case.pk}/" data-case-ref="{case.reference}"><bdi class="code">{case.reference}</bdi></a>\n'
            f'<span class="small"><bdi>investigator</bdi>{comma}<bdi>prosecutor</bdi></span>\n') in row and "2030-01-02" in row
    # Reviewed: its chip, in the list of all.
    report_triage_review(report_ids=[first.id], actor=sup)
    row = client.get("/triage/?reviewed=all").content.decode().split(f'data-report="{first.id}"')[1].split("</tr>")[0]
    with translation.override("ar"):
        assert f'<span class="chip">{translation.gettext("Reviewed")}</span>' in row or "badge--overdue" in row
    # An investigator does not triage: no checkbox.
    inv_row = browser(people["investigator"]).get("/triage/?reviewed=all").content.decode().split(f'data-report="{first.id}"')[1]
    assert 'type="checkbox"' not in inv_row.split("</tr>")[0]
    # Nine more rows: at most the loop's own nodes per row (the row, its case), not the row's fields.
    for i in range(9):
        store(report_xml(suspect=Person(esp_id=f"row-{i + 1}")), unit=unit)
    html, many = page(client, "/triage/?reviewed=all")
    assert html.count('class="queue-row') == 10
    assert many - few <= 9 * 2, (few, many)


def test_a_value_in_the_queue_row_is_escaped(people, unit, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Jurisdiction and reasons come from data (a region from a provider's report): escaped."""
    from himaya.triage import views as triage_views

    report = store(report_xml(suspect=Person(esp_id="esc")), unit=unit)
    original = triage_views._queue_row

    def nasty(*args: Any, **kwargs: Any) -> dict[str, Any]:
        row = original(*args, **kwargs)
        return {**row, "decision": NASTY, "country": NASTY, "region": NASTY, "reasons": [NASTY], "cluster_url": "/triage/?a=1&b=2",
                "cluster": NASTY}

    monkeypatch.setattr(triage_views, "_queue_row", nasty)
    html = browser(people["supervisor"]).get("/triage/?reviewed=all").content.decode()
    row = html.split(f'data-report="{report.id}"')[1].split("</tr>")[0]
    assert NASTY not in html and "<i>x</i>" not in html
    assert f"<td>{ESCAPED} <bdi>({ESCAPED} · {ESCAPED})</bdi></td>" in row and f'<span class="chip">{ESCAPED}</span>' in row
    assert f'<a href="/triage/?a=1&amp;b=2"><bdi>{ESCAPED}</bdi></a>' in row


def test_the_case_page_reads_its_lists_without_prefetching_them(people) -> None:  # type: ignore[no-untyped-def]
    """The page's lists are the same rows as the API's prefetched case (case_detail_prefetched)."""
    case = build_case(people, 2)
    services.case_add_note(actor=people["investigator"], case=case, text="n")
    full = selectors.case_detail_prefetched(case)
    _, lists = selectors.case_page_prefetched(selectors.case_get_for_user(user=people["investigator"], case_id=case.pk))
    assert lists["report_ids"] == selectors.case_report_ids(full)
    for name, related in (("tasks", "tasks"), ("legal_requests", "legal_requests"), ("attachments", "attachments"),
                          ("timeline", "timeline"), ("notes", "notes")):
        assert [o.pk for o in lists[name]] == [o.pk for o in getattr(full, related).all()], name
