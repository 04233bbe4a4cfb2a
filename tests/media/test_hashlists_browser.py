"""The hash-lists page in a real headless Chromium: a supervisor imports a list, sees it, and retires it with a reason."""
from __future__ import annotations

import hashlib

import pytest

from tests.media.fixtures import drawn_image
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import SCREENSHOTS, log_in, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser  # skipped, said once, where Chromium is absent (tests/conftest.py)


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_imports_and_retires_a_list(live_server, page, tmp_path) -> None:  # noqa: F811
    from himaya.accounts.services import user_create
    from himaya.audit.models import AuditEvent
    from himaya.media.models import HashList

    user_create(username="head-a", password=PASSWORD, roles=["supervisor"], unit_code="intake")  # the lists are national
    log_in(page, live_server, "head-a", PASSWORD)

    page.get_by_role("link", name="قوائم البصمات").click()
    page.wait_for_url(f"{live_server.url}/media/lists/")
    assert page.get_by_role("heading", level=1).inner_text() == "قوائم البصمات"
    listing = tmp_path / "seized.txt"
    listing.write_text(f"md5:{hashlib.md5(drawn_image(90)).hexdigest()}\nsha1:{hashlib.sha1(drawn_image(91)).hexdigest()}\n")
    page.locator("input[type=file]").set_input_files(str(listing))
    page.get_by_label("اسم القائمة").fill("مضبوطات 2026")
    page.get_by_label("النوع").select_option("seizure")
    page.get_by_label("الصيغة").select_option("lines")
    page.get_by_label("المصدر").fill("قضية 12/2026")
    page.get_by_role("button", name="استيراد", exact=True).click()
    page.wait_for_url(f"{live_server.url}/media/lists/")
    row = page.locator("#hashlists tbody tr").first
    assert "مضبوطات 2026" in row.inner_text() and "قضية 12/2026" in row.inner_text() and "head-a" in row.inner_text()
    assert page.locator("#rematch-jobs [data-job-status=done]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "himaya-hashlists-ar.png"), full_page=True)

    row.get_by_role("link", name="سحب").click()
    assert page.get_by_role("heading", level=1).inner_text() == "سحب القائمة مضبوطات 2026؟"
    page.get_by_role("button", name="سحب القائمة").click()  # no reason: the browser does not send the form
    assert HashList.objects.count() == 1 and "/retire" in page.url
    page.get_by_label("لماذا تُسحب هذه القائمة؟").fill("انتهت مدة الاحتفاظ")
    page.screenshot(path=str(SCREENSHOTS / "himaya-hashlist-retire-ar.png"), full_page=True)
    page.get_by_role("button", name="سحب القائمة").click()
    page.wait_for_url(f"{live_server.url}/media/lists/")
    assert "سُحبت القائمة مضبوطات 2026" in page.locator(".messages").inner_text()
    assert "انتهت مدة الاحتفاظ" in page.locator("#retired-lists").inner_text()
    assert not HashList.objects.exists() and AuditEvent.objects.filter(action="hashlist.deleted", actor="user:head-a").count() == 1
    assert page.errors == []  # type: ignore[attr-defined]
