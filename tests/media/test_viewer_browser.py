"""The safe viewer in a real headless Chromium: blurred greyscale first, clearer on request, the legal lock."""
from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.media.fixtures import BRIDGE, benign
from tests.media.test_viewer import grant
from tests.ui.conftest import PASSWORD, PLAIN_REPORT, REPORTER_PASSWORD, Api, file_details, staff
from tests.ui.test_browser import SCREENSHOTS, log_in, page  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser  # skipped, said once, where Chromium is absent (tests/conftest.py)


def deliver_two_files() -> tuple[int, str, str]:
    from himaya.accounts.services import reporter_create

    reporter_create(username="examplechat-m", password=REPORTER_PASSWORD, unit_code="unit-a")
    api = Api(Client(), "Basic " + base64.b64encode(f"examplechat-m:{REPORTER_PASSWORD}".encode()).decode())
    rid = int(api.post("submit", PLAIN_REPORT, content_type="text/xml; charset=utf-8").findtext("reportId"))
    viewed = api.post("upload", {"id": str(rid), "file": SimpleUploadedFile("bridge.jpg", benign(BRIDGE))}).findtext("fileId")
    api.post("fileinfo", file_details(rid, viewed), content_type="text/xml; charset=utf-8")  # fileViewedByEsp true
    unviewed = api.post("upload", {"id": str(rid), "file": SimpleUploadedFile("shapes.png", benign("shapes"))}).findtext("fileId")
    api.post("finish", {"id": str(rid)})
    return rid, viewed, unviewed


def loaded_width(page) -> int:  # noqa: F811
    # Polled from Python: the page's CSP forbids the eval that wait_for_function needs.
    img = page.locator("#media-preview img")
    for _ in range(100):
        width = img.evaluate("i => i.complete ? i.naturalWidth : 0")
        if width:
            return int(width)
        page.wait_for_timeout(100)
    return 0


@pytest.mark.django_db(transaction=True)
def test_blurred_viewer_and_legal_lock(live_server, page) -> None:  # noqa: F811
    grant(staff("investigator-a", "unit-a"), "view_media")
    rid, viewed, unviewed = deliver_two_files()

    log_in(page, live_server, "investigator-a", PASSWORD)

    page.goto(f"{live_server.url}/reports/{rid}/")
    card = page.locator(f"#file-{viewed}")
    assert card.locator("[data-media-status]").get_attribute("data-media-status") == "new"
    assert page.locator("img").count() == 0  # never shown unasked
    card.locator(f"a[href='/media/files/{viewed}/']").click()
    page.wait_for_url(f"{live_server.url}/media/files/{viewed}/")
    assert page.locator("img").count() == 0

    page.locator("button[name=level][value=blurred]").click()
    figure = page.locator("#media-preview")
    assert figure.get_attribute("data-level") == "blurred"
    img = figure.locator("img")
    img.wait_for()
    assert 0 < loaded_width(page) <= 320
    page.screenshot(path=str(SCREENSHOTS / "himaya-media-blurred.png"), full_page=True)

    page.locator("button[name=level][value=clear]").click()
    assert page.locator("#media-preview").get_attribute("data-level") == "clear"
    assert loaded_width(page) > 320
    page.screenshot(path=str(SCREENSHOTS / "himaya-media-clear.png"), full_page=True)

    page.goto(f"{live_server.url}/media/files/{unviewed}/")
    assert page.locator("#media-locked").is_visible()
    assert page.locator("img").count() == 0 and page.locator("button[name=level]").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "himaya-media-locked.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
