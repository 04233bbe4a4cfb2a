"""The provider API answers every documented code the way NCMEC's does (Appendix D)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.utils import timezone

from himaya.accounts.services import reporter_create
from himaya.audit.models import AuditEvent
from himaya.core.models import Blob
from himaya.core.storage import path_for
from himaya.reports.models import Party, Report, ReportFile, ReportStatus
from tests.conftest import DOC_REPORT, Provider, file_details_doc

pytestmark = pytest.mark.django_db


def test_status_names_the_caller_and_carries_a_request_id(provider):
    answer = provider.get("status")
    assert answer.code == 0
    assert answer.description == "Remote User : examplechat, Remote Ip : 127.0.0.1"
    assert answer.request_id and len(answer.request_id) >= 16


def test_xsd_is_served_to_an_authenticated_provider(provider):
    response = provider.client.get("/ispws/xsd", HTTP_AUTHORIZATION=provider.auth)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert b'<xs:element name="report">' in body


def test_whole_documented_flow_with_file_and_details(provider, image_bytes):
    opened = provider.submit(DOC_REPORT)
    assert (opened.code, opened.description) == (0, "Success")
    uploaded = provider.upload(opened.report_id, image_bytes, name="mypic.jpg")
    assert uploaded.code == 0
    assert uploaded.hash == hashlib.md5(image_bytes).hexdigest()
    assert len(uploaded.file_id) == 32
    assert provider.fileinfo(file_details_doc(opened.report_id, uploaded.file_id)).code == 0
    done = provider.finish(opened.report_id)
    assert (done.code, done.report_id, done.file_ids) == (0, opened.report_id, [uploaded.file_id])

    report = Report.objects.get(id=opened.report_id)
    assert report.status == ReportStatus.FINISHED
    assert report.raw_xml == DOC_REPORT and report.raw_sha256 == hashlib.sha256(DOC_REPORT).hexdigest()
    assert report.annotations == ["sextortion", "csamSolicitation", "minorToMinorInteraction", "spam", "sadisticOnlineExploitation"]
    rf = ReportFile.objects.get(file_id=uploaded.file_id)
    assert (rf.sha1, rf.sha256) == (hashlib.sha1(image_bytes).hexdigest(), hashlib.sha256(image_bytes).hexdigest())
    assert rf.original_file_name == "mypic.jpg" and rf.ip_events.get().ip_address == "203.0.113.17"
    # Encrypted at rest: the stored bytes are not the file.
    stored = path_for(rf.blob_id).read_bytes()
    assert image_bytes[:64] not in stored and len(stored) > len(image_bytes)
    assert Party.objects.get(report=report, role="reporting_person").last_name == "Smith"
    actions = list(AuditEvent.objects.filter(target_type="reports.report", target_id=str(report.id)).values_list("action", flat=True))
    assert actions == ["report.opened", "report.file_uploaded", "report.file_details", "report.finished"]


@pytest.mark.parametrize("content_type", ["text/xml; charset=utf-8", "application/xml", "application/x-www-form-urlencoded", ""])
def test_submit_accepts_any_content_type_clients_send(provider, content_type):
    assert provider.submit(DOC_REPORT, content_type=content_type).code == 0


@pytest.mark.parametrize("multipart", [True, False])
def test_finish_and_retract_accept_urlencoded_and_multipart_forms(provider, multipart):
    a, b = provider.submit(DOC_REPORT).report_id, provider.submit(DOC_REPORT).report_id
    assert provider.finish(a, multipart=multipart).code == 0
    assert provider.retract(b, multipart=multipart).code == 0
    assert Report.objects.get(id=b).status == ReportStatus.RETRACTED


def test_2000_without_or_with_wrong_credentials(provider):
    anonymous = Provider("examplechat", "wrong-password")
    answer = anonymous.submit(DOC_REPORT)
    assert (answer.code, answer.status) == (2000, 401)
    assert answer.http["WWW-Authenticate"].startswith("Basic")
    from django.test import Client

    from tests.conftest import Answer

    assert Answer(Client().get("/ispws/status")).code == 2000
    assert not Report.objects.exists()


def test_3000_a_provider_cannot_touch_another_providers_report(provider, image_bytes):
    rid = provider.submit(DOC_REPORT).report_id
    reporter_create(username="otherplatform", password="other-pass-1")
    other = Provider("otherplatform", "other-pass-1")
    assert other.upload(rid, image_bytes).code == 3000
    assert other.finish(rid).code == 3000
    assert other.retract(rid).code == 3000
    assert Report.objects.get(id=rid).status == ReportStatus.OPEN
    assert not ReportFile.objects.exists()


def test_3100_and_3300_a_suspended_provider(provider, reporter):
    rid = provider.submit(DOC_REPORT).report_id
    from himaya.accounts.services import reporter_set_active

    reporter_set_active(reporter=reporter, active=False, actor="test")
    assert provider.submit(DOC_REPORT).code == 3100
    assert provider.finish(rid).code == 3300
    assert Report.objects.count() == 1


def test_4000_invalid_requests(provider):
    assert provider.client.get("/ispws/submit", HTTP_AUTHORIZATION=provider.auth).status_code == 400
    assert provider.get("submit").code == 4000  # wrong method
    assert provider.finish("").code == 4000  # no id
    assert provider.finish("abc").code == 4000


def test_4100_invalid_by_the_schema_and_by_the_documented_rules(provider):
    by_xsd = provider.submit(DOC_REPORT.replace(b"<reporter>", b"<unknownElement/><reporter>"))
    assert by_xsd.code == 4100 and by_xsd.status == 400
    future = provider.submit(DOC_REPORT.replace(b"2012-10-15T08:00:00-07:00", b"2099-10-15T08:00:00-07:00"))
    assert future.code == 4100 and "incidentDateTime" in future.description
    no_email = provider.submit(DOC_REPORT.replace(b"<email>jsmith@example.com</email>", b""))
    assert no_email.code == 4100
    assert not Report.objects.exists()


@pytest.mark.parametrize("body", [
    b"",
    b"<report><incidentSummary>",
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><report>&xxe;</report>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><report>&lol3;</report>',
])
def test_4110_malformed_or_hostile_xml(provider, body):
    answer = provider.submit(body)
    assert answer.code == 4110
    assert "root:" not in answer.description  # nothing of /etc/passwd leaks
    assert not Report.objects.exists()


def test_4110_document_over_the_size_limit(provider, settings):
    settings.HIMAYA_MAX_XML_BYTES = 500
    assert provider.submit(DOC_REPORT).code == 4110


def test_4200_upload_without_a_file(provider):
    rid = provider.submit(DOC_REPORT).report_id
    from tests.conftest import Answer

    no_file = Answer(provider.client.post("/ispws/upload", {"id": str(rid)}, HTTP_AUTHORIZATION=provider.auth))
    assert no_file.code == 4200
    not_multipart = Answer(provider.client.post("/ispws/upload", f"id={rid}", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=provider.auth))
    assert not_multipart.code == 4200


def test_4200_upload_over_the_size_limit_leaves_nothing(provider, settings, image_bytes):
    settings.HIMAYA_MAX_UPLOAD_BYTES = 100
    rid = provider.submit(DOC_REPORT).report_id
    assert provider.upload(rid, image_bytes).code == 4200
    assert not ReportFile.objects.exists() and not Blob.objects.exists()


def test_5001_5002_unknown_report_and_file(provider):
    assert provider.finish(999999).code == 5001
    rid = provider.submit(DOC_REPORT).report_id
    assert provider.fileinfo(file_details_doc(rid, "0" * 32)).code == 5002
    assert provider.fileinfo(file_details_doc(999999, "0" * 32)).code == 5001


def test_5101_5102_retracted_and_finished_reports_are_closed(provider, image_bytes):
    retracted = provider.submit(DOC_REPORT).report_id
    assert provider.retract(retracted).code == 0
    assert provider.upload(retracted, image_bytes).code == 5101
    assert provider.finish(retracted).code == 5101
    finished = provider.submit(DOC_REPORT).report_id
    assert provider.finish(finished).code == 0
    assert provider.upload(finished, image_bytes).code == 5102
    assert provider.retract(finished).code == 5102
    done = provider.finish(finished)
    assert (done.code, done.report_id) == (5102, finished)


def test_1210_unknown_endpoint(provider):
    assert provider.get("nothing-here").code == 1210


def test_1000_an_unexpected_fault_is_a_documented_answer_not_a_traceback(provider, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("himaya.intake.services.validate_report", boom)
    answer = provider.submit(DOC_REPORT)
    assert (answer.code, answer.status) == (1000, 500)
    assert "disk on fire" not in answer.http.content.decode()


def test_1100_save_failed_keeps_nothing(provider, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("database went away")

    monkeypatch.setattr("himaya.intake.services._write_projection", fail)
    assert provider.submit(DOC_REPORT).code == 1100
    assert not Report.objects.exists()


def test_1110_upload_failed_when_the_file_cannot_be_recorded(provider, monkeypatch, image_bytes):
    rid = provider.submit(DOC_REPORT).report_id

    def fail(*args, **kwargs):
        raise DatabaseError("database went away")

    monkeypatch.setattr("himaya.reports.models.ReportFile.objects.create", fail)
    assert provider.upload(rid, image_bytes).code == 1110
    assert not ReportFile.objects.exists()


def test_1111_file_upload_failed_when_the_store_is_unwritable(provider, monkeypatch, image_bytes):
    rid = provider.submit(DOC_REPORT).report_id

    def full(pending):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("himaya.intake.services.blob_put", full)
    assert provider.upload(rid, image_bytes).code == 1111
    assert not ReportFile.objects.exists()


def test_1300_update_failed(provider, monkeypatch):
    rid = provider.submit(DOC_REPORT).report_id

    def fail(*args, **kwargs):
        raise DatabaseError("database went away")

    monkeypatch.setattr("himaya.intake.events.report_finished_event", fail)
    assert provider.finish(rid).code == 1300
    assert Report.objects.get(id=rid).status == ReportStatus.OPEN


def test_fileinfo_once_per_file(provider, image_bytes):
    rid = provider.submit(DOC_REPORT).report_id
    fid = provider.upload(rid, image_bytes).file_id
    assert provider.fileinfo(file_details_doc(rid, fid)).code == 0
    assert provider.fileinfo(file_details_doc(rid, fid)).code == 4000


def test_file_details_rules_are_enforced(provider, image_bytes):
    rid = provider.submit(DOC_REPORT).report_id
    fid = provider.upload(rid, image_bytes).file_id
    bad = file_details_doc(rid, fid, "<fileViewedByEsp>false</fileViewedByEsp><exifViewedByEsp>true</exifViewedByEsp>")
    assert provider.fileinfo(bad).code == 4100
    assert ReportFile.objects.get(file_id=fid).details_document is None


def test_viral_meme_batched_report_allows_one_file_at_finish(provider, image_bytes):
    batched = DOC_REPORT.replace(b"<incidentSummary>", b'<batchedReport reason="VIRAL_POTENTIAL_MEME"/><incidentSummary>').replace(
        b"<internetDetails>\n        <webPageIncident>\n            <url>http://badsite.com/baduri.html</url>\n        </webPageIncident>\n    </internetDetails>", b"")
    batched = batched.replace(b"</reporter>", b"</reporter><personOrUserReported><espIdentifier>u1</espIdentifier></personOrUserReported>"
                                               b"<personOrUserReported><espIdentifier>u2</espIdentifier></personOrUserReported>")
    opened = provider.submit(batched)
    assert opened.code == 0, opened.description
    provider.upload(opened.report_id, image_bytes)
    provider.upload(opened.report_id, image_bytes + b"x")
    refused = provider.finish(opened.report_id)
    assert (refused.code, refused.status) == (4100, 400)
    assert provider.retract(opened.report_id).code == 0


def test_prior_ct_reports_must_name_existing_reports(provider):
    first = provider.submit(DOC_REPORT).report_id
    provider.finish(first)
    with_prior = lambda rid: DOC_REPORT.replace(  # noqa: E731
        b"</reporter>", f"</reporter><personOrUserReported><screenName>x</screenName><priorCTReports>{rid}</priorCTReports></personOrUserReported>".encode())
    assert provider.submit(with_prior(first)).code == 0
    assert provider.submit(with_prior(first + 1000)).code == 4100


def test_unfinished_reports_expire_and_their_files_are_removed(provider, image_bytes, django_capture_on_commit_callbacks):
    from himaya.intake.services import reports_expire

    rid = provider.submit(DOC_REPORT).report_id
    provider.upload(rid, image_bytes)
    blob = Blob.objects.get()
    assert path_for(blob.address).exists()
    now = timezone.now()
    # 23 h after opening it is still open (24 h rule) ...
    assert reports_expire(now=now + timedelta(hours=23)) == 0
    # ... and a change late in the day extends it to 1 h after that change.
    Report.objects.filter(id=rid).update(opened_at=now - timedelta(hours=30), modified_at=now - timedelta(minutes=30))
    assert reports_expire(now=now) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert reports_expire(now=now + timedelta(minutes=31)) == 1
    report = Report.objects.get(id=rid)
    assert report.status == ReportStatus.EXPIRED
    assert not path_for(blob.address).exists() and not Blob.objects.exists()
    assert ReportFile.objects.get().purged_at is not None
    assert provider.finish(rid).code == 5101


def test_a_blob_shared_with_a_live_report_survives_expiry(provider, image_bytes, django_capture_on_commit_callbacks):
    from himaya.intake.services import reports_expire

    dead, live = provider.submit(DOC_REPORT).report_id, provider.submit(DOC_REPORT).report_id
    provider.upload(dead, image_bytes)
    provider.upload(live, image_bytes)
    Report.objects.filter(id=dead).update(opened_at=timezone.now() - timedelta(days=2), modified_at=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert reports_expire() == 1
    assert ReportFile.objects.filter(report_id=dead, blob=None).count() == 1
    assert path_for(Blob.objects.get().address).exists()
    assert provider.finish(live).code == 0
