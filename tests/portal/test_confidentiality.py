"""Read the database and the file store as raw bytes, past every model field's
decryption: no contact detail, message text, file content or receipt in clear."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from himaya.accounts.services import user_create
from himaya.core.storage import media_root
from himaya.portal import crypto
from himaya.portal.models import PortalSubmission
from himaya.reports.models import Report
from tests.auth_helpers import login_verified
from tests.portal.conftest import TOKEN, form_fields, png_bytes, receipt_of, submit
from tests.raw_bytes import raw_database, raw_files

NAME = "Zaynab Qasim-Example"
PHONE = "+970599123987"
EMAIL = "zaynab.family@example.com"
CHILD_MESSAGE = "He messaged me again from a new account at nine"
STAFF_MESSAGE = "We are looking at it now. Do not answer him"
FILE_MARKER = "portal-file-content-marker-7f3a"


@pytest.mark.django_db
def test_nothing_the_reporter_said_privately_is_stored_in_clear(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    picture = png_bytes(marker=FILE_MARKER)
    child = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(child, form_fields(contact_choice="contact", name=NAME, phone=PHONE, email=EMAIL), files=[("me.png", picture)])
    receipt = receipt_of(response)
    report = Report.objects.get()
    token = TOKEN.search(child.post("/portal/follow-up/", {"receipt": receipt}).content.decode()).group(1)
    child.post("/portal/follow-up/reply/", {"token": token, "text": CHILD_MESSAGE})
    analyst = user_create(username="analyst-raw", password="staff-password-1", roles=["intake_analyst"], unit_code=report.unit.code)
    staff = login_verified(Client(), analyst)
    staff.post(f"/portal/staff/{report.pk}/reply/", {"text": STAFF_MESSAGE})
    # It all works through the models (so the secrets below are really stored)...
    assert CHILD_MESSAGE in staff.get(f"/portal/staff/{report.pk}/").content.decode()
    assert PHONE in staff.get(f"/portal/staff/{report.pk}/contact/").content.decode()

    # ...and none of it is in the raw rows or in the file store.
    secrets = [NAME, PHONE, PHONE[1:], EMAIL, "zaynab", CHILD_MESSAGE, STAFF_MESSAGE, FILE_MARKER, receipt]
    database = raw_database()
    assert len(database) > 100
    for secret in secrets:
        needle = secret.encode()
        assert not any(needle in value or needle.lower() in value.lower() for value in database), secret
    files = raw_files(media_root())
    assert files
    chunk = picture[len(picture) // 2: len(picture) // 2 + 32]
    for blob in files:
        assert FILE_MARKER.encode() not in blob and chunk not in blob and b"\x89PNG" not in blob
    assert not any(receipt.encode() in b for b in raw_files(Path(crypto._key_dir())))


@pytest.mark.django_db
def test_the_code_that_stores_cannot_read_back(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    """A portal-only machine holds the public key alone: it stores, it cannot read."""
    from himaya.portal.services import portal_report_submit
    from tests.portal.conftest import sextortion_answers

    report, _ = portal_report_submit(answers=sextortion_answers(), contact={"phone": PHONE}, uploads=[])
    submission = PortalSubmission.objects.get(report=report)
    private = Path(settings.HIMAYA_KEY_DIR) / crypto.PRIVATE_NAME
    kept = private.read_bytes()
    private.unlink()
    try:
        with pytest.raises(crypto.PortalKeyMissing):
            crypto.report_private_for_staff(submission.key_for_unit)
        # Storing goes on with the public key only.
        portal_report_submit(answers=sextortion_answers(), contact={"phone": PHONE}, uploads=[])
    finally:
        private.write_bytes(kept)
    assert crypto.unseal(crypto.report_private_for_staff(submission.key_for_unit), submission.contact) == {"phone": PHONE}
