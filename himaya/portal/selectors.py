"""Reads of the portal: what a reporter sees with their receipt, and what staff
see of a portal report. Every read of a reporter's messages or contact by staff
is checked against the permission table and audited in the same transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Action, Kind, allowed, get_for
from himaya.portal import crypto, events
from himaya.portal.models import Author, PortalMessage, PortalSubmission
from himaya.portal.services import ReporterAccess
from himaya.reports.models import ReportStatus

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
    if submission.seen_by_unit_at:
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
class StaffPanel:
    may_read: bool
    may_reply: bool
    may_see_contact: bool
    anonymous: bool
    lines: list[Line]
    key_missing: bool = False


@transaction.atomic
def staff_panel(*, user: Any, report: Any) -> StaffPanel | None:
    """None for a report that did not come through the portal. Reading the
    messages is audited, and tells the reporter that a person has read it."""
    submission = PortalSubmission.objects.filter(report_id=report.pk).first()
    if submission is None:
        return None
    if not allowed(user, Action.VIEW, Kind.PORTAL_MESSAGE) or user.unit_id != report.unit_id:
        return StaffPanel(may_read=False, may_reply=False, may_see_contact=False, anonymous=submission.anonymous, lines=[])
    submission = get_for(PortalSubmission.objects.select_related("report"), user, Action.VIEW, pk=submission.pk)
    try:
        private = crypto.report_private_for_staff(submission.key_for_unit)
    except crypto.PortalKeyMissing:
        return StaffPanel(may_read=True, may_reply=False, may_see_contact=False, anonymous=submission.anonymous, lines=[], key_missing=True)
    lines = _lines(submission, private, with_staff=True)
    events.portal_messages_viewed_event(actor=user, report=submission.report, messages=len(lines))
    if submission.seen_by_unit_at is None:
        PortalSubmission.objects.filter(pk=submission.pk).update(seen_by_unit_at=timezone.now())
    return StaffPanel(
        may_read=True, may_reply=allowed(user, Action.CREATE, Kind.PORTAL_MESSAGE),
        may_see_contact=allowed(user, Action.VIEW_IDENTITY, Kind.PORTAL_MESSAGE), anonymous=submission.anonymous, lines=lines,
    )


@transaction.atomic
def staff_contact(*, user: Any, report_id: int) -> dict[str, str] | None:
    """The reporter's contact (None when they chose to stay anonymous); audited."""
    submission = get_for(PortalSubmission.objects.select_related("report"), user, Action.VIEW_IDENTITY, report_id=report_id)
    if submission.contact is None:
        return None
    contact = crypto.unseal(crypto.report_private_for_staff(submission.key_for_unit), submission.contact)
    events.portal_identity_viewed_event(actor=user, report=submission.report)
    return contact
