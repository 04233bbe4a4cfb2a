"""A child in danger abroad, carried only by the words, in the Arabic queue (issue 19)."""
from __future__ import annotations

import pytest

from tests.linking.factory import POSSESSION, Person, report_xml, store
from tests.ui.conftest import PASSWORD, staff
from tests.ui.test_browser import CHROMIUM, log_in, page  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


@pytest.mark.django_db(transaction=True)
def test_words_only_danger_abroad_is_on_top_with_its_referral(live_server, page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from himaya.accounts.services import unit_get_or_create

    staff("analyst-d", "unit-d")
    unit = unit_get_or_create(code="unit-d")
    store(report_xml(incident_type=POSSESSION, chat="lets meet after school for football", suspect=Person(esp_id="h-1")), unit=unit)
    urgent = store(report_xml(incident_type=POSSESSION, chat="[21:40] ghost: والله ان ما ترسلين بطرش صورك لأهلك",
                              suspect=Person(esp_id="sa-1", country="SA")), unit=unit)
    log_in(page, live_server, "analyst-d", PASSWORD)
    page.goto(f"{live_server.url}/triage/")
    top = page.locator("tr.queue-row").first
    assert top.get_attribute("data-report") == str(urgent.id)
    assert top.locator(".tier").inner_text() == "P1"
    assert top.get_by_text("إحالة فورية إلى الدولة الأخرى").is_visible()
    assert "SA" in top.inner_text()
    page.screenshot(path="/tmp/issue19-queue.png", full_page=True)
    top.locator("a.report-link").click()
    panel = page.locator("#triage")
    panel.wait_for()
    text = panel.inner_text()
    assert "إحالة فورية إلى SA" in text and "بطرش صورك لأهلك" in text
    panel.screenshot(path="/tmp/issue19-panel.png")
