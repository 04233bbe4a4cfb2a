"""A child reports sextortion anonymously with a file, on a 360 px phone in
Arabic, keeps the receipt, and hears back from the unit: in a real headless
Chromium, with every request recorded."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.auth_helpers import totp_device
from tests.portal.conftest import png_bytes
from tests.ui.conftest import PASSWORD, staff
from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]
EXIT_URL = "https://www.example.com/search?q=weather"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def browser(live_server, monkeypatch) -> Iterator:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def fits(page, width: int = 360) -> None:  # type: ignore[no-untyped-def]
    """Nothing wider than the phone: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.django_db(transaction=True)
def test_child_reports_sextortion_and_hears_back(live_server, browser, settings) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create
    from himaya.portal.models import PortalMessage
    from himaya.reports.models import Report
    from himaya.triage.models import ReportTriage

    settings.HIMAYA_PORTAL_EXIT_URL = EXIT_URL
    settings.HIMAYA_PORTAL_POW_BITS = 14  # real work in the browser, kept short for the test machine
    unit = unit_get_or_create()
    totp_device(staff("analyst-portal", unit.code))  # enrolled: the login asks for its code

    phone = browser.new_context(viewport={"width": 360, "height": 780}, locale="ar", is_mobile=True, has_touch=True)
    child = phone.new_page()
    child.set_default_timeout(20_000)
    requests: list[str] = []
    errors: list[str] = []
    child.on("request", lambda r: requests.append(r.url))
    # Script errors; failed loads are counted by status below (a wrong receipt is a 404 by design).
    child.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    child.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and not r.url.endswith("/portal/follow-up/") else None)
    # The quick exit's neutral site is answered here, so that nothing leaves the machine.
    child.route("https://www.example.com/**", lambda route: route.fulfill(status=200, body="<title>neutral</title>weather", content_type="text/html"))

    child.goto(f"{live_server.url}/portal/")
    assert child.locator("html").get_attribute("dir") == "rtl"
    assert phone.cookies() == []
    exit_link = child.get_by_role("link", name="اخرج من الموقع بسرعة")
    assert exit_link.is_visible() and exit_link.get_attribute("href") == EXIT_URL
    fits(child)
    child.screenshot(path=str(SCREENSHOTS / "himaya-portal-home-ar-360.png"), full_page=True)

    child.get_by_role("link", name="شخص يهدد بنشر صوري").click()
    assert child.get_by_role("heading", level=1).inner_text() == "شخص يهدد بنشر صوري"
    fits(child)
    child.get_by_role("link", name="بلّغ عمّا حدث").first.click()
    child.wait_for_url("**/portal/report/")
    assert phone.cookies() == []  # none before the report is sent, and none after
    fits(child)

    child.get_by_label("شخص يهدد بنشر صوري أو فيديوهاتي الخاصة").check()
    child.get_by_label("أخبرنا بكلماتك").fill("شخص في اللعبة قال: سأنشر صورك إذا لم ترسلي المزيد. أنا خائفة.")
    child.get_by_label("أنا الطفل الذي يحدث له هذا").check()
    child.get_by_label("كم عمر الطفل؟").fill("13")
    child.get_by_label("أي تطبيق أو لعبة أو موقع؟").fill("ExampleGame")
    child.get_by_label("اسم الحساب الذي فعل ذلك").fill("night_owl_404")
    child.get_by_label("أضف ملفات").set_input_files([{"name": "screenshot.png", "mimeType": "image/png", "buffer": png_bytes()}])
    assert child.get_by_label("أريد أن أبقى مجهول الهوية").is_checked()
    child.screenshot(path=str(SCREENSHOTS / "himaya-portal-form-ar-360.png"), full_page=True)
    child.get_by_role("button", name="أرسل البلاغ").click()

    child.get_by_role("heading", name="أُرسل بلاغك. شكرًا لأنك أخبرتنا.").wait_for()
    receipt = child.locator("[data-receipt]").inner_text().replace(" ", "")
    assert len(receipt) == 16 and receipt.isdigit()
    assert phone.cookies() == []
    fits(child)
    child.screenshot(path=str(SCREENSHOTS / "himaya-portal-receipt-ar-360.png"), full_page=True)

    report = Report.objects.get()
    assert report.source == "portal" and report.files.count() == 1
    assert ReportTriage.objects.get(report=report).priority == "P1"

    # The analyst, on a desk computer, with the second factor.
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    analyst = desk.new_page()
    analyst.set_default_timeout(20_000)
    log_in(analyst, live_server, "analyst-portal", PASSWORD)
    analyst.goto(f"{live_server.url}/triage/")
    row = analyst.locator(f'tr.queue-row[data-report="{report.pk}"]')
    assert row.locator(".tier").inner_text() == "P1"
    row.locator("a.report-link").click()
    analyst.wait_for_url(f"**/reports/{report.pk}/**")
    assert analyst.locator('#triage li.reason[data-rule="annotation_sextortion"]').is_visible()
    panel = analyst.locator("#portal")
    assert panel.get_by_role("heading", name="البوابة العامة: المحادثة مع المُبلِّغ").is_visible()
    # The conversation is opened on purpose (an audited read), and answered there.
    panel.get_by_role("link", name="اقرأ المحادثة وردّ على المُبلِّغ (يُسجَّل في سجل التدقيق)").click()
    analyst.wait_for_url(f"**/portal/staff/{report.pk}/")
    analyst.get_by_label("اكتب إلى المُبلِّغ").fill("شكرًا لأنك أخبرتنا. أنت لم تخطئي. لا تردّي عليه، نحن نعمل على الأمر.")
    analyst.get_by_role("button", name="أرسل إلى المُبلِّغ").click()
    analyst.locator("#portal .portal-msg--unit").wait_for()
    assert analyst.locator("#portal .portal-msg--unit").count() == 1
    analyst.screenshot(path=str(SCREENSHOTS / "himaya-portal-staff-panel-ar.png"), full_page=True)

    # A wrong receipt gets nothing.
    child.goto(f"{live_server.url}/portal/follow-up/")
    child.get_by_label("رمز الإيصال الخاص بك").fill(str((int(receipt) + 1) % 10**16).zfill(16))
    child.get_by_role("button", name="افتح").click()
    assert child.get_by_text("لم نجد بلاغًا بهذا الرمز").is_visible()
    assert child.locator(".msg").count() == 0

    # The child comes back with the receipt, reads the answer and replies.
    child.get_by_label("رمز الإيصال الخاص بك").fill(receipt)
    child.get_by_role("button", name="افتح").click()
    assert child.get_by_text("كتب لك فريقنا").is_visible()
    assert child.locator(".msg--unit").get_by_text("أنت لم تخطئي").is_visible()
    assert "analyst-portal" not in child.content()
    fits(child)
    child.get_by_label("رسالتك").fill("شكرًا. لقد أرسل لي رسالة جديدة اليوم.")
    child.get_by_role("button", name="أرسل الرسالة").click()
    child.get_by_text("أُرسلت رسالتك.").wait_for()
    assert child.locator(".msg--me").get_by_text("رسالة جديدة اليوم").is_visible()
    child.screenshot(path=str(SCREENSHOTS / "himaya-portal-thread-ar-360.png"), full_page=True)
    assert PortalMessage.objects.filter(author="reporter").count() == 1
    analyst.reload()
    assert analyst.locator("#portal").get_by_text("رسالة جديدة اليوم").is_visible()
    assert phone.cookies() == []

    # 100 wrong receipts from the child's connection: after a few tries, every one waits.
    statuses = child.evaluate("""async (n) => {
        const out = [];
        for (let i = 0; i < n; i++) {
            const r = await fetch("/portal/follow-up/", {method: "POST", body: new URLSearchParams({receipt: String(4000000000000000 + i)})});
            out.push(r.status);
        }
        return out;
    }""", 100)
    assert set(statuses) == {404, 429} and statuses.count(404) <= 20 and set(statuses[-50:]) == {429}
    assert phone.cookies() == []

    # Quick exit: to the neutral site, replacing this page in the history.
    length = child.evaluate("history.length")
    child.get_by_role("link", name="اخرج من الموقع بسرعة").click()
    child.wait_for_url(EXIT_URL)
    assert child.evaluate("history.length") == length

    # Nothing went anywhere but this machine (the neutral site was answered by the test).
    outside = [u for u in requests if urlsplit(u).hostname not in LOCAL_HOSTS and not u.startswith("https://www.example.com/")]
    assert outside == []
    # ...and the listener did see the traffic (else the line above would pass on nothing).
    assert any(urlsplit(u).hostname in LOCAL_HOSTS for u in requests) and EXIT_URL in requests
    assert errors == []
    desk.close()
    phone.close()
