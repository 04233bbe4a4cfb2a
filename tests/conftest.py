from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from django.test import Client
from lxml import etree

from tests.intake.cybertip.samples import MINIMAL_REPORT
from tests.seaweed import s3_storage, seaweed  # noqa: F401 (a real SeaweedFS for the storage tests, one per session)

# Meta's published PDQ/vPDQ reference values, beside a team checkout (../shared) and in CI; a fresh
# clone has none. Only the tests that compare against them need it (`needs_reference`); every other
# test uses benign data the repository carries (himaya/demo/images/, tests/media/fixtures.py).
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
PDQ_IMAGES = REFERENCE / "pdq" / "images"
shared_reference_exists = (REFERENCE / "pdq" / "expected.csv").is_file()
needs_reference = pytest.mark.skipif(
    not shared_reference_exists,
    reason=f"compares with Meta's published PDQ/vPDQ reference values, absent here ({REFERENCE / 'pdq'} does not exist; CI has it)",
)
# The documentation's own example (§6.1), shared with the pure XML tests.
DOC_REPORT = MINIMAL_REPORT

# Browser tests (marked `browser`) drive Debian's Chromium. Without it they are skipped, said once in
# the header and once per skip reason; with HIMAYA_REQUIRE_BROWSER=1 (CI) its absence stops the run.
CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium): browser tests skipped"


def pytest_report_header(config) -> str:  # type: ignore[no-untyped-def]
    return f"chromium: {CHROMIUM}" if CHROMIUM.exists() else f"chromium: ABSENT. {NO_CHROMIUM}"


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    wanted = "not browser" not in (config.option.markexpr or "")
    if wanted and not CHROMIUM.exists() and os.environ.get("HIMAYA_REQUIRE_BROWSER") == "1" and not hasattr(config, "workerinput"):
        raise pytest.UsageError(f"HIMAYA_REQUIRE_BROWSER=1 but Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        for item in items:
            if item.get_closest_marker("browser"):
                item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


def file_details_doc(report_id: int, file_id: str, extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<fileDetails xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
             xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
    <reportId>{report_id}</reportId>
    <fileId>{file_id}</fileId>
    <originalFileName>mypic.jpg</originalFileName>
    <ipCaptureEvent>
        <ipAddress>203.0.113.17</ipAddress>
        <eventName>Upload</eventName>
        <dateTime>2011-10-31T12:00:00Z</dateTime>
    </ipCaptureEvent>
    {extra}
    <additionalInfo>File was originally posted with 6 others</additionalInfo>
</fileDetails>
""".encode()


class Answer:
    """A provider API response, parsed the way a client would."""

    def __init__(self, response) -> None:  # type: ignore[no-untyped-def]
        self.http = response
        self.status = response.status_code
        self.request_id = response.get("Request-ID")
        self.root = etree.fromstring(response.content)
        self.code = int(self.root.findtext("responseCode"))
        self.description = self.root.findtext("responseDescription")
        rid = self.root.findtext("reportId")
        self.report_id = int(rid) if rid else None
        self.file_id = self.root.findtext("fileId")
        self.hash = self.root.findtext("hash")
        self.file_ids = [e.text for e in self.root.iterfind("files/fileId")]

    def __repr__(self) -> str:
        return f"<Answer {self.code} {self.description!r}>"


class Provider:
    def __init__(self, username: str, password: str) -> None:
        self.client = Client()
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def get(self, path: str) -> Answer:
        return Answer(self.client.get(f"/ispws/{path}", HTTP_AUTHORIZATION=self.auth))

    def submit(self, xml: bytes, content_type: str = "text/xml; charset=utf-8") -> Answer:
        return Answer(self.client.generic("POST", "/ispws/submit", xml, content_type=content_type, HTTP_AUTHORIZATION=self.auth))

    def upload(self, report_id: int | str, data: bytes, name: str = "file.jpg") -> Answer:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return Answer(self.client.post("/ispws/upload", {"id": str(report_id), "file": SimpleUploadedFile(name, data)}, HTTP_AUTHORIZATION=self.auth))

    def fileinfo(self, xml: bytes) -> Answer:
        return Answer(self.client.generic("POST", "/ispws/fileinfo", xml, content_type="text/xml; charset=utf-8", HTTP_AUTHORIZATION=self.auth))

    def finish(self, report_id: int | str, *, multipart: bool = True) -> Answer:
        return self._form("finish", report_id, multipart)

    def retract(self, report_id: int | str, *, multipart: bool = True) -> Answer:
        return self._form("retract", report_id, multipart)

    def _form(self, endpoint: str, report_id: int | str, multipart: bool) -> Answer:
        if multipart:
            return Answer(self.client.post(f"/ispws/{endpoint}", {"id": str(report_id)}, HTTP_AUTHORIZATION=self.auth))
        return Answer(self.client.post(f"/ispws/{endpoint}", f"id={report_id}", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=self.auth))


@pytest.fixture
def reporter(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import reporter_create

    return reporter_create(username="examplechat", password="provider-pass-1")


@pytest.fixture
def provider(reporter) -> Provider:  # type: ignore[no-untyped-def]
    return Provider("examplechat", "provider-pass-1")


@pytest.fixture
def image_bytes() -> bytes:
    from himaya.demo.generator import IMAGES_DIR

    return (IMAGES_DIR / "small.jpg").read_bytes()  # ThreatExchange's, as the package ships it
