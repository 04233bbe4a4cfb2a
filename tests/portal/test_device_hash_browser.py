"""A child makes fingerprints of two pictures on a 360 px phone in Arabic and sends
only those: the browser's MD5 and PDQ (devicehash.js) against the server's own
hashing of the same files (Pillow + Meta's pdqhash), and no byte of either picture
in any request."""
from __future__ import annotations

import hashlib
import io
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from himaya.media.hashing import image_hashes
from tests.portal.test_browser import CHROMIUM, LOCAL_HOSTS, browser, fits  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]
# Canvas decoding of a JPEG is the browser's (its libjpeg-turbo build and settings),
# not Pillow's: a few pixel values may differ by one, which can move a DCT value across
# the median. PDQ's own matching threshold is 31; a handful of bits is the price of
# never sending the file. PNG decodes losslessly, so there the hashes are equal.
JPEG_TOLERANCE = 8
CONTACT_ME = "يمكنكم التواصل معي"


def picture(fmt: str) -> bytes:
    """A benign picture the test draws: smooth gradients and a few shapes, not square."""
    h, w = 217, 331
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([(x * 255 / w), (y * 255 / h), ((x + y) % 97) * 2.6]).astype(np.uint8)
    rgb[40:120, 60:200] = (250, 200, 40)
    rgb[150:200, 220:320] = (20, 60, 160)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.mark.django_db(transaction=True)
def test_fingerprints_made_on_the_phone_equal_the_servers_and_no_picture_leaves_it(live_server, browser, settings) -> None:  # type: ignore[no-untyped-def]
    from himaya.portal.models import DeviceHash
    from himaya.reports.models import Report

    settings.HIMAYA_PORTAL_POW_BITS = 10
    png, jpeg = picture("PNG"), picture("JPEG")
    phone = browser.new_context(viewport={"width": 360, "height": 780}, locale="ar", is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(30_000)
    sent: list[tuple[str, bytes]] = []
    page.on("request", lambda r: sent.append((r.url, r.post_data_buffer or b"")))

    page.goto(f"{live_server.url}/portal/report/")
    page.get_by_label("شخص يهدد بنشر صوري أو فيديوهاتي الخاصة").check()
    page.get_by_label("أخبرنا بكلماتك").fill("عنده صورتان لي. لا أريد إرسالهما، أريد فقط أن تُحجبا.")
    page.get_by_label("أنا الطفل الذي يحدث له هذا").check()
    device = page.get_by_label("أو احتفظ بالصورة: أرسل بصمتها فقط")
    assert device.is_visible() and device.get_attribute("name") is None
    device.set_input_files([{"name": "me.png", "mimeType": "image/png", "buffer": png},
                            {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg}])
    page.locator("li.device-hashes__item").nth(1).wait_for()
    assert page.get_by_text("صُنعت البصمة. الصورة باقية على هاتفك.").count() == 2
    fits(page)
    page.screenshot(path="/tmp/himaya-portal-device-hash-ar-360.png", full_page=True)
    # An answer to correct first: the form comes back with the fingerprints still there.
    page.get_by_label(CONTACT_ME).check()  # ...but no phone and no email
    page.get_by_role("button", name="أرسل البلاغ").click()
    page.get_by_role("alert").first.wait_for()
    assert page.locator("li.device-hashes__item").count() == 2
    page.get_by_label("أريد أن أبقى مجهول الهوية").check()
    page.get_by_role("button", name="أرسل البلاغ").click()
    page.get_by_role("heading", name="أُرسل بلاغك. شكرًا لأنك أخبرتنا.").wait_for()
    assert page.locator("[data-device-hashed]").is_visible()

    # The server's hashes of the very same files.
    report = Report.objects.get()
    got = {d.report_file.md5: d for d in DeviceHash.objects.select_related("report_file").filter(report_file__report=report)}
    assert set(got) == {hashlib.md5(png).hexdigest(), hashlib.md5(jpeg).hexdigest()}  # MD5 of the bytes: equal
    for content, tolerance in ((png, 0), (jpeg, JPEG_TOLERANCE)):
        server = image_hashes(content)
        mine = got[hashlib.md5(content).hexdigest()]
        assert mine.report_file.sha256 == hashlib.sha256(content).hexdigest() and mine.report_file.size == len(content)
        assert distance(mine.pdq, server.pdq) <= tolerance, (mine.pdq, server.pdq)
        assert abs(mine.pdq_quality - server.pdq_quality) <= (0 if tolerance == 0 else 5)
        assert all(distance(a, b) <= tolerance for a, b in zip(mine.pdq_dihedral, server.pdq_dihedral, strict=True))
    assert report.files.filter(blob__isnull=False).count() == 0  # nothing stored: nothing was received

    # Not a byte of either picture left the page, in any request.
    assert any(urlsplit(u).path.startswith("/portal/report/") and body for u, body in sent)  # the listener saw the form
    for content in (png, jpeg):
        pieces = [content[i:i + 24] for i in range(len(content) // 4, len(content) - 24, len(content) // 4)]
        assert not any(piece in body for _, body in sent for piece in pieces)
    assert not any(b"\x89PNG" in body or b"\xff\xd8\xff" in body or b'filename="me.' in body for _, body in sent)
    assert all(urlsplit(u).hostname in LOCAL_HOSTS for u, _ in sent)
    phone.close()
