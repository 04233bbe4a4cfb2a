"""Issue 14's "done when", in a real headless Chromium, in Arabic, through the pages
only, each step by the role whose job it is (SPEC §1): a P1 report in the queue →
a case opened from its cluster (intake analyst) → an investigator assigned
(supervisor) → a preservation request sent and answered, the suspect identified,
arrested and charged (investigator) → the victim identified, located, referred to a
shelter and to psychological care, safeguarded (child-protection officer) → the case
referred to prosecution (investigator) → in court → closed with an outcome
(prosecutor). The timeline shows each step, by whom, when."""
from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in, page  # noqa: F401  (the page fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]

PASSWORD = "walk-the-case-2026"


def _submit(page, locator) -> None:  # type: ignore[no-untyped-def]
    """Send a form and wait for the page it lands on; the page says it was done."""
    with page.expect_navigation():
        locator.click()
    assert page.locator(".message--error").count() == 0, page.locator(".message--error").all_inner_texts()
    assert page.locator(".message--success").is_visible()


def _log_in(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    """Log in again as a person would: a code the authenticator already gave is refused
    (replay), so wait for its next code when the last one was used in this time step."""
    from himaya.accounts.models import AuthenticatorDevice

    device = AuthenticatorDevice.objects.filter(user__username=username).first()
    if device is not None:
        now = time.time()
        if device.last_t >= int(now // device.step) + 1:
            time.sleep(device.step - now % device.step + 0.5)
    log_in(page, live_server, username, PASSWORD)


def _log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="تسجيل الخروج").click()
    page.wait_for_url("**/accounts/login/**")


@pytest.mark.django_db(transaction=True)
def test_a_p1_report_walks_to_a_safeguarded_child_and_a_closed_case_in_arabic(live_server, page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from himaya.accounts.services import unit_get_or_create, user_create
    from himaya.cases.models import Case, EventType, Suspect, Victim
    from himaya.linking.models import ReportLinkage
    from tests.linking.factory import Person, report_xml, store

    unit = unit_get_or_create(code="unit-walk")
    for name, role in (("analyst", "intake_analyst"), ("chief", "supervisor"), ("detective", "investigator"),
                       ("prosecutor", "prosecutor"), ("protector", "child_protection")):
        user_create(username=name, password=PASSWORD, roles=[role], unit_code="unit-walk")
    hawk = dict(emails=["hawk@example.com"], ips=[("203.0.113.40", False)])
    p1 = store(report_xml(suspect=Person(esp_id="hawk-1", screen_name="nighthawk77", **hawk), victim_age=12,
                          escalation="Child in imminent danger"), unit=unit)
    store(report_xml(suspect=Person(esp_id="hawk-2", **hawk)), unit=unit)
    assert p1.triage.effective_priority == "P1"
    cluster = ReportLinkage.objects.get(report=p1).unit_cluster_id
    today = timezone.localdate().isoformat()
    base = live_server.url

    # The intake analyst finds the P1 report at the top of the queue and opens a case from its cluster.
    _log_in(page, live_server, "analyst")
    page.goto(f"{base}/triage/?priority=P1&reviewed=all")
    row = page.locator(f'tr[data-report="{p1.id}"]')
    assert row.locator(".tier").inner_text() == "P1"
    row.locator(f'a[href*="cluster={cluster}"]').click()
    page.wait_for_url(f"**/triage/?cluster={cluster}**")
    page.get_by_label("عنوان القضية").fill("صقر الليل")
    _submit(page, page.get_by_role("button", name="فتح قضية من هذه المجموعة"))
    case = Case.objects.get(title="صقر الليل")
    assert page.get_by_role("heading", level=1).inner_text().startswith(case.reference)
    # Opened from a P1 report: its first action is already there, due within the hour.
    assert page.locator("#tasks tbody tr").count() == 1
    _log_out(page)

    # The supervisor gives the case to the investigator, the prosecutor and the child-protection officer.
    _log_in(page, live_server, "chief")
    page.goto(f"{base}/cases/{case.pk}/")
    page.locator("#assign-users").select_option(["detective", "prosecutor", "protector"])
    _submit(page, page.get_by_role("button", name="حفظ المكلَّفين"))
    assert "detective" in page.locator("#assignees").inner_text()
    _log_out(page)

    # The investigator: under investigation, a preservation request sent and answered, the suspect taken in.
    _log_in(page, live_server, "detective")
    page.goto(f"{base}/cases/mine/")
    assert page.get_by_role("heading", level=1).inner_text() == "عملي"
    assert page.locator(f'a[href="/cases/{case.pk}/#tasks"]').count() == 1  # the P1 first action is in "my work"
    page.goto(f"{base}/cases/{case.pk}/")
    page.locator("#status-to").select_option("investigating")
    _submit(page, page.locator("#status-form button"))
    form = page.locator("#legal-form")
    form.locator('select[name="kind"]').select_option("preservation")
    form.locator('input[name="provider"]').fill("ExampleChat")
    form.locator('input[name="account"]').fill("hawk-1")
    form.locator('input[name="legal_basis"]').fill("المادة 33 من قانون الجرائم الإلكترونية")
    form.locator('input[name="sent_on"]').fill(today)
    form.locator("#lr-report").select_option(str(p1.id))
    _submit(page, page.get_by_role("button", name="تسجيل الطلب"))
    legal = page.locator("li[data-legal]")
    legal.locator('select[name="result"]').select_option("preserved")
    _submit(page, legal.get_by_role("button", name="تسجيل الرد"))
    page.goto(f"{base}{page.locator('a[data-document]').get_attribute('href')}")
    assert page.locator("html").get_attribute("dir") == "rtl" and "203.0.113.40" in page.content() and "hawk-1" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "himaya-legal-request-ar.png"), full_page=True)
    page.goto(f"{base}/cases/{case.pk}/")
    page.locator("#from-party").select_option(index=0)
    _submit(page, page.get_by_role("button", name="إضافة كمشتبه به"))
    suspect = Suspect.objects.get(case=case)
    for status, basis in (("identified", "تحديد هوية من بيانات المزوّد"), ("arrested", "مذكرة قبض رقم 12/2026"),
                          ("charged", "لائحة اتهام من النيابة")):
        card = page.locator(f'#suspect-{suspect.pk}')
        card.locator(f"#ss-{suspect.pk}").select_option(status)
        card.locator(f"#sb-{suspect.pk}").fill(basis)
        _submit(page, card.get_by_role("button", name="تسجيل"))
        assert page.locator(f'#suspect-{suspect.pk} [data-status="{status}"]').is_visible()
    _log_out(page)

    # The child-protection officer: the child first — identified, located, referred, safeguarded.
    _log_in(page, live_server, "protector")
    page.goto(f"{base}/cases/{case.pk}/")
    assert page.get_by_role("heading", level=2).first.inner_text().startswith("الضحايا")
    form = page.locator("#victim-form")
    form.locator("#nv-fn").fill("سلمى")
    form.locator("#nv-ln").fill("المختلَقة")
    form.locator("#nv-dob").fill("2014-03-09")
    form.locator("#nv-sex").select_option("female")
    _submit(page, page.get_by_role("button", name="إضافة الضحية"))
    victim = Victim.objects.get(case=case)
    card = page.locator(f"#victim-{victim.pk}")
    for step in ("identified", "located"):
        card = page.locator(f"#victim-{victim.pk}")
        card.locator(f"#ident-{victim.pk}").select_option(step)
        _submit(page, card.locator(f'form[action="/cases/victims/{victim.pk}/"] button'))
        assert page.locator(f'#victim-{victim.pk} [data-identification="{step}"]').is_visible()
    for kind, service in (("shelter", "دار رعاية الفتيات"), ("psychological", "مركز الدعم النفسي")):
        card = page.locator(f"#victim-{victim.pk}")
        card.locator(f"#rk-{victim.pk}").select_option(kind)
        card.locator(f"#rsvc-{victim.pk}").fill(service)
        _submit(page, card.get_by_role("button", name="طلب إحالة"))
    assert page.locator(f"#victim-{victim.pk} li[data-referral]").count() == 2
    card = page.locator(f"#victim-{victim.pk}")
    card.locator(f"#ident-{victim.pk}").select_option("safeguarded")
    _submit(page, card.locator(f'form[action="/cases/victims/{victim.pk}/"] button'))
    assert page.get_by_text("سلمى المختلَقة").is_visible()
    _log_out(page)

    # The investigator refers the case to prosecution.
    _log_in(page, live_server, "detective")
    page.goto(f"{base}/cases/{case.pk}/")
    page.locator("#status-to").select_option("prosecution")
    _submit(page, page.locator("#status-form button"))
    _log_out(page)

    # The prosecutor takes it to court and closes it with the court's outcome.
    _log_in(page, live_server, "prosecutor")
    page.goto(f"{base}/cases/{case.pk}/")
    page.locator("#status-to").select_option("court")
    _submit(page, page.locator("#status-form button"))
    page.locator("#status-to").select_option("closed")
    page.locator("#status-outcome").select_option("convicted")
    _submit(page, page.locator("#status-form button"))
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "convicted")
    assert page.locator('[data-status="closed"]').first.is_visible()

    # The timeline: each step, by whom, when.
    items = page.locator("#timeline li")
    lines = items.all_inner_texts()
    types = [items.nth(i).get_attribute("data-type") for i in range(items.count())]
    expected = [
        (EventType.CASE_OPENED, "analyst"), (EventType.TASK_CREATED, "analyst"), (EventType.ASSIGNED, "chief"),
        (EventType.STATUS_CHANGED, "detective"), (EventType.LEGAL_REQUEST_CREATED, "detective"),
        (EventType.LEGAL_REQUEST_ANSWERED, "detective"), (EventType.SUSPECT_ADDED, "detective"),
        (EventType.SUSPECT_STATUS, "detective"), (EventType.SUSPECT_STATUS, "detective"), (EventType.SUSPECT_STATUS, "detective"),
        (EventType.VICTIM_ADDED, "protector"), (EventType.VICTIM_IDENTIFICATION, "protector"),
        (EventType.VICTIM_IDENTIFICATION, "protector"), (EventType.REFERRAL_CREATED, "protector"),
        (EventType.REFERRAL_CREATED, "protector"), (EventType.VICTIM_IDENTIFICATION, "protector"),
        (EventType.STATUS_CHANGED, "detective"), (EventType.STATUS_CHANGED, "prosecutor"), (EventType.STATUS_CHANGED, "prosecutor"),
    ]
    walked = [(t, line) for t, line in zip(types, lines) if t not in (EventType.VICTIM_UPDATED,)]
    assert [t for t, _ in walked] == [str(t) for t, _ in expected], types
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
    for (t, line), (_, who) in zip(walked, expected):
        assert stamp.match(line) and f"· {who} ·" in line, line
    text = "\n".join(lines)
    for words in ("فُتحت القضية", "كُلِّف بها: detective", "طلب حفظ البيانات إلى ExampleChat", "حُفظت البيانات",
                  "← محدَّد الهوية", "← مقبوض عليه", "← موجَّه إليه الاتهام", "← محدَّدة الهوية", "← معروفة المكان",
                  "(إيواء) إلى دار رعاية الفتيات", "(رعاية نفسية) إلى مركز الدعم النفسي", "← في حماية / إيواء",
                  "إلى «محالة إلى النيابة العامة»", "إلى «أمام المحكمة»", "إلى «مغلقة». النتيجة: إدانة الجاني"):
        assert words in text, words
    assert "سلمى" not in text  # the child's name is never on the timeline
    page.screenshot(path=str(SCREENSHOTS / "himaya-case-walk-ar.png"), full_page=True)
    # For the court file: the printable timeline, every step on it.
    page.locator("#timeline-print").click()
    page.wait_for_url(f"**/cases/{case.pk}/timeline/")
    assert page.locator("#timeline-table tbody tr").count() == len(lines)
    assert [e for e in page.errors if "favicon" not in e] == []  # type: ignore[attr-defined]
