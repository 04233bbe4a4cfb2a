"""A staff member's first minutes with Himaya, in a real headless Chromium."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.auth_helpers import totp_code, totp_device
from tests.ui.conftest import PASSWORD, staff, submit_rich_report

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("HIMAYA_SCREENSHOTS", "/tmp"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"),
]


def authenticator(username: str):  # type: ignore[no-untyped-def]
    """The user's authenticator app: a confirmed TOTP device, made if missing (before the login)."""
    from himaya.accounts.models import User

    return totp_device(User.objects.get(username=username))


def second_factor(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    """The code from the user's authenticator."""
    device = authenticator(username)
    page.wait_for_url("**/accounts/second-factor/verify/**")
    page.get_by_label("الرمز").fill(totp_code(device, ahead=1))
    page.get_by_role("button", name="متابعة").click()


def log_in(page, live_server, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Through the Arabic login form and the second factor, as a person would; lands on the home page."""
    authenticator(username)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("اسم المستخدم").fill(username)
    page.get_by_label("كلمة المرور").fill(password)
    page.get_by_role("button", name="تسجيل الدخول").click()
    second_factor(page, live_server, username)
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def page(live_server, monkeypatch) -> Iterator:  # type: ignore[no-untyped-def]
    # Playwright's sync API runs an event loop in this thread; the test's own ORM
    # calls are still synchronous and must not be refused because of it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ar")
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.errors = errors  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_staff_reads_a_report_in_arabic_then_english(live_server, page) -> None:  # type: ignore[no-untyped-def]
    staff("analyst-a", "unit-a")
    report_id = submit_rich_report(reporter_name="examplechat-a", unit_code="unit-a")

    authenticator("analyst-a")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    page.get_by_label("اسم المستخدم").fill("analyst-a")
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.screenshot(path=str(SCREENSHOTS / "himaya-login-ar.png"), full_page=True)
    page.get_by_role("button", name="تسجيل الدخول").click()
    second_factor(page, live_server, "analyst-a")

    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "البلاغات"
    assert page.get_by_role("columnheader", name="رقم البلاغ").is_visible()
    # In RTL the first column (report ID) sits at the right.
    first = page.get_by_role("columnheader", name="رقم البلاغ").bounding_box()
    last = page.get_by_role("columnheader", name="التصعيد").bounding_box()
    assert first and last and first["x"] > last["x"]
    page.screenshot(path=str(SCREENSHOTS / "himaya-list-ar.png"), full_page=True)

    page.get_by_role("link", name=str(report_id), exact=True).click()
    page.wait_for_url(f"{live_server.url}/reports/{report_id}/")
    assert page.get_by_role("heading", level=2, name="الواقعة").is_visible()
    assert page.get_by_role("heading", level=2, name="الأشخاص والمستخدمون المُبلَّغ عنهم").is_visible()
    reported = page.locator("#section-reported")
    assert reported.get_by_text("bad_user_77").first.is_visible()
    # The chat keeps its lines; a URL from the report is text, not a link.
    assert page.locator(".prose", has_text="مرحبا، كم عمرك؟").inner_text().count("\n") >= 2
    assert page.locator("a[href^='http']").count() == 0
    assert page.locator("img, video").count() == 0
    # Copy buttons appear once the static script has run (CSP allows only 'self').
    assert page.locator("button.copy-button").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-report-ar.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    page.wait_for_url(f"{live_server.url}/reports/{report_id}/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.get_by_role("heading", level=2, name="Incident", exact=True).is_visible()
    assert page.get_by_role("heading", level=2, name="Reported persons and users").is_visible()
    assert page.get_by_role("heading", level=2, name="Files").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-report-en.png"), full_page=True)

    page.get_by_role("link", name="Reports", exact=True).first.click()
    assert page.get_by_role("columnheader", name="Report ID").is_visible()
    first = page.get_by_role("columnheader", name="Report ID").bounding_box()
    last = page.get_by_role("columnheader", name="Escalation").bounding_box()
    assert first and last and first["x"] < last["x"]
    page.screenshot(path=str(SCREENSHOTS / "himaya-list-en.png"), full_page=True)

    # Back in Arabic on a narrow screen: the layout still reads right to left.
    page.get_by_role("button", name="العربية").click()
    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(f"{live_server.url}/reports/{report_id}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.screenshot(path=str(SCREENSHOTS / "himaya-report-ar-narrow.png"), full_page=False)

    assert page.errors == []  # type: ignore[attr-defined]
