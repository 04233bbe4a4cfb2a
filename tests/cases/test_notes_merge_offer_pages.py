"""Issue 14 item 1 through the pages: notes, a report that joins the cluster later
offered on the case page, and merging two cases by reference."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from himaya.cases import services
from himaya.cases.models import Case, CaseReport, EventType, Note
from tests.auth_helpers import login_verified
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db


def browser(user, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
    client = login_verified(Client(), user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_notes_are_added_shown_with_author_and_refused_clearly(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = services.case_open(actor=people["analyst"], title="notes", report_ids=[reports[0].id])
    inv = browser(people["investigator"])
    assert inv.post(f"/cases/{case.pk}/notes/", {"text": "Guardian reached by phone; interview on Sunday."}).status_code == 302
    page = inv.get(f"/cases/{case.pk}/").content.decode()
    notes = page.split('id="notes"')[1].split("</section>")[0]
    assert "Guardian reached by phone; interview on Sunday." in notes and "investigator" in notes
    assert case.timeline.filter(type=EventType.NOTE_ADDED).count() == 1
    # The timeline says a note was added, never what it says.
    assert "Guardian" not in page.split('id="timeline"')[1]
    r = inv.post(f"/cases/{case.pk}/notes/", {"text": "   "}, follow=True)
    assert "The note is required." in r.content.decode() and Note.objects.count() == 1
    assert browser(people["cp"]).post(f"/cases/{case.pk}/notes/", {"text": "x"}).status_code == 403
    assert browser(people["other"]).post(f"/cases/{case.pk}/notes/", {"text": "x"}).status_code == 404


def test_a_report_joining_the_cluster_later_is_offered_on_the_case_page_and_added_with_one_click(people, reports, unit) -> None:  # type: ignore[no-untyped-def]
    case = services.case_open(actor=people["analyst"], title="offer", report_ids=[reports[0].id, reports[1].id])
    inv = browser(people["investigator"])
    assert 'action="/cases/%d/reports/"' % case.pk not in inv.get(f"/cases/{case.pk}/").content.decode()
    later = store(report_xml(suspect=Person(esp_id="hawk-9", emails=["hawk@example.com"])), unit=unit)
    page = inv.get(f"/cases/{case.pk}/").content.decode()
    offer = page.split('id="reports"')[1].split("</section>")[0]
    assert f'value="{later.id}"' in offer
    assert inv.post(f"/cases/{case.pk}/reports/", {"report": str(later.id)}).status_code == 302
    assert CaseReport.objects.get(report=later).case_id == case.pk
    assert f'value="{later.id}"' not in inv.get(f"/cases/{case.pk}/").content.decode().split('id="reports"')[1].split("</section>")[0]


def test_merge_two_cases_by_reference_from_the_case_page(people, reports) -> None:  # type: ignore[no-untyped-def]
    a = services.case_open(actor=people["analyst"], title="a", report_ids=[reports[0].id])
    b = services.case_open(actor=people["analyst"], title="b", report_ids=[reports[2].id])
    services.task_create(actor=people["investigator"], case=a, kind="search", title="search the flat")
    inv = browser(people["investigator"])
    r = inv.post(f"/cases/{a.pk}/merge/", {"into": b.reference})
    assert r.status_code == 302 and r["Location"] == f"/cases/{b.pk}/"
    a.refresh_from_db()
    assert (a.status, a.outcome, a.merged_into_id) == ("closed", "merged", b.pk)
    page = inv.get(f"/cases/{b.pk}/").content.decode()
    assert "search the flat" in page and f"#{reports[0].id}" in page and a.reference in page
    r = inv.post(f"/cases/{b.pk}/merge/", {"into": "HMY-1999-99999"}, follow=True)
    assert "No such case: HMY-1999-99999." in r.content.decode()
    assert Case.objects.get(pk=b.pk).status == "new"
