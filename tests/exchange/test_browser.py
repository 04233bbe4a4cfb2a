"""The exchange pages in a real headless Chromium, in Arabic: a supervisor registers a
partner from its key file, refers a foreign report from its page (the package comes
as a download) and finds it in the referrals with its state."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.ui.test_browser import CHROMIUM, SCREENSHOTS, log_in, page  # noqa: F401  (the page fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]
PASSWORD = "exchange-browser-pass-1"


@pytest.mark.django_db(transaction=True)
def test_register_a_partner_and_refer_a_foreign_report_in_arabic(live_server, page, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from django.utils import timezone
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from himaya.accounts.services import unit_get_or_create, user_create
    from himaya.exchange.models import Partner, Referral
    from himaya.exchange.package import grouped, key_document
    from himaya.linking.models import ReportLinkage
    from tests.linking.factory import Person, report_xml, store

    unit = unit_get_or_create(code="intake")
    user_create(username="chief", password=PASSWORD, roles=["supervisor"], unit_code=unit.code)
    report = store(report_xml(suspect=Person(esp_id="browser-falcon")), unit=unit)
    ReportLinkage.objects.update_or_create(report_id=report.id, defaults={
        "cluster_id": report.id, "unit_cluster_id": report.id, "country": "JO", "decision": "foreign", "linked_at": timezone.now()})
    key_file = tmp_path / "jordan.json"
    key_file.write_bytes(key_document(signing=SigningKey.generate(), encryption=PrivateKey.generate(), unit="Jordan CCU", country="JO"))

    log_in(page, live_server, "chief", PASSWORD)
    page.get_by_role("link", name="الشركاء").click()
    assert page.get_by_role("heading", level=1).inner_text() == "الوحدات الشريكة"
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.get_by_label("الاسم").fill("Jordan-CCU")
    page.get_by_label("الدولة (رمز ISO، مثل JO)").fill("JO")
    page.get_by_label("ملف المفاتيح العامة للشريك").set_input_files(str(key_file))
    page.get_by_role("button", name="تسجيل", exact=True).click()
    partner = Partner.objects.get(name="Jordan-CCU")
    row = page.locator(f'tr[data-partner="{partner.pk}"]')
    assert row.locator(".fingerprint").inner_text() == grouped(partner.fingerprint)
    assert row.locator(".fingerprint").evaluate("e => getComputedStyle(e).direction") == "ltr"  # a fingerprint reads left to right
    page.screenshot(path=str(SCREENSHOTS / "himaya-exchange-partners-ar.png"), full_page=True)

    page.goto(f"{live_server.url}/reports/{report.id}/")
    assert "الاختصاص لدولة أخرى" in page.locator("#exchange").inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="إحالة إلى Jordan-CCU (تنزيل الحزمة الموقّعة)").click()
    data = (tmp_path / "referral.zip")
    download.value.save_as(data)
    assert zipfile.ZipFile(io.BytesIO(data.read_bytes())).namelist() == ["package.json", "payload.bin"]
    referral = Referral.objects.get(partner=partner)

    page.goto(f"{live_server.url}/exchange/referrals/")
    row = page.locator(f'tr[data-referral="{referral.pk}"]')
    assert row.locator(".referral-state").inner_text() == "أُرسلت"
    page.screenshot(path=str(SCREENSHOTS / "himaya-exchange-referrals-ar.png"), full_page=True)
    assert [e for e in page.errors if "favicon" not in e] == []  # type: ignore[attr-defined]
