"""A new staff member's first login with the second factor, in Arabic, in a real headless Chromium."""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, page  # noqa: F401  (the fixture)

PASSWORD = "a-long-test-password-1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


def password_step(page, live_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("اسم المستخدم").fill("nour")
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.get_by_role("button", name="تسجيل الدخول").click()


@pytest.mark.django_db(transaction=True)
def test_a_new_user_enrols_logs_out_and_logs_in_with_password_and_code(live_server, page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from himaya.accounts.services import user_create

    user_create(username="nour", password=PASSWORD, roles=["investigator"], unit_code="unit-a")

    # first login: the password, then the enrolment page (nothing else is reachable)
    password_step(page, live_server)
    page.wait_for_url("**/accounts/second-factor/enrol/**")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "إعداد عامل التحقق الثاني"
    qr = page.get_by_role("img", name="رمز QR لتطبيق المصادقة")
    box = qr.locator("svg").bounding_box()
    assert box and box["width"] > 150 and box["height"] > 150  # drawn on the page, no request out
    page.screenshot(path=str(SCREENSHOTS / "himaya-enrol-ar.png"), full_page=True)
    page.goto(f"{live_server.url}/triage/")
    page.wait_for_url("**/accounts/second-factor/enrol/**")

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    totp = pyotp.TOTP(secret)
    page.get_by_label("الرمز من التطبيق").fill(totp.now())
    page.get_by_role("button", name="تأكيد").click()
    assert page.get_by_role("heading", level=1).inner_text() == "رموز الاسترداد الخاصة بك"
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{8}", c) for c in codes)
    page.screenshot(path=str(SCREENSHOTS / "himaya-recovery-codes-ar.png"), full_page=True)
    page.get_by_role("link", name="حفظتها: متابعة").click()
    page.wait_for_url(f"{live_server.url}/triage/")  # where the user was going

    page.get_by_role("button", name="تسجيل الخروج").click()
    page.wait_for_url("**/accounts/login/**")

    # every later login: the password, then a code from the app
    password_step(page, live_server)
    page.wait_for_url("**/accounts/second-factor/verify/**")
    assert page.get_by_role("heading", level=1).inner_text() == "عامل التحقق الثاني"
    page.get_by_label("الرمز").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="متابعة").click()
    assert page.get_by_text("الرمز غير صحيح.").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-verify-ar.png"), full_page=True)
    time.sleep(1.1)  # django-otp's own delay after a wrong code
    page.get_by_label("الرمز").fill(totp.at(time.time() + 30))  # the next code: the enrolment used the current one
    page.get_by_role("button", name="متابعة").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "البلاغات"

    # my API tokens: one made, shown once
    page.get_by_role("link", name="nour").click()
    page.wait_for_url("**/accounts/tokens/")
    page.get_by_label("الاسم").fill("تصدير ليلي")
    page.get_by_role("button", name="إنشاء رمز مميّز").click()
    token = page.locator("#new-token-value").inner_text()
    assert token.startswith("hmy_")
    page.screenshot(path=str(SCREENSHOTS / "himaya-tokens-ar.png"), full_page=True)
    page.reload()
    assert token not in page.content()

    assert page.errors == []  # type: ignore[attr-defined]
