"""Reads of the portal: what a reporter sees with their receipt, and what staff
see of a portal report. Every read of a reporter's messages or contact by staff
is checked against the permission table and audited in the same transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Action, Kind, allowed, get_for
from himaya.portal import crypto, events
from himaya.portal.models import Author, DeviceHash, PortalMessage, PortalSubmission
from himaya.portal.services import ReporterAccess
from himaya.reports.models import ReportStatus
from himaya.triage.models import ReportTriage

STATUS_WORDS = {
    "received": _("We have your report. A person in our team will read it soon."),
    "read": _("A person in our team has read your report and is working on it."),
    "answered": _("Our team has written to you. Read the message below."),
    "closed": _("Your report is closed. You can still write to us here."),
}


@dataclass(frozen=True)
class Line:
    author: str
    at: datetime
    text: str
    staff: str = ""

    @property
    def from_unit(self) -> bool:
        return self.author == Author.UNIT


def status_key(submission: PortalSubmission) -> str:
    report = submission.report
    if report.closed_at or report.status != ReportStatus.FINISHED:
        return "closed"
    if submission.last_unit_message_at and (not submission.last_reporter_message_at
                                            or submission.last_unit_message_at >= submission.last_reporter_message_at):
        return "answered"
    if submission.seen_by_unit_at or ReportTriage.objects.filter(report_id=report.pk, reviewed_at__isnull=False).exists():
        return "read"
    return "received"


def _lines(submission: PortalSubmission, private: Any, *, with_staff: bool) -> list[Line]:
    return [
        Line(author=m.author, at=m.created_at, text=crypto.unseal(private, m.body),
             staff=(m.staff_user.get_username() if with_staff and m.staff_user else ""))
        for m in PortalMessage.objects.filter(submission=submission).select_related("staff_user").order_by("id")
    ]


def reporter_thread(access: ReporterAccess) -> dict[str, Any]:
    """The reporter's view: status in plain words and the conversation (never a staff name)."""
    submission = PortalSubmission.objects.select_related("report").get(pk=access.submission.pk)
    private = crypto.report_private_for_reporter(submission.key_for_receipt, access.wrap)
    key = status_key(submission)
    return {"status": key, "status_words": STATUS_WORDS[key], "lines": _lines(submission, private, with_staff=False),
            "received_at": submission.created_at}


@dataclass(frozen=True)
class DeviceLine:
    """A picture the reporter hashed on their device (not secret: hashes follow the report's visibility)."""

    file_id: str
    md5: str
    sha256: str
    pdq: str
    pdq_quality: int | None
    status: str
    matches: list[dict[str, Any]]


@dataclass(frozen=True)
class StaffPanel:
    """What the report page shows of a portal report. Read only: nothing is
    decrypted and nothing is written while the page renders; the conversation
    is opened on its own page (services.portal_thread_open), audited there."""

    may_read: bool
    may_reply: bool
    may_see_contact: bool
    anonymous: bool
    messages: int
    waiting: bool  # the reporter wrote last, or wrote and nobody has answered yet
    device: list[DeviceLine]


def staff_panel(*, user: Any, report: Any) -> StaffPanel | None:
    """None for a report that did not come through the portal."""
    submission = PortalSubmission.objects.filter(report_id=report.pk).first()
    if submission is None:
        return None
    device = [
        DeviceLine(file_id=d.report_file.file_id, md5=d.report_file.md5, sha256=d.report_file.sha256, pdq=d.pdq,
                   pdq_quality=d.pdq_quality, status=d.status, matches=list(d.matches))
        for d in DeviceHash.objects.filter(report_file__report_id=report.pk).select_related("report_file").order_by("report_file__position")
    ]
    in_unit = user.unit_id == report.unit_id
    last = submission.last_reporter_message_at
    return StaffPanel(
        may_read=in_unit and allowed(user, Action.VIEW, Kind.PORTAL_MESSAGE),
        may_reply=in_unit and allowed(user, Action.CREATE, Kind.PORTAL_MESSAGE),
        may_see_contact=in_unit and allowed(user, Action.VIEW_IDENTITY, Kind.PORTAL_MESSAGE),
        anonymous=submission.anonymous, messages=PortalMessage.objects.filter(submission=submission).count(),
        waiting=bool(last and (not submission.last_unit_message_at or last > submission.last_unit_message_at)),
        device=device,
    )


@dataclass(frozen=True)
class StaffThread:
    report: Any
    anonymous: bool
    lines: list[Line]
    may_reply: bool
    may_see_contact: bool


@transaction.atomic
def staff_thread(*, user: Any, report_id: int) -> StaffThread:
    """The conversation, decrypted for a permitted member of the report's unit (404
    for another unit, 403 for a role that may not); the read is audited."""
    submission = get_for(PortalSubmission.objects.select_related("report"), user, Action.VIEW, report_id=report_id)
    lines = _lines(submission, crypto.report_private_for_staff(submission.key_for_unit), with_staff=True)
    events.portal_messages_viewed_event(actor=user, report=submission.report, messages=len(lines))
    return StaffThread(report=submission.report, anonymous=submission.anonymous, lines=lines,
                       may_reply=allowed(user, Action.CREATE, Kind.PORTAL_MESSAGE),
                       may_see_contact=allowed(user, Action.VIEW_IDENTITY, Kind.PORTAL_MESSAGE))


@transaction.atomic
def staff_contact(*, user: Any, report_id: int) -> dict[str, str] | None:
    """The reporter's contact (None when they chose to stay anonymous); audited."""
    submission = get_for(PortalSubmission.objects.select_related("report"), user, Action.VIEW_IDENTITY, report_id=report_id)
    if submission.contact is None:
        return None
    contact = crypto.unseal(crypto.report_private_for_staff(submission.key_for_unit), submission.contact)
    events.portal_identity_viewed_event(actor=user, report=submission.report)
    return contact
