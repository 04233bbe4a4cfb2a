"""The case pages in Arabic: opened from the queue's cluster in one click, the child
first on the case page, every step through the forms lands on the timeline, "my
work" shows what is due and overdue; other units' cases do not exist."""
from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from himaya.cases.models import Case, Referral, Suspect, Task, Victim
from himaya.linking.models import ReportLinkage
from himaya.reports.models import Party
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db


def browser(user) -> Client:  # type: ignore[no-untyped-def]
    return login_verified(Client(HTTP_ACCEPT_LANGUAGE="ar"), user)


def test_the_queue_offers_opening_a_case_only_to_roles_that_may(people, reports) -> None:  # type: ignore[no-untyped-def]
    cluster = ReportLinkage.objects.get(report=reports[0]).unit_cluster_id
    url = f"/triage/?cluster={cluster}&reviewed=all"
    assert 'id="open-case"' in browser(people["analyst"]).get(url).content.decode()
    assert 'id="open-case"' not in browser(people["cp"]).get(url).content.decode()
    assert 'id="open-case"' not in browser(people["analyst"]).get("/triage/?reviewed=all").content.decode()
    r = browser(people["cp"]).post("/cases/open/", {"cluster": cluster})
    assert r.status_code == 403 and not Case.objects.exists()


def test_walk_a_case_through_the_pages_in_arabic(people, reports) -> None:  # type: ignore[no-untyped-def]
    cluster = ReportLinkage.objects.get(report=reports[0]).unit_cluster_id
    analyst, sup, inv, cp, pros = (browser(people[n]) for n in ("analyst", "supervisor", "investigator", "cp", "prosecutor"))
    r = analyst.post("/cases/open/", {"cluster": cluster, "title": "صقر الليل"})
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/cases/{case.pk}/"
    base = f"/cases/{case.pk}"
    assert sup.post(f"{base}/assign/", {"users": ["investigator", "prosecutor"]}).status_code == 302
    inv.post(f"{base}/status/", {"status": "investigating"})
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    inv.post(f"{base}/tasks/", {"kind": "preservation_request", "title": "طلب حفظ البيانات", "due": yesterday, "assignee": "investigator"})
    inv.post(f"{base}/legal/", {"kind": "preservation", "provider": "ExampleChat", "legal_basis": "المادة 12", "account": "hawk-1",
                                "sent_on": yesterday, "due_on": yesterday})
    work = inv.get("/cases/mine/").content.decode()
    assert "طلب حفظ البيانات" in work and 'id="overdue"' in work
    overdue = work[work.index('id="overdue"'):work.index('id="due"')]
    assert "طلب حفظ البيانات" in overdue
    legal = case.legal_requests.get()
    inv.post(f"/cases/legal/{legal.pk}/answer/", {"result": "preserved", "answer": "حُفظت 90 يوماً"})
    party = Party.objects.get(report=reports[0], role="reported")
    inv.post(f"{base}/suspects/from-party/", {"party": party.pk})
    suspect = Suspect.objects.get()
    for step, basis in (("identified", ""), ("arrested", "أمر قبض 7/2026"), ("charged", "لائحة اتهام 3/2026")):
        inv.post(f"/cases/suspects/{suspect.pk}/status/", {"status": step, "legal_basis": basis})
    cp.post(f"{base}/victims/", {"identification": "identified", "first_name": "ميرا", "last_name": "مثالية", "date_of_birth": "2014-05-06",
                                 "age_range": "9-12", "sex": "female", "report": [reports[0].id]})
    victim = Victim.objects.get()
    cp.post(f"/cases/victims/{victim.pk}/", {"identification": "located"})
    for kind, service in (("shelter", "دار الأمان (مثال)"), ("psychological", "مركز الإرشاد (مثال)")):
        cp.post(f"/cases/victims/{victim.pk}/referrals/", {"kind": kind, "service": service, "officer": "cp"})
    shelter = Referral.objects.get(kind="shelter")
    for state in ("accepted", "in_progress"):
        cp.post(f"/cases/referrals/{shelter.pk}/state/", {"state": state})
    cp.post(f"/cases/victims/{victim.pk}/", {"identification": "safeguarded"})
    for status in ("prosecution", "court"):
        pros.post(f"{base}/status/", {"status": status})
    r = pros.post(f"{base}/status/", {"status": "closed", "outcome": "convicted"})
    assert r.status_code == 302
    case.refresh_from_db()
    suspect.refresh_from_db()
    victim.refresh_from_db()
    assert (case.status, case.outcome, suspect.status, victim.identification) == ("closed", "convicted", "charged", "safeguarded")
    assert Task.objects.get().overdue

    page = pros.get(f"{base}/").content.decode()
    order = [page.index(f'id="{s}"') for s in ("victims", "suspects", "tasks", "legal", "reports", "timeline")]
    assert order == sorted(order)  # the child first
    assert "ميرا" in page  # the assigned prosecutor sees the name
    assert "قضية" in page or "القضية" in page
    timeline = page[page.index('id="timeline"'):]
    types = re.findall(r'data-type="([a-z_]+)"', timeline)
    for expected in ("case_opened", "assigned", "status_changed", "task_created", "legal_request_created", "legal_request_answered",
                     "suspect_added", "suspect_status", "victim_added", "victim_identification", "referral_created", "referral_moved"):
        assert expected in types, expected
    assert "investigator" in timeline and "prosecutor" in timeline  # by whom

    analyst_page = analyst.get(f"{base}/").content.decode()
    assert "ميرا" not in analyst_page and "2014-05-06" not in analyst_page


def test_refused_moves_come_back_as_a_message_and_other_units_see_nothing(people, reports) -> None:  # type: ignore[no-untyped-def]
    inv = browser(people["investigator"])
    from himaya.cases import services as S

    case = S.case_open(actor=people["analyst"], title="x", report_ids=[reports[0].id])
    r = inv.post(f"/cases/{case.pk}/status/", {"status": "court"}, follow=True)
    assert r.status_code == 200 and 'class="message message--error"' in r.content.decode()
    case.refresh_from_db()
    assert case.status == "new"
    other = browser(people["other"])
    assert other.get(f"/cases/{case.pk}/").status_code == 404
    assert other.post(f"/cases/{case.pk}/status/", {"status": "investigating"}).status_code == 404
    assert case.reference not in other.get("/cases/?status=all").content.decode()


def test_demo_has_cases_at_every_stage(db) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command

    call_command("demo", "--reports", "12")
    assert sorted(Case.objects.values_list("status", flat=True)) == sorted(["new", "investigating", "prosecution", "court", "closed"])
    closed = Case.objects.get(status="closed")
    assert closed.outcome == "convicted" and closed.suspects.get().status == "convicted"
    assert closed.victims.get().identification == "safeguarded"
    from himaya.accounts.models import User

    page = login_verified(Client(), User.objects.get(username="protection")).get(f"/cases/{closed.pk}/").content.decode()
    assert "مريم" in page  # the closed case's child, by name, to child protection
    call_command("demo", "--reports", "12")
    assert Case.objects.count() == 5
