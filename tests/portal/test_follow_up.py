"""The receipt opens the report's status and conversation, and nothing else does;
staff read and answer from the report page, audited, by role and unit."""
from __future__ import annotations

import pytest
from django.test import Client

from himaya.accounts.services import user_create
from himaya.audit.models import AuditEvent
from himaya.portal import crypto
from himaya.portal.models import PortalMessage, PortalSubmission
from himaya.reports.models import Report
from tests.auth_helpers import login_verified
from tests.portal.conftest import TOKEN, form_fields, receipt_of, submit

PASSWORD = "staff-password-1"


@pytest.fixture
def sent(db, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(Client(), form_fields(contact_choice="contact", name="Sami Example", phone="+970599000123", email="sami@example.com"))
    return Report.objects.get(), receipt_of(response)


def staff_member(report, role: str, unit_code: str | None = None):  # type: ignore[no-untyped-def]
    user = user_create(username=f"{role}-{unit_code or 'own'}", password=PASSWORD, roles=[role], unit_code=unit_code or report.unit.code)
    return user, login_verified(Client(), user)


def open_with(client: Client, receipt: str):  # type: ignore[no-untyped-def]
    return client.post("/portal/follow-up/", {"receipt": receipt})


def test_the_right_receipt_shows_status_and_messages_a_wrong_one_nothing(sent) -> None:  # type: ignore[no-untyped-def]
    report, receipt = sent
    analyst, staff = staff_member(report, "intake_analyst")
    staff.post(f"/portal/staff/{report.pk}/reply/", {"text": "Thank you for telling us. You did the right thing. شكرًا لك"})

    child = Client()
    # Spaces, dashes and Arabic-Indic digits are the same code.
    typed = "-".join(receipt[i:i + 4] for i in range(0, 16, 4)).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    page = open_with(child, typed)
    assert page.status_code == 200 and page.cookies == {}
    html = page.content.decode()
    assert "كتب لك فريقنا" in html  # "our team has written to you"
    assert "You did the right thing. شكرًا لك" in html
    assert analyst.username not in html  # the reporter never learns who answered

    wrong = str((int(receipt) + 1) % 10**16).zfill(16)
    for attempt in (wrong, "", "1234", "x" * 60):
        page = open_with(Client(), attempt)
        assert page.status_code == 404
        assert "You did the right thing" not in page.content.decode() and 'name="token"' not in page.content.decode()


def test_the_child_replies_and_staff_read_it_on_the_report_page(sent) -> None:  # type: ignore[no-untyped-def]
    report, receipt = sent
    child = Client()
    token = TOKEN.search(open_with(child, receipt).content.decode()).group(1)
    page = child.post("/portal/follow-up/reply/", {"token": token, "text": "He wrote again tonight."})
    assert page.status_code == 200 and "He wrote again tonight." in page.content.decode()
    assert child.post("/portal/follow-up/reply/", {"token": token[:-4] + "AAAA", "text": "forged"}).status_code == 403

    _, staff = staff_member(report, "child_protection")
    # The report page says a message waits, without opening it: rendering reads only.
    html = staff.get(f"/reports/{report.pk}/").content.decode()
    assert 'id="portal"' in html and "He wrote again tonight." not in html and "ينتظر المُبلِّغ ردًا" in html
    assert not AuditEvent.objects.filter(action="portal.messages_viewed", target_id=str(report.pk)).exists()
    assert PortalSubmission.objects.get(report=report).seen_by_unit_at is None
    assert "قرأ شخص من فريقنا" not in open_with(Client(), receipt).content.decode()
    # Opening the conversation is the read: audited, and the child's page then says so.
    html = staff.get(f"/portal/staff/{report.pk}/").content.decode()
    assert "He wrote again tonight." in html
    assert "+970599000123" not in html  # the contact is one more, audited, click away
    assert AuditEvent.objects.filter(action="portal.messages_viewed", target_id=str(report.pk)).count() == 1
    contact = staff.get(f"/portal/staff/{report.pk}/contact/")
    assert contact.status_code == 200 and "+970599000123" in contact.content.decode()
    assert AuditEvent.objects.filter(action="portal.identity_viewed", target_id=str(report.pk)).count() == 1
    # Once a person has read it, the child's page says so.
    assert "كتب لك" not in open_with(Client(), receipt).content.decode()
    assert "قرأ شخص من فريقنا" in open_with(Client(), receipt).content.decode()


def test_roles_and_units(sent) -> None:  # type: ignore[no-untyped-def]
    report, _ = sent
    _, investigator = staff_member(report, "investigator")
    html = investigator.get(f"/reports/{report.pk}/").content.decode()
    assert 'id="portal"' in html and "Sami Example" not in html
    assert investigator.post(f"/portal/staff/{report.pk}/reply/", {"text": "hi"}).status_code == 403
    assert investigator.get(f"/portal/staff/{report.pk}/").status_code == 403
    assert investigator.get(f"/portal/staff/{report.pk}/contact/").status_code == 403
    _, auditor = staff_member(report, "auditor")
    assert auditor.get(f"/portal/staff/{report.pk}/contact/").status_code == 403
    _, other = staff_member(report, "supervisor", unit_code="other-unit")
    assert other.post(f"/portal/staff/{report.pk}/reply/", {"text": "hi"}).status_code == 404
    assert other.get(f"/portal/staff/{report.pk}/contact/").status_code == 404
    assert other.get(f"/portal/staff/{report.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(action="portal.messages_viewed").exists()
    assert PortalMessage.objects.count() == 0
    assert Client().get(f"/portal/staff/{report.pk}/contact/").status_code == 302  # to the login


def test_staff_reply_needs_the_second_factor(sent) -> None:  # type: ignore[no-untyped-def]
    report, _ = sent
    user = user_create(username="half-logged", password=PASSWORD, roles=["intake_analyst"], unit_code=report.unit.code)
    client = Client()
    client.force_login(user)  # password only
    assert client.post(f"/portal/staff/{report.pk}/reply/", {"text": "hi"}).status_code == 302
    assert client.get(f"/portal/staff/{report.pk}/contact/").status_code == 302
    assert client.get(f"/portal/staff/{report.pk}/").status_code == 302
    assert PortalMessage.objects.count() == 0


def test_wrong_receipts_from_one_address_are_throttled(sent, fixed_window) -> None:  # type: ignore[no-untyped-def]
    report, receipt = sent
    client = Client(REMOTE_ADDR="203.0.113.50")
    statuses = [open_with(client, str(n).zfill(16)).status_code for n in range(100)]
    assert statuses[:10] == [404] * 10 and set(statuses[10:]) == {429}
    # Even the right code waits; another address is not held back.
    assert open_with(client, receipt).status_code == 429
    assert open_with(Client(REMOTE_ADDR="198.51.100.9"), receipt).status_code == 200


def test_receipt_is_random_and_derived_keys_differ() -> None:
    receipts = {crypto.receipt_new() for _ in range(200)}
    assert len(receipts) == 200 and all(len(r) == 16 and r.isdigit() for r in receipts)
