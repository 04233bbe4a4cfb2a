"""The public pages: Arabic first, English under /portal/en/, a quick exit on
every page, nothing from another site, and no cookie at all."""
from __future__ import annotations

import re

import pytest
from django.test import Client

PUBLIC_PAGES = [
    "/portal/", "/portal/advice/sextortion/", "/portal/advice/grooming/", "/portal/advice/sharing-images/",
    "/portal/report/", "/portal/follow-up/",
    "/portal/en/", "/portal/en/advice/sextortion/", "/portal/en/report/", "/portal/en/follow-up/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_page_sets_no_cookie_and_loads_nothing_from_elsewhere(path: str) -> None:
    client = Client()
    response = client.get(path)
    assert response.status_code == 200
    assert response.cookies == {}  # no session, no CSRF, no language cookie
    assert "Set-Cookie" not in response.headers
    html = response.content.decode()
    assert 'data-quick-exit' in html
    # Every resource (stylesheet, script, image, icon) comes from this server.
    for attr in re.findall(r'<(?:link|script|img|iframe|source)[^>]+(?:href|src)="([^"]+)"', html):
        assert attr.startswith("/"), attr
    # The quick exit is the one link to another site; it must not tell that site where it came from.
    external = re.findall(r'<a [^>]*href="(https?://[^"]+)"[^>]*>', html)
    assert len(external) == 1
    assert re.search(r'<a class="quick-exit" href="https?://[^"]+" rel="noreferrer noopener" data-quick-exit>', html)
    assert response["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_arabic_by_default_english_on_its_own_path() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    ar = client.get("/portal/").content.decode()
    assert '<html lang="ar" dir="rtl">' in ar
    assert "اخرج من الموقع بسرعة" in ar and "بلّغ عمّا حدث" in ar
    assert 'href="/portal/en/"' in ar
    en = client.get("/portal/en/").content.decode()
    assert '<html lang="en" dir="ltr">' in en
    assert "Leave this site quickly" in en
    assert 'href="/portal/en/report/"' in en and 'href="/portal/"' in en
    # A staff member's language cookie does not change the public pages.
    client.cookies["django_language"] = "en"
    assert '<html lang="ar" dir="rtl">' in client.get("/portal/").content.decode()


@pytest.mark.django_db
def test_report_form_works_without_javascript_except_the_proof_of_work() -> None:
    html = Client().get("/portal/report/").content.decode()
    assert '<noscript>' in html and 'enctype="multipart/form-data"' in html
    for name in ("what", "story", "who", "platform", "url", "account", "when", "files", "contact_choice", "name", "phone", "email"):
        assert f'name="{name}"' in html, name
    assert "csrfmiddlewaretoken" not in html
    # The scripts are small static files: the quick exit, the proof of work, and the
    # optional fingerprints made on the device (its block is hidden without JavaScript).
    assert re.findall(r'<script src="([^"]+)"', html) == ["/static/portal/portal.js", "/static/portal/pow.js", "/static/portal/devicehash.js"]
    assert re.search(r'<div class="field device-hash" data-device-hash hidden', html)
    assert not re.search(r'<input type="file" id="id_device_files"[^>]*name=', html)  # never part of what is sent


@pytest.mark.django_db
def test_unknown_advice_page_is_404() -> None:
    assert Client().get("/portal/advice/nothing-here/").status_code == 404
