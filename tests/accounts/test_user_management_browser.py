"""A supervisor creates a user through the Arabic pages, in a real headless Chromium."""
from __future__ import annotations

import re

import pytest

from himaya.accounts.models import User
from himaya.accounts.services import user_create
from tests.auth_helpers import totp_device
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in, page  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"),
]

NEW_PASSWORD = "another-long-password-7"


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_creates_a_user_who_then_appears_in_the_list(live_server, page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    head = user_create(username="head-a", full_name="سلمى المشرفة", password=PASSWORD, roles=["supervisor"], unit_code="unit-a")
    totp_device(head)  # enrolled before: this login asks for the code
    user_create(username="inv-b", password=PASSWORD, roles=["investigator"], unit_code="unit-b")
    log_in(page, live_server, "head-a", PASSWORD)

    page.get_by_role("navigation", name="الرئيسية").get_by_role("link", name="المستخدمون").click()
    page.wait_for_url(f"{live_server.url}/accounts/users/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "المستخدمون"
    users = page.locator("#users")
    assert users.get_by_text("head-a").is_visible() and users.get_by_text("inv-b").count() == 0

    form = page.locator("#user-create")
    form.get_by_label("اسم المستخدم").fill("nour")
    form.get_by_label("الاسم الكامل").fill("نور الهدى")
    form.get_by_label("وكيل نيابة").check()
    form.get_by_label("محقق").check()
    form.get_by_label(re.compile(r"^كلمة المرور الأولى:?$")).fill(NEW_PASSWORD)  # the label, not the one "(again)"
    form.get_by_label("كلمة المرور الأولى (مرة أخرى)").fill(NEW_PASSWORD)
    page.screenshot(path=str(SCREENSHOTS / "himaya-users-create-ar.png"), full_page=True)
    form.get_by_role("button", name="إنشاء المستخدم").click()

    page.wait_for_url(f"{live_server.url}/accounts/users/")
    assert page.get_by_role("status").get_by_text("nour").is_visible()
    row = page.locator('#users tr[data-username="nour"]')
    assert row.get_by_text("نور الهدى").is_visible()
    assert row.get_by_text("وكيل نيابة").is_visible() and row.get_by_text("محقق").is_visible()
    assert row.get_by_text("غير مُسجَّل").is_visible() and row.get_by_text("لم يدخل بعد").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-users-list-ar.png"), full_page=True)

    nour = User.objects.get(username="nour")
    assert nour.unit.code == "unit-a" and nour.roles == ["investigator", "prosecutor"]

    row.get_by_role("link", name="nour").click()
    page.wait_for_url(f"{live_server.url}/accounts/users/{nour.pk}/")
    page.get_by_role("button", name="تعطيل").click()
    page.wait_for_url(f"{live_server.url}/accounts/users/{nour.pk}/")
    assert page.get_by_role("button", name="إعادة التفعيل").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-user-detail-ar.png"), full_page=True)
    nour.refresh_from_db()
    assert not nour.is_active
    assert page.errors == []  # type: ignore[attr-defined]
