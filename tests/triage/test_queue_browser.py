"""An analyst walks the triage queue in Arabic, in a real headless Chromium:
the top report, why it is on top, and the reports linked to it."""
from __future__ import annotations

import pytest

from tests.linking.factory import ENTICEMENT, PS_IP, FileSpec, Person, report_xml, store
from tests.ui.conftest import PASSWORD, staff
from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in, page  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


@pytest.mark.django_db(transaction=True)
def test_analyst_walks_the_queue_in_arabic(live_server, page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from himaya.accounts.services import unit_get_or_create

    staff("analyst-q", "unit-q")
    unit = unit_get_or_create(code="unit-q")
    store(report_xml(batched=True, suspect=Person(esp_id="meme-1")), unit=unit, files=[FileSpec(annotations=("viral",))])
    earlier = store(report_xml(platform="ExampleGram", suspect=Person(esp_id="g-7", phones=[("+970599000111", "")])), unit=unit)
    urgent = store(report_xml(
        incident_type=ENTICEMENT, annotations=("sextortion",), recipient_age=13,
        chat="[22:10] falcon: أرسلي المزيد من الصور وإلا سأنشر صورك",
        suspect=Person(esp_id="u-1", phones=[("0599000111", "+970")], ips=[(PS_IP, False)]),
    ), unit=unit)

    log_in(page, live_server, "analyst-q", PASSWORD)

    page.get_by_role("link", name="قائمة انتظار الفرز").click()
    page.wait_for_url(f"{live_server.url}/triage/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "قائمة انتظار الفرز"
    top = page.locator("tr.queue-row").first
    assert top.get_attribute("data-report") == str(urgent.id)
    assert top.locator(".tier").inner_text() == "P1"
    assert top.get_by_text("عبارات ابتزاز جنسي").is_visible()  # the top reasons: the threat in the chat (issue 19)
    assert page.locator("tr.queue-row").last.locator(".tier").inner_text() == "P4"
    page.screenshot(path=str(SCREENSHOTS / "himaya-triage-queue-ar.png"), full_page=True)

    top.get_by_role("link", name=str(urgent.id), exact=True).click()
    page.wait_for_url(f"{live_server.url}/reports/{urgent.id}/#triage")
    panel = page.locator("#triage")
    assert panel.get_by_role("heading", name="لماذا هذه الأولوية").is_visible()
    assert panel.locator(".triage-panel__head strong").inner_text() == "P1 خطر مباشر على طفل"
    sext = panel.locator('li.reason[data-rule="text_sextortion"]')
    assert sext.get_by_text("عبارات ابتزاز جنسي").is_visible()
    assert "سأنشر صورك" in sext.locator(".evidence").inner_text()
    assert panel.get_by_text("ضمن اختصاصنا").first.is_visible()
    linked = panel.locator("li.linked-report")
    assert linked.count() == 1
    assert "+970599000111" in linked.first.inner_text() and "الهاتف" in linked.first.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "himaya-triage-panel-ar.png"), full_page=True)

    linked.first.get_by_role("link", name=str(earlier.id)).click()
    page.wait_for_url(f"{live_server.url}/reports/{earlier.id}/#triage")
    assert page.locator("#triage li.linked-report").first.get_by_role("link", name=str(urgent.id)).is_visible()
    assert page.errors == []  # type: ignore[attr-defined]
