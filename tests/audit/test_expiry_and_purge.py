"""The expiry of an unfinished report commits, its files are purged only after that
commit, and every purged file leaves an audit event (issue 13's review)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.audit.models import AuditEvent
from himaya.core.models import Blob
from himaya.core.storage import path_for
from himaya.reports.models import Report, ReportFile, ReportStatus
from tests.conftest import DOC_REPORT


def _age(report_id: int) -> None:
    long_ago = timezone.now() - timedelta(days=2)
    Report.objects.filter(id=report_id).update(opened_at=long_ago, modified_at=long_ago)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ["finish", "retract", "upload"])
def test_a_request_on_an_expired_report_commits_the_expiry_and_then_purges(provider, image_bytes, endpoint):
    """Real commits (transaction=True), the immediate task backend of the tests: before
    the fix the purge ran inside the request's transaction, deleted the file, and the
    5101 answer rolled the expiry back: an open report whose file row pointed at
    nothing."""
    rid = provider.submit(DOC_REPORT).report_id
    provider.upload(rid, image_bytes)
    address = Blob.objects.get().address
    _age(rid)

    answer = provider.upload(rid, image_bytes + b"more") if endpoint == "upload" else getattr(provider, endpoint)(rid)

    assert answer.code == 5101
    report = Report.objects.get(id=rid)
    rf = ReportFile.objects.get(report=report)
    assert report.status == ReportStatus.EXPIRED
    # The rows and the storage agree: the content is gone and the row says so.
    assert rf.blob_id is None and rf.purged_at is not None
    assert not path_for(address).exists() and not Blob.objects.exists()
    actions = list(AuditEvent.objects.filter(target_type="reports.report", target_id=str(rid)).order_by("id").values_list("action", flat=True))
    assert actions == ["report.opened", "report.file_uploaded", "report.expired", "report.file_purged"]
    purged = AuditEvent.objects.get(action="report.file_purged")
    assert purged.data == {"file_id": rf.file_id, "sha256": rf.sha256, "content_removed": True}
    assert purged.unit_id == report.unit_id


@pytest.mark.django_db
def test_the_purge_waits_for_the_commit_of_the_expiry(provider, image_bytes, django_capture_on_commit_callbacks):
    """Inside a transaction that has not committed, nothing is deleted yet."""
    from himaya.intake.services import reports_expire

    rid = provider.submit(DOC_REPORT).report_id
    provider.upload(rid, image_bytes)
    address = Blob.objects.get().address
    _age(rid)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert reports_expire() == 1
        assert path_for(address).exists() and ReportFile.objects.get().blob_id == address
    assert callbacks  # the purge, queued for after the commit
    with django_capture_on_commit_callbacks(execute=True):  # the purge deletes the content after its own commit
        for callback in callbacks:
            callback()
    assert not path_for(address).exists() and ReportFile.objects.get().blob_id is None


@pytest.mark.django_db
def test_a_shared_content_stays_and_its_purge_says_so(provider, image_bytes, django_capture_on_commit_callbacks):
    dead, live = provider.submit(DOC_REPORT).report_id, provider.submit(DOC_REPORT).report_id
    provider.upload(dead, image_bytes)
    provider.upload(live, image_bytes)
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.retract(dead).code == 0
    event = AuditEvent.objects.get(action="report.file_purged")
    assert event.target_id == str(dead) and event.data["content_removed"] is False
    assert path_for(Blob.objects.get().address).exists()


@pytest.mark.django_db
def test_a_purge_lost_after_the_commit_is_caught_up_by_the_periodic_expiry(provider, image_bytes):
    """A crash between the expiry's commit and the purge's enqueue leaves files behind:
    the periodic upkeep purges closed reports still holding content after an hour."""
    from himaya.intake.services import reports_expire

    rid = provider.submit(DOC_REPORT).report_id
    provider.upload(rid, image_bytes)
    Report.objects.filter(id=rid).update(status=ReportStatus.RETRACTED, closed_at=timezone.now() - timedelta(hours=2))
    assert reports_expire() == 0
    assert ReportFile.objects.get().blob_id is None and not Blob.objects.exists()
    assert AuditEvent.objects.filter(action="report.file_purged", target_id=str(rid)).count() == 1
