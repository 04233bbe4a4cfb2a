"""Writes of the public portal (SPEC §3.9): a citizen's report becomes a Report
(source `portal`) with its files, its sealed contact and a receipt; then
messages, both ways.

A portal report enters intake as any report does: its CyberTipline document is
built by document.py, validated by intake's own validator, stored by intake's
`report_create_from_tree`, its files go through the same encrypted store as
provider files and it is finished with `enqueue_report_received`, so hashing,
matching, linking and triage run on it.
"""
from __future__ import annotations

import base64
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from himaya.accounts.permissions import Action, get_for
from himaya.core.fields import seal as site_seal
from himaya.core.fields import unseal as site_unseal
from himaya.core.storage import PendingFile, blob_put
from himaya.intake.cybertip import to_xml
from himaya.intake.services import enqueue_report_received, report_create_from_tree, validate_report
from himaya.portal import crypto, events
from himaya.portal.conf import setting
from himaya.portal.document import Answers, What, Who, Wording, build_report
from himaya.portal.models import Author, PortalMessage, PortalSubmission
from himaya.reports.models import Report, ReportFile, ReportSource, ReportStatus

MAX_STORY = 5000
MAX_MESSAGE = 3000
ACCESS_SECONDS = 30 * 60


class PortalError(Exception):
    """Input the portal refuses, with a message for the reporter."""


@dataclass(frozen=True)
class Upload:
    pending: PendingFile
    name: str


def portal_unit() -> Any:
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code=setting("HIMAYA_PORTAL_UNIT", None))


def escalation_for(answers: Answers) -> str:
    """A child threatened with their own images is at risk now (self-harm follows
    sextortion): the portal escalates it, so the report is P1 on the rules' own
    floor whatever else it says. Call in the unit's language."""
    if answers.what != What.SEXTORTION:
        return ""
    if answers.who == Who.CHILD:
        return gettext("Public portal: a child reports that someone is threatening them with their images (sextortion).")
    return gettext("Public portal: someone reports that a child is being threatened with their images (sextortion).")


def wording_for(answers: Answers) -> Wording:
    """The portal's words in the document, in the unit's language (not the reporter's)."""
    with translation.override(settings.LANGUAGE_CODE):
        return Wording(portal=gettext("Public portal"), undated=gettext("Not given by the reporter: the time the report was sent."),
                       escalation=escalation_for(answers))


def _safe_name(name: str, position: int) -> str:
    """A file's name may say who the child is: keep only its extension."""
    ext = os.path.splitext(name or "")[1].lower()
    ext = ext if ext[1:].isalnum() and len(ext) <= 8 else ""
    return f"portal-file-{position}{ext}"


def portal_report_submit(*, answers: Answers, contact: dict[str, str] | None, uploads: list[Upload], now: datetime | None = None) -> tuple[Report, str]:
    """Store the report; the receipt (returned once, never stored) opens it again."""
    now = now or timezone.now()
    try:
        unit = portal_unit()
        tree = build_report(answers, now=now, wording=wording_for(answers))
        raw = to_xml(tree)
        tree = validate_report(raw, now=now, unit_id=unit.id)  # what is stored is what intake accepts
        receipt = crypto.receipt_new()
        keys = crypto.receipt_keys(receipt)
        report_keys = crypto.report_keys_new(wrap=keys.wrap)
        with transaction.atomic():
            report = report_create_from_tree(tree=tree, raw=raw, unit=unit, source=ReportSource.PORTAL, reporter=None,
                                             now=now, status=ReportStatus.FINISHED)
            for position, upload in enumerate(uploads, start=1):
                blob = blob_put(upload.pending)
                s = upload.pending.stored
                ReportFile.objects.create(
                    report=report, file_id=uuid.uuid4().hex, position=position, blob=blob, upload_name=_safe_name(upload.name, position),
                    size=s.size, md5=s.md5, sha1=s.sha1, sha256=s.sha256, uploaded_at=now,
                )
            PortalSubmission.objects.create(
                report=report, receipt_lookup=keys.lookup, public_key=report_keys.public, key_for_unit=report_keys.for_unit,
                key_for_receipt=report_keys.for_receipt, unit_key_id=report_keys.unit_key_id,
                contact=crypto.seal(report_keys.public, contact) if contact else None, created_at=now,
            )
            events.portal_report_received_event(report=report, files=len(uploads), anonymous=not contact)
            enqueue_report_received(report.id)
    finally:
        for upload in uploads:
            upload.pending.discard()  # a no-op once blob_put moved it into place
    return report, receipt


# The reporter's side ---------------------------------------------------------


@dataclass(frozen=True)
class ReporterAccess:
    submission: PortalSubmission
    wrap: bytes

    def token(self, *, now: float | None = None) -> str:
        """For the reply form (a hidden field, never a cookie): the report and its
        wrapping key, sealed with the site key, for half an hour."""
        now = now if now is not None else time.time()
        body = json.dumps({"s": self.submission.pk, "k": self.wrap.hex(), "e": int(now) + ACCESS_SECONDS}).encode()
        return base64.urlsafe_b64encode(site_seal(body, purpose=b"portal-access")).decode()


def access_by_receipt(*, receipt: str) -> ReporterAccess | None:
    digits = crypto.receipt_normalise(receipt)
    if len(digits) != crypto.RECEIPT_DIGITS:
        return None
    keys = crypto.receipt_keys(digits)
    submission = PortalSubmission.objects.select_related("report").filter(receipt_lookup=keys.lookup).first()
    if submission is None:
        return None
    events.portal_status_viewed_event(report=submission.report)
    return ReporterAccess(submission=submission, wrap=keys.wrap)


def access_by_token(*, token: str, now: float | None = None) -> ReporterAccess | None:
    try:
        body = json.loads(site_unseal(base64.urlsafe_b64decode(token.encode()), purpose=b"portal-access"))
        if body["e"] < (now if now is not None else time.time()):
            return None
        submission = PortalSubmission.objects.select_related("report").filter(pk=int(body["s"])).first()
        wrap = bytes.fromhex(body["k"])
    except Exception:  # forged, truncated or from another installation: no access, no detail
        return None
    return ReporterAccess(submission=submission, wrap=wrap) if submission else None


def _clean_message(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise PortalError(gettext("Please write a message."))
    if len(text) > MAX_MESSAGE:
        raise PortalError(gettext("Your message is too long. Please keep it under %(n)d letters.") % {"n": MAX_MESSAGE})
    return text


@transaction.atomic
def portal_reporter_message(*, access: ReporterAccess, text: str, now: datetime | None = None) -> PortalMessage:
    """Sealed to the report's public key: this code cannot read it back."""
    now = now or timezone.now()
    text = _clean_message(text)
    submission = access.submission
    message = PortalMessage.objects.create(submission=submission, author=Author.REPORTER, body=crypto.seal(submission.public_key, text), created_at=now)
    PortalSubmission.objects.filter(pk=submission.pk).update(last_reporter_message_at=now)
    events.portal_reporter_message_event(report=submission.report, message_id=message.pk, size=len(text.encode()))
    return message


# The unit's side -------------------------------------------------------------


@transaction.atomic
def portal_reply(*, actor: Any, report_id: int, text: str, now: datetime | None = None) -> PortalMessage:
    """A staff member answers the reporter (intake analysts, child protection, supervisors)."""
    now = now or timezone.now()
    submission = get_for(PortalSubmission.objects.select_related("report"), actor, Action.CREATE, report_id=report_id)
    text = _clean_message(text)
    message = PortalMessage.objects.create(submission=submission, author=Author.UNIT, staff_user=actor,
                                           body=crypto.seal(submission.public_key, text), created_at=now)
    PortalSubmission.objects.filter(pk=submission.pk).update(last_unit_message_at=now, seen_by_unit_at=now)
    events.portal_reply_sent_event(actor=actor, report=submission.report, message_id=message.pk, size=len(text.encode()))
    return message
