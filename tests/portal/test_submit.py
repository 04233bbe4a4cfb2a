"""A portal report becomes a report like any other: source `portal`, a valid
CyberTipline document, its files in the encrypted store with their hashes,
linked and triaged — and a child reporting their own sextortion is P1."""
from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
from django.test import Client

from himaya.core.storage import read_plaintext
from himaya.intake.cybertip import to_xml, validate_schema
from himaya.intake.cybertip.parse import parse_xml
from himaya.portal.models import PortalSubmission
from himaya.reports.models import Identifier, Report, ReportFile
from himaya.triage.models import ReportTriage
from tests.portal.conftest import form_fields, png_bytes, receipt_of, submit


@pytest.fixture
def sent(db, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    picture = png_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(Client(), form_fields(), files=[("layla-at-school.png", picture)])
    assert response.status_code == 200, response.content.decode()[:2000]
    return Report.objects.get(), picture, receipt_of(response)


def test_child_reporting_own_sextortion_is_p1_with_its_reasons(sent) -> None:  # type: ignore[no-untyped-def]
    report, _, _ = sent
    assert report.source == "portal" and report.status == "finished" and report.finished_at
    assert report.annotations == ["sextortion"]
    triage = ReportTriage.objects.get(report=report)
    assert triage.priority == "P1"
    rules = {r["rule"] for r in triage.reasons}
    assert {"provider_escalation", "annotation_sextortion", "text_sextortion"} <= rules
    assert "sextortion" in triage.classification["offences"]


def test_sextortion_reported_by_a_parent_without_a_matching_phrase_is_still_p1(db, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        submit(Client(), form_fields(who="parent", story="Someone online is frightening my daughter.", account="", url="", platform="",
                                     when=(date.today() - timedelta(days=60)).isoformat()))
    triage = ReportTriage.objects.get()
    # Without the portal's escalation this scores P2 (an old incident, no account to act on).
    assert triage.priority == "P1" and "provider_escalation" in {r["rule"] for r in triage.reasons}


def test_other_kinds_are_not_escalated(db, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        submit(Client(), form_fields(what="other", who="other", story="A page I saw worried me.", account="", url=""))
    report = Report.objects.get()
    assert report.escalation == "" and ReportTriage.objects.get(report=report).priority != "P1"


def test_the_document_validates_and_exports_like_a_provider_report(sent) -> None:  # type: ignore[no-untyped-def]
    from himaya.intake.cybertip import Node

    report, _, _ = sent
    root, _ = parse_xml(report.raw_xml)
    validate_schema(root, expect="report")
    exported = to_xml(Node.from_json(report.document))
    validate_schema(parse_xml(exported)[0], expect="report")
    assert b"shadow_fox_21" in exported
    # The suspect's account is an identifier for linking; the reporter has none.
    assert Identifier.objects.filter(report=report, kind="screen_name", value="shadow_fox_21").exists()
    assert not Identifier.objects.filter(report=report, kind__in=["phone"]).exists()


def test_files_go_through_the_provider_store_and_hashing(sent) -> None:  # type: ignore[no-untyped-def]
    from himaya.media.models import MediaState

    report, picture, _ = sent
    rf = ReportFile.objects.get(report=report)
    assert rf.sha256 == hashlib.sha256(picture).hexdigest() and rf.md5 == hashlib.md5(picture).hexdigest()
    assert read_plaintext(rf.blob.address) == picture
    assert rf.upload_name == "portal-file-1.png"  # the child's file name is not kept
    media = MediaState.objects.get(blob=rf.blob)
    assert media.pdq  # hashed in the background like any provider file


def test_receipt_is_sixteen_digits_and_only_its_hash_is_stored(sent) -> None:  # type: ignore[no-untyped-def]
    report, _, receipt = sent
    assert len(receipt) >= 16 and receipt.isdigit()
    submission = PortalSubmission.objects.get(report=report)
    assert receipt not in submission.receipt_lookup and len(submission.receipt_lookup) == 64


def test_bad_input_is_refused_without_a_half_written_report(db) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = submit(client, form_fields(what="", story=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error"' in html and 'data-challenge="' in html
    response = submit(client, form_fields(contact_choice="contact", name="Sami Example"))
    assert response.status_code == 400  # contact chosen, but no phone or email
    assert Report.objects.count() == 0 and ReportFile.objects.count() == 0


def test_files_over_the_limit_are_refused(db, settings) -> None:  # type: ignore[no-untyped-def]
    from himaya.core.storage import media_root

    settings.HIMAYA_PORTAL_MAX_FILE_BYTES = 10_000
    before = set((media_root() / "tmp").glob("*.part"))  # another test of this process may have left its own
    response = submit(Client(), form_fields(), files=[("big.bin", b"x" * 20_000)])
    assert response.status_code == 413
    response = submit(Client(), form_fields(), files=[(f"f{i}.png", png_bytes(marker=str(i))) for i in range(6)])
    assert response.status_code == 413
    assert Report.objects.count() == 0
    assert set((media_root() / "tmp").glob("*.part")) <= before  # nothing left behind


def test_a_portal_report_joins_a_case_through_the_api(sent) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import user_create
    from tests.auth_helpers import login_verified

    report = sent[0]
    analyst = user_create(username="analyst-case", password="staff-password-1", roles=["intake_analyst"], unit_code=report.unit.code)
    client = login_verified(Client(), analyst)
    response = client.post("/api/v1/cases/", {"title": "Sextortion reported by a child", "reports": [report.pk]}, content_type="application/json")
    assert response.status_code == 201 and response.json()["reports"] == [report.pk]
    assert client.get(f"/api/v1/reports/{report.pk}/").json()["source"] == "portal"
    assert client.get(f"/api/v1/reports/{report.pk}/").json()["case"] == response.json()["id"]


@pytest.mark.django_db
def test_a_child_reporting_what_happened_this_morning_is_not_refused() -> None:
    """The day a citizen gives is stored at noon; at 07:00 noon has not come, and
    in Hebron 01:00 is already the next day in the form while still yesterday in UTC."""
    from datetime import datetime, timezone as tz
    from zoneinfo import ZoneInfo

    from himaya.portal.services import portal_report_submit
    from tests.portal.conftest import sextortion_answers

    for now in (datetime(2026, 12, 3, 7, 0, tzinfo=tz.utc), datetime(2026, 12, 3, 23, 30, tzinfo=tz.utc)):
        local_day = now.astimezone(ZoneInfo("Asia/Hebron")).date()
        report, _ = portal_report_submit(answers=sextortion_answers(when=local_day), contact={}, uploads=[], now=now)
        assert report.incident_at is not None and report.incident_at <= now
