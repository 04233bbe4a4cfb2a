"""The one catalogue of audit event types (SPEC §3.10).

Every audit event is a member of `AuditAction`; its stored value is the member's
value (so events recorded before the catalogue existed read the same). Each app
writes its events through one small typed function per event in its own
`events.py` (Saleor's `order/events.py`, Zulip's `do_*` actions), called inside
the transaction of the change. The text people read is rendered from the
member's label and the event's fields through gettext, never parsed back.

Add a member here (with its label) before writing an event of a new type.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # accounts
    UNIT_CREATED = "unit.created", _("Unit created")
    USER_CREATED = "user.created", _("User created")
    USER_UPDATED = "user.updated", _("User changed")
    REPORTER_CREATED = "reporter.created", _("Provider account created")
    REPORTER_PASSWORD_SET = "reporter.password_set", _("Provider password set")
    REPORTER_SUSPENDED = "reporter.suspended", _("Provider account suspended")
    REPORTER_RESTORED = "reporter.restored", _("Provider account restored")
    TOKEN_CREATED = "token.created", _("API token created")
    # intake and reports
    REPORT_OPENED = "report.opened", _("Report opened by a provider")
    REPORT_FILE_UPLOADED = "report.file_uploaded", _("File uploaded")
    REPORT_FILE_DETAILS = "report.file_details", _("File details received")
    REPORT_FINISHED = "report.finished", _("Report finished")
    REPORT_RETRACTED = "report.retracted", _("Report retracted")
    REPORT_EXPIRED = "report.expired", _("Unfinished report expired")
    REPORT_IMPORTED = "report.imported", _("Report imported")
    REPORT_EXPORTED = "report.exported", _("Report exported")
    REPORT_VIEWED = "report.viewed", _("Report viewed")
    # media
    MEDIA_HASHED = "media.hashed", _("File hashed")
    MEDIA_MATCHED = "media.matched", _("File matched")
    MEDIA_VIEWED = "media.viewed", _("File preview served")
    MEDIA_REVEALED = "media.revealed", _("File revealed")
    MEDIA_AUTHORISATION_RECORDED = "media.authorisation_recorded", _("Legal authorisation recorded")
    MEDIA_PERMISSION_GRANTED = "media.permission_granted", _("Media permission granted")
    MEDIA_PERMISSION_WITHDRAWN = "media.permission_withdrawn", _("Media permission withdrawn")
    MEDIA_REMATCH_QUEUED = "media.rematch_queued", _("Re-matching queued")
    MEDIA_REMATCH_DONE = "media.rematch_done", _("Re-matching finished")
    HASHLIST_IMPORTED = "hashlist.imported", _("Hash list imported")
    HASHLIST_EXPORTED = "hashlist.exported", _("Hash list exported")
    HASHLIST_DELETED = "hashlist.deleted", _("Hash list retired")
    # linking and triage
    GEOIP_UPDATED = "linking.geoip_updated", _("IP location data replaced")
    LINK_SEPARATED = "report.link_separated", _("Linked reports marked as different people")
    LINK_SEPARATION_UNDONE = "report.link_separation_undone", _("Separation of linked reports undone")
    PRIORITY_CHANGED = "report.priority_changed", _("Priority changed")
    TRIAGE_OVERRIDDEN = "report.triage_overridden", _("Triage overridden")
    TRIAGE_REVIEWED = "report.triage_reviewed", _("Triage reviewed")
    TRIAGE_REBUILT = "triage.rebuilt", _("Triage rebuilt")
    RULESET_PUBLISHED = "triage.ruleset_published", _("Triage rules published")
