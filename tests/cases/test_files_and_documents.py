"""What issue 14 asked for beyond the workflow: case attachments encrypted like
media (upload, download, audit, a size limit), the legal request as a document in
Arabic and English from the report's own data, the timeline exported for the
court file, a P1 case's first action due within the tier's service target, the
deadline form, and the queue and reports list showing case, assignee and due time
in a fixed number of queries."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.cases import services
from himaya.cases.models import Attachment, Case, EventType, Task
from himaya.reports.models import IpCaptureEvent
from tests.auth_helpers import login_verified
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db

SECRET = b"WARRANT-TEXT-" + b"x" * 200 + b"-only-in-the-attachment"


def browser(user, language: str = "ar") -> Client:  # type: ignore[no-untyped-def]
    client = login_verified(Client(), user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _case(people, reports) -> Case:  # type: ignore[no-untyped-def]
    case = services.case_open(actor=people["supervisor"], title="files", report_ids=[reports[0].id, reports[1].id])
    services.case_assign(actor=people["supervisor"], case=case, usernames=["investigator", "prosecutor"])
    return case


def _stored_files() -> list[Path]:
    root = Path(settings.HIMAYA_MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- attachments ---------------------------------------------------------------------------------------------------

def test_an_attachment_is_stored_encrypted_downloaded_whole_and_every_download_audited(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = _case(people, reports)
    inv = browser(people["investigator"])
    r = inv.post(f"/cases/{case.pk}/attachments/", {"description": "مذكرة التفتيش", "file": SimpleUploadedFile("warrant.txt", SECRET)})
    assert r.status_code == 302
    attachment = Attachment.objects.get(case=case)
    assert (attachment.name, attachment.size) == ("warrant.txt", len(SECRET))
    # On disk: only ciphertext, under a keyed address (nothing in the store reads as the content).
    assert not any(SECRET[:40] in p.read_bytes() for p in _stored_files())
    page = inv.get(f"/cases/{case.pk}/").content.decode()
    assert f'data-attachment="{attachment.pk}"' in page and "warrant.txt" in page and "مذكرة التفتيش" in page
    assert case.timeline.filter(type=EventType.ATTACHMENT_ADDED).exists()

    download = inv.get(f"/cases/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == SECRET
    assert download["Content-Type"] == "application/octet-stream" and "attachment;" in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action=AuditAction.CASE_ATTACHMENT_DOWNLOADED, actor="user:investigator").count() == 1
    # The auditor sees that the file exists, not what it says; another unit does not see it at all.
    assert browser(people["auditor"]).get(f"/cases/attachments/{attachment.pk}/").status_code == 403
    assert browser(people["other"]).get(f"/cases/attachments/{attachment.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.CASE_ATTACHMENT_DOWNLOADED).count() == 1


def test_a_file_over_the_limit_or_empty_is_refused_clearly_and_leaves_nothing(people, reports, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_MAX_ATTACHMENT_BYTES = 1024 * 1024
    case = _case(people, reports)
    inv = browser(people["investigator"], "en")
    before = set(_stored_files())
    r = inv.post(f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("big.bin", b"\0" * (1024 * 1024 + 1))}, follow=True)
    assert "The file is too large: at most 1 MB." in r.content.decode()
    r = inv.post(f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("empty.txt", b"")}, follow=True)
    assert "The file is empty." in r.content.decode()
    assert not Attachment.objects.exists() and set(_stored_files()) == before


def test_attachments_through_the_api_with_json_errors(people, reports, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_MAX_ATTACHMENT_BYTES = 4096
    case = _case(people, reports)
    inv = browser(people["investigator"], "en")
    r = inv.post(f"/api/v1/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("answer.pdf", SECRET), "description": "provider answer"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["name"], body["size"], body["uploaded_by"]) == ("answer.pdf", len(SECRET), "investigator")
    assert inv.get(f"/api/v1/cases/{case.pk}/attachments/").json()[0]["id"] == body["id"]
    content = inv.get(f"/api/v1/attachments/{body['id']}/content/")
    assert b"".join(content.streaming_content) == SECRET
    r = inv.post(f"/api/v1/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("big.bin", b"1" * 5000)})
    assert r.status_code == 400 and r.json()["detail"] == "The file is too large: at most 0 MB."
    r = inv.post(f"/api/v1/cases/{case.pk}/attachments/", {"description": "no file"})
    assert r.status_code == 400 and "file" in r.json()["detail"]
    assert browser(people["cp"], "en").post(f"/api/v1/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("c.txt", b"consent")}).status_code == 201
    assert browser(people["analyst"], "en").post(f"/api/v1/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("a.txt", b"a")}).status_code == 403
    assert browser(people["other"], "en").get(f"/api/v1/attachments/{body['id']}/").status_code == 404
    assert Attachment.objects.count() == 2


# --- the legal request's document --------------------------------------------------------------------------------

def test_the_legal_request_document_quotes_the_reports_accounts_and_ips_with_times_in_both_languages(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = _case(people, reports)
    at = datetime.datetime(2026, 11, 20, 21, 14, 5, tzinfo=datetime.UTC)
    IpCaptureEvent.objects.filter(report=reports[0]).update(at=at)
    legal = services.legal_request_create(actor=people["investigator"], case=case, provider="ExampleChat", kind="subscriber_data",
                                          legal_basis="المادة 12 من قرار بقانون الجرائم الإلكترونية", report_id=reports[0].id,
                                          sent_on=timezone.localdate(), due_on=timezone.localdate() + datetime.timedelta(days=10))
    inv = browser(people["investigator"])
    assert f'data-document="{legal.pk}"' in inv.get(f"/cases/{case.pk}/").content.decode()
    ar = inv.get(f"/cases/legal/{legal.pk}/document/?lang=ar").content.decode()
    en = inv.get(f"/cases/legal/{legal.pk}/document/?lang=en").content.decode()
    for doc in (ar, en):
        assert "ExampleChat" in doc and "hawk-1" in doc and "nighthawk77" in doc and "hawk@example.com" in doc
        assert "203.0.113.40" in doc and "2026-11-20 21:14:05" in doc and case.reference in doc
        assert "المادة 12" in doc and "hawk-2" not in doc  # the request's own report only
    assert 'dir="rtl"' in ar and "بيانات المشترك" in ar and "سند قانوني" not in en
    assert 'dir="ltr"' in en and "Subscriber data request to a provider" in en
    assert AuditEvent.objects.filter(action=AuditAction.LEGAL_REQUEST_DOCUMENT_EXPORTED).count() == 2
    # Who may not take a request out of the system gets 403; another unit 404.
    assert browser(people["cp"]).get(f"/cases/legal/{legal.pk}/document/").status_code == 403
    assert browser(people["other"]).get(f"/cases/legal/{legal.pk}/document/").status_code == 404
    with pytest.raises(services.CaseError):
        services.legal_request_create(actor=people["investigator"], case=case, provider="X", kind="content", legal_basis="b",
                                      report_id=reports[2].id)


def test_provider_answer_times_are_fields_for_statistics(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = _case(people, reports)
    legal = services.legal_request_create(actor=people["investigator"], case=case, provider="ExampleChat", kind="preservation",
                                          legal_basis="b", sent_on=timezone.localdate() - datetime.timedelta(days=6),
                                          due_on=timezone.localdate() - datetime.timedelta(days=1))
    assert legal.overdue
    page = browser(people["investigator"], "en").get("/cases/mine/").content.decode()
    assert "Overdue" in page and "ExampleChat" in page
    # The unit's overdue requests, on the cases list, for whoever follows the unit's cases (not another unit).
    listing = browser(people["prosecutor"], "en").get("/cases/").content.decode().split('id="overdue-legal"')[1]
    assert f'data-legal="{legal.pk}"' in listing and case.reference in listing
    assert f'data-legal="{legal.pk}"' not in browser(people["other"], "en").get("/cases/").content.decode()
    legal = services.legal_request_answer(actor=people["investigator"], request=legal, result="preserved")
    assert (legal.provider, legal.answer_days, legal.overdue) == ("ExampleChat", 6, False)
    assert f'data-legal="{legal.pk}"' not in browser(people["prosecutor"], "en").get("/cases/").content.decode()


# --- the timeline for the court file ----------------------------------------------------------------------------

def test_the_timeline_exports_as_csv_and_a_printable_page_and_each_export_is_audited(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = _case(people, reports)
    services.case_set_status(actor=people["investigator"], case=case, status="investigating")
    pros = browser(people["prosecutor"])
    r = pros.get(f"/cases/{case.pk}/timeline.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = text.strip().splitlines()
    assert len(lines) == 1 + case.timeline.count()
    assert "الحالة" in text and "investigator" in text and "status_changed" in text
    printable = pros.get(f"/cases/{case.pk}/timeline/").content.decode()
    assert printable.count("<tr data-type=") == case.timeline.count() and 'dir="rtl"' in printable
    assert AuditEvent.objects.filter(action=AuditAction.CASE_TIMELINE_EXPORTED).count() == 2
    assert browser(people["cp"]).get(f"/cases/{case.pk}/timeline.csv").status_code == 403
    assert browser(people["other"]).get(f"/cases/{case.pk}/timeline.csv").status_code == 404


def test_a_csv_cell_never_starts_a_formula(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = services.case_open(actor=people["supervisor"], title="t", report_ids=[reports[2].id])
    services.task_create(actor=people["supervisor"], case=case, kind="other", title="=HYPERLINK(\"http://x\")")
    text = browser(people["supervisor"], "en").get(f"/cases/{case.pk}/timeline.csv").content.decode()
    assert "=HYPERLINK" in text and not re.search(r'(^|,)"?=HYPERLINK', text, re.M)


# --- a P1 case's first action ------------------------------------------------------------------------------------

def test_a_case_from_a_p1_report_gets_its_first_action_due_within_the_p1_target(people, unit) -> None:  # type: ignore[no-untyped-def]
    p1 = store(report_xml(suspect=Person(esp_id="urgent-1"), escalation="The child is in danger now"), unit=unit)
    assert p1.triage.effective_priority == "P1"
    before = timezone.now()
    case = services.case_open(actor=people["analyst"], title="P1", report_ids=[p1.id])
    task = Task.objects.get(case=case)
    assert task.due_at is not None and before + datetime.timedelta(minutes=60) <= task.due_at <= timezone.now() + datetime.timedelta(minutes=60)
    assert not task.overdue
    services.case_assign(actor=people["supervisor"], case=case, usernames=["investigator"])
    page = browser(people["investigator"], "en").get("/cases/mine/").content.decode()
    assert f'data-task="{task.pk}"' in page and timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") in page
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    page = browser(people["investigator"], "en").get("/cases/mine/").content.decode()
    overdue_section = page.split('id="overdue"')[1].split('id="due"')[0]
    assert f'data-task="{task.pk}"' in overdue_section


def test_a_case_without_a_p1_report_gets_no_first_action(people, reports) -> None:  # type: ignore[no-untyped-def]
    assert reports[2].triage.effective_priority != "P1"
    case = services.case_open(actor=people["analyst"], title="P3", report_ids=[reports[2].id])
    assert not Task.objects.filter(case=case).exists()


# --- deadline ---------------------------------------------------------------------------------------------------------

def test_the_deadline_is_set_and_removed_from_the_case_page_and_the_api(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = _case(people, reports)
    inv = browser(people["investigator"])
    assert 'id="deadline-form"' in inv.get(f"/cases/{case.pk}/").content.decode()
    assert inv.post(f"/cases/{case.pk}/deadline/", {"deadline": "2027-01-15"}).status_code == 302
    case.refresh_from_db()
    assert case.deadline == datetime.date(2027, 1, 15)
    r = inv.post(f"/cases/{case.pk}/deadline/", {"deadline": "15/01/2027"}, follow=True)
    assert "ليس تاريخًا" in r.content.decode() or "15/01/2027" in r.content.decode()
    r = inv.post(f"/api/v1/cases/{case.pk}/deadline/", {"deadline": None}, content_type="application/json")
    assert r.status_code == 200
    case.refresh_from_db()
    assert case.deadline is None and case.timeline.filter(type=EventType.DEADLINE_SET).count() == 2
    assert browser(people["cp"]).post(f"/cases/{case.pk}/deadline/", {"deadline": "2027-01-15"}).status_code == 403


# --- the queue and the reports list -----------------------------------------------------------------------------------

def _count_queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(url).content.decode()
    return len(ctx.captured_queries), body


def test_queue_reports_list_and_api_show_case_assignees_and_due_in_a_fixed_number_of_queries(people, reports, unit) -> None:  # type: ignore[no-untyped-def]
    case = _case(people, reports)
    services.task_create(actor=people["investigator"], case=case, kind="warrant", title="w", due=datetime.date(2027, 2, 3))
    sup = browser(people["supervisor"], "en")
    queries_small, queue = _count_queries(sup, "/triage/?reviewed=all")
    row = queue.split(f'data-report="{reports[0].id}"')[1].split("</tr>")[0]
    assert case.reference in row and "investigator" in row and "prosecutor" in row and "2027-02-03" in row
    other_row = queue.split(f'data-report="{reports[2].id}"')[1].split("</tr>")[0]
    assert "HMY-" not in other_row
    _, listing = _count_queries(sup, "/?status=all")
    row = listing.split(f'href="/reports/{reports[1].id}/"')[1].split("</tr>")[0]
    assert case.reference in row and "2027-02-03" in row
    api = sup.get("/api/v1/reports/").json()["results"]
    by_id = {r["id"]: r for r in api}
    assert (by_id[reports[0].id]["case"], by_id[reports[0].id]["case_assignees"], by_id[reports[0].id]["case_due"]) == (
        case.pk, ["investigator", "prosecutor"], "2027-02-03")
    assert by_id[reports[2].id]["case"] is None

    # Ten more reports, each in its own case with assignees and tasks: the pages ask no more questions.
    for i in range(10):
        r = store(report_xml(suspect=Person(esp_id=f"more-{i}")), unit=unit)
        c = services.case_open(actor=people["supervisor"], title=f"c{i}", report_ids=[r.id])
        services.case_assign(actor=people["supervisor"], case=c, usernames=["investigator"])
        services.task_create(actor=people["investigator"], case=c, kind="other", title="t", due=datetime.date(2027, 3, 1))
    queries_large, queue = _count_queries(sup, "/triage/?reviewed=all")
    assert queue.count("HMY-") >= 12
    assert queries_large == queries_small
    small_list, _ = _count_queries(sup, "/?status=all")
    assert small_list <= queries_small + 5


def test_the_upload_form_is_still_csrf_protected(people, reports) -> None:  # type: ignore[no-untyped-def]
    """The upload view swaps in the attachment's upload handler, so it checks CSRF itself."""
    case = _case(people, reports)
    client = login_verified(Client(enforce_csrf_checks=True), people["investigator"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    token = re.search(r'id="attachment-form">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post(f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("a.txt", b"no token")}).status_code == 403
    r = client.post(f"/cases/{case.pk}/attachments/", {"csrfmiddlewaretoken": token, "file": SimpleUploadedFile("a.txt", b"with token")})
    assert r.status_code == 302 and Attachment.objects.get().name == "a.txt"
