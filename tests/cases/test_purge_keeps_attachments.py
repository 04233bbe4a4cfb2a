"""A retracted report's files are purged, but content a case attachment also holds
stays: the purge must not fail on it, and the attachment still downloads whole."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from himaya.cases import services
from himaya.cases.models import Attachment
from himaya.intake.services import report_files_purge
from himaya.reports.models import Report, ReportFile, ReportStatus
from tests.auth_helpers import login_verified
from tests.linking.factory import FileSpec, Person, report_xml, store

pytestmark = pytest.mark.django_db

CONTENT = b"synthetic screenshot bytes kept as evidence in a case" * 20


def test_purging_a_retracted_reports_file_keeps_the_same_content_in_a_case_attachment(people, reports, unit) -> None:  # type: ignore[no-untyped-def]
    retracted = store(report_xml(suspect=Person(esp_id="gone-1")), unit=unit, files=[FileSpec(content=CONTENT)])
    case = services.case_open(actor=people["supervisor"], title="evidence", report_ids=[reports[0].id])
    services.case_assign(actor=people["supervisor"], case=case, usernames=["investigator"])
    inv = login_verified(Client(), people["investigator"])
    assert inv.post(f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("screenshot.png", CONTENT)}).status_code == 302
    attachment = Attachment.objects.get(case=case)
    # The same bytes arrived as the report's file: one stored content, two holders.
    ReportFile.objects.filter(report=retracted).update(blob_id=attachment.blob_id)

    Report.objects.filter(pk=retracted.pk).update(status=ReportStatus.RETRACTED)
    assert report_files_purge(report_id=retracted.pk) == 1
    assert ReportFile.objects.get(report=retracted).purged_at is not None
    download = inv.get(f"/cases/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == CONTENT
