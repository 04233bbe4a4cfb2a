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
    TOKEN_REVOKED = "token.revoked", _("API token revoked")
    USER_LOCKED = "user.locked", _("Account locked after failed logins")
    USER_UNLOCKED = "user.unlocked", _("Account unlocked")
    USER_SECOND_FACTOR_ENROLLED = "user.second_factor_enrolled", _("Second factor enrolled")
    USER_SECOND_FACTOR_RESET = "user.second_factor_reset", _("Second factor reset")
    USER_RECOVERY_CODE_USED = "user.recovery_code_used", _("Recovery code used")
    USER_RECOVERY_CODES_RENEWED = "user.recovery_codes_renewed", _("Recovery codes renewed")
    REPORTER_LOCKED = "reporter.locked", _("Provider account locked after failed requests")
    ADDRESS_THROTTLED = "auth.address_throttled", _("Address throttled after failed authentications")
    USER_ROLES_CHANGED = "user.roles_changed", _("User roles changed")
    USER_DEACTIVATED = "user.deactivated", _("User deactivated")
    USER_REACTIVATED = "user.reactivated", _("User reactivated")
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
    REPORT_FILE_PURGED = "report.file_purged", _("File of a closed report removed")
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
    # cases
    CASE_OPENED = "case.opened", _("Case opened")
    CASE_STATUS_CHANGED = "case.status_changed", _("Case status changed")
    CASE_ASSIGNED = "case.assigned", _("Case assignees changed")
    CASE_MERGED = "case.merged", _("Cases merged")
    CASE_REPORTS_ADDED = "case.reports_added", _("Reports added to a case")
    CASE_NOTE_ADDED = "case.note_added", _("Case note added")
    CASE_DEADLINE_SET = "case.deadline_set", _("Case deadline set")
    TASK_CREATED = "task.created", _("Task created")
    TASK_STATUS_CHANGED = "task.status_changed", _("Task status changed")
    VICTIM_CREATED = "victim.created", _("Victim record created")
    VICTIM_UPDATED = "victim.updated", _("Victim record changed")
    VICTIM_IDENTITY_VIEWED = "victim.identity_viewed", _("Victim identity viewed")
    REFERRAL_CREATED = "referral.created", _("Referral requested")
    REFERRAL_MOVED = "referral.moved", _("Referral state changed")
    SUSPECT_CREATED = "suspect.created", _("Suspect added")
    SUSPECT_UPDATED = "suspect.updated", _("Suspect record changed")
    SUSPECT_STATUS_CHANGED = "suspect.status_changed", _("Suspect status changed")
    LEGAL_REQUEST_CREATED = "legal_request.created", _("Legal request recorded")
    LEGAL_REQUEST_ANSWERED = "legal_request.answered", _("Legal request answered")
    LEGAL_REQUEST_DOCUMENT_EXPORTED = "legal_request.document_exported", _("Legal request document produced")
    CASE_ATTACHMENT_ADDED = "case.attachment_added", _("Case attachment added")
    CASE_ATTACHMENT_DOWNLOADED = "case.attachment_downloaded", _("Case attachment downloaded")
    CASE_TIMELINE_EXPORTED = "case.timeline_exported", _("Case timeline exported")
    # portal
    PORTAL_REPORT_RECEIVED = "portal.report_received", _("Report received through the public portal")
    PORTAL_REPORTER_MESSAGE = "portal.reporter_message", _("Message from a portal reporter")
    PORTAL_REPLY_SENT = "portal.reply_sent", _("Reply sent to a portal reporter")
    PORTAL_MESSAGES_VIEWED = "portal.messages_viewed", _("Portal messages read")
    PORTAL_IDENTITY_VIEWED = "portal.identity_viewed", _("Portal reporter's contact read")
    PORTAL_STATUS_VIEWED = "portal.status_viewed", _("Portal reporter opened their report with the receipt")
    PORTAL_DEVICE_MATCHED = "portal.device_matched", _("Picture hashed on a reporter's device matched against the hash lists")
    # exchange with partner units
    EXCHANGE_KEY_EXPORTED = "exchange.key_exported", _("Exchange public keys exported")
    PARTNER_ADDED = "exchange.partner_added", _("Partner unit registered")
    PARTNER_REFERRAL_SENT = "exchange.referral_sent", _("Referral package sent to a partner")
    PARTNER_REFERRAL_RECEIVED = "exchange.referral_received", _("Referral package imported from a partner")
    PARTNER_RECEIPT_SENT = "exchange.receipt_sent", _("Referral acknowledged to the partner")
    PARTNER_REFERRAL_ACKNOWLEDGED = "exchange.referral_acknowledged", _("Partner acknowledged a referral")
    PARTNER_OUTCOME_SENT = "exchange.outcome_sent", _("Referral outcome reported to the partner")
    PARTNER_OUTCOME_RECEIVED = "exchange.outcome_received", _("Partner reported a referral outcome")
    PARTNER_PACKAGE_REFUSED = "exchange.package_refused", _("Partner package refused")
    PARTNER_MATCH_COMPLETED = "exchange.match_completed", _("Identifiers matched with a partner")
    PARTNER_MATCH_FAILED = "exchange.match_failed", _("Identifier matching with a partner failed or was refused")
    PARTNER_HASHSET_EXPORTED = "exchange.hashset_exported", _("Hash set exported for partners")
    PARTNER_HASHSET_IMPORTED = "exchange.hashset_imported", _("Partner hash set imported")
    # statistics
    STATS_REPORT_GENERATED = "stats.report_generated", _("National statistics report produced")
    STATS_EXPORTED = "stats.exported", _("Statistics tables exported")
    STATS_DOWNLOADED = "stats.downloaded", _("Statistics file downloaded")
    STATS_REBUILT = "stats.rebuilt", _("Statistics recomputed from scratch")
    # the audit log itself
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")
    AUDIT_VERIFIED = "audit.verified", _("Audit chain verified")
