"""The case pages in a real headless Chromium, in Arabic: a case opened from the
queue's cluster in one click, then the demo's closed case read by the
child-protection officer with the child first."""
from __future__ import annotations

import pytest

from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in, page  # noqa: F401  (the page fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]


@pytest.mark.django_db(transaction=True)
def test_open_a_case_from_the_queue_and_read_the_child_first(live_server, page) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from django.core.management import call_command

    from himaya.cases.models import Case
    from himaya.linking.models import ReportLinkage
    from himaya.reports.models import Report

    call_command("demo", "--reports", "12")
    spare = Report.objects.filter(case_link__isnull=True).order_by("-id").first()
    cluster = ReportLinkage.objects.get(report=spare).unit_cluster_id

    log_in(page, live_server, "analyst", "himaya-demo-2026")
    page.goto(f"{live_server.url}/triage/?cluster={cluster}&reviewed=all")
    page.get_by_label("عنوان القضية").fill("قضية من المتصفح")
    page.get_by_role("button", name="فتح قضية من هذه المجموعة").click()
    case = Case.objects.get(title="قضية من المتصفح")
    page.wait_for_url(f"{live_server.url}/cases/{case.pk}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith(case.reference)
    assert page.locator(".message--success").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "himaya-case-new-ar.png"), full_page=True)
    page.get_by_role("button", name="تسجيل الخروج").click()

    closed = Case.objects.get(status="closed")
    log_in(page, live_server, "protection", "himaya-demo-2026")
    page.goto(f"{live_server.url}/cases/{closed.pk}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert [h.split()[0] for h in headings][:3] == ["الضحايا", "المشتبه", "المهام"]
    assert page.get_by_text("مريم المختلَق").is_visible()
    assert page.locator("#timeline li").count() >= 15
    page.screenshot(path=str(SCREENSHOTS / "himaya-case-closed-ar.png"), full_page=True)
    page.goto(f"{live_server.url}/cases/mine/")
    assert page.get_by_role("heading", level=1).inner_text() == "عملي"
    assert [e for e in page.errors if "favicon" not in e] == []  # type: ignore[attr-defined]
