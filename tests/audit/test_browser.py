"""An auditor reads and filters the audit log in Arabic, in a real headless Chromium,
and cannot open a file."""
from __future__ import annotations

import pytest

from himaya.audit.models import AuditEvent
from tests.media.test_viewer import grant
from tests.media.test_viewer_browser import deliver_two_files
from tests.ui.conftest import PASSWORD, staff
from tests.ui.test_browser import SCREENSHOTS, log_in, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser  # skipped, said once, where Chromium is absent (tests/conftest.py)


@pytest.mark.django_db(transaction=True)
def test_an_auditor_reads_and_filters_the_log_and_cannot_open_a_file(live_server, page) -> None:  # noqa: F811
    from django.test import Client

    from himaya.accounts.services import user_create
    from tests.auth_helpers import login_verified, totp_device

    rid, viewed, _ = deliver_two_files()  # unit-a
    analyst = staff("analyst-a", "unit-a")
    grant(analyst, "view_media")
    reader = login_verified(Client(), analyst)
    assert reader.get(f"/reports/{rid}/").status_code == 200  # report.viewed, with the names
    for name, unit in (("auditor-a", "unit-a"), ("auditor-b", "unit-b")):
        totp_device(user_create(username=name, password=PASSWORD, roles=["auditor"], unit_code=unit))  # enrolled already

    log_in(page, live_server, "auditor-a", PASSWORD)
    page.get_by_role("link", name="سجل التدقيق").click()
    page.wait_for_url(f"{live_server.url}/audit/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "سجل التدقيق"
    events = page.locator("#audit-events")
    assert events.get_by_text(f"عُرض البلاغ {rid} مع أسماء الأشخاص الواردين فيه").is_visible()
    assert events.get_by_text(f"فتح مزوّد الخدمة البلاغ {rid}").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-audit-ar.png"), full_page=True)

    # Filter: the report views of one person.
    page.get_by_label("نوع الحدث").select_option(label="عرض بلاغ")
    page.get_by_label("الشخص").fill("analyst-a")
    page.get_by_role("button", name="تصفية").click()
    page.wait_for_url("**/audit/?**")
    rows = page.locator("#audit-events tbody tr")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-action") == "report.viewed"
    assert "analyst-a" in rows.first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "himaya-audit-filtered-ar.png"), full_page=True)

    # The chain, checked on demand.
    page.get_by_role("button", name="تحقق من السلسلة الآن").click()
    page.wait_for_url(f"{live_server.url}/audit/")
    assert page.get_by_text("سلسلة التدقيق سليمة.").is_visible()

    # The report is readable, its files are not: the viewer and the reveal refuse an auditor.
    page.goto(f"{live_server.url}/reports/{rid}/")
    response = page.goto(f"{live_server.url}/media/files/{viewed}/")
    assert response is not None and response.status == 403
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(f"{live_server.url}/media/files/{viewed}/reveal", form={"level": "blurred"},
                                headers={"X-CSRFToken": token, "Referer": f"{live_server.url}/reports/{rid}/"})
    assert refused.status == 403
    assert refused.status == 403 and page.request.get(f"{live_server.url}/media/files/{viewed}/preview-blurred.png").status in (403, 404)
    assert not AuditEvent.objects.filter(actor="user:auditor-a", action__in=["media.revealed", "media.viewed"]).exists()

    # Another unit's auditor sees none of it.
    page.context.clear_cookies()
    log_in(page, live_server, "auditor-b", PASSWORD)
    page.goto(f"{live_server.url}/audit/")
    seen = page.locator("#audit-events").inner_text()
    assert "auditor-b" in seen and f"البلاغ {rid}" not in seen and "analyst-a" not in seen
