"""What an audit event says, for people: rendered through gettext from the event's
type and fields, one rendering per type (never by parsing stored English)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent

A = AuditAction

# What the object of an event is, by its stored type (`app_label.model`).
TARGET_TYPES: dict[str, Any] = {
    "reports.report": gettext_lazy("Report"),
    "reports.reportfile": gettext_lazy("File"),
    "core.blob": gettext_lazy("Stored content"),
    "accounts.user": gettext_lazy("User"),
    "accounts.reporter": gettext_lazy("Provider account"),
    "accounts.unit": gettext_lazy("Unit"),
    "media.hashlist": gettext_lazy("Hash list"),
    "media.rematchjob": gettext_lazy("Re-matching job"),
    "triage.ruleset": gettext_lazy("Triage rule set"),
    "address": gettext_lazy("Network address"),
}


def _d(event: AuditEvent, key: str, default: Any = "") -> Any:
    value = (event.data or {}).get(key, default)
    return default if value is None else value


def _file(e: AuditEvent) -> dict[str, Any]:
    return {"file": _d(e, "file_id") or e.target_id, "id": e.target_id}


def _roles(roles: list[str]) -> str:
    from himaya.accounts.models import Role

    return ", ".join(str(Role(r).label) if r in Role.values else r for r in roles) or "-"


def _level(e: AuditEvent) -> str:
    return _("clearer") if _d(e, "level") == "clear" else _("blurred")


def _viewed(e: AuditEvent) -> str:
    if _d(e, "identities", False):
        return _("Report %(id)s viewed, with the names of the people in it") % {"id": e.target_id}
    return _("Report %(id)s viewed") % {"id": e.target_id}


RENDER: dict[AuditAction, Callable[[AuditEvent], str]] = {
    A.UNIT_CREATED: lambda e: _("Unit %(code)s created") % {"code": _d(e, "code")},
    A.USER_CREATED: lambda e: _("User %(name)s created with the roles %(roles)s") % {"name": _d(e, "username"), "roles": _roles(_d(e, "roles", []))},
    A.USER_UPDATED: lambda e: _("User %(name)s set again from the command line") % {"name": _d(e, "username")},
    A.REPORTER_CREATED: lambda e: _("Provider account %(name)s created") % {"name": _d(e, "username")},
    A.REPORTER_PASSWORD_SET: lambda e: _("Password of provider account %(name)s set") % {"name": _d(e, "username")},
    A.REPORTER_SUSPENDED: lambda e: _("Provider account %(id)s suspended") % {"id": e.target_id},
    A.REPORTER_RESTORED: lambda e: _("Provider account %(id)s restored") % {"id": e.target_id},
    A.TOKEN_CREATED: lambda e: _("API token %(name)s created") % {"name": _d(e, "name") or _d(e, "prefix")},
    A.TOKEN_REVOKED: lambda e: _("API token %(name)s revoked") % {"name": _d(e, "name") or _d(e, "prefix")},
    A.USER_LOCKED: lambda e: _("Account %(name)s locked after %(failures)s failed attempts") % {"name": _d(e, "username"), "failures": _d(e, "failures", 0)},
    A.USER_UNLOCKED: lambda e: _("Account %(name)s unlocked") % {"name": _d(e, "username")},
    A.USER_SECOND_FACTOR_ENROLLED: lambda e: _("Second factor of %(name)s enrolled") % {"name": _d(e, "username")},
    A.USER_SECOND_FACTOR_RESET: lambda e: _("Second factor of %(name)s reset") % {"name": _d(e, "username")},
    A.USER_RECOVERY_CODE_USED: lambda e: _("Recovery code used (%(remaining)s left)") % {"remaining": _d(e, "remaining", 0)},
    A.REPORTER_LOCKED: lambda e: _("Provider account %(name)s locked after %(failures)s failed attempts") % {"name": _d(e, "username"), "failures": _d(e, "failures", 0)},
    A.ADDRESS_THROTTLED: lambda e: _("Address %(address)s throttled after %(failures)s failed attempts") % {"address": e.target_id, "failures": _d(e, "failures", 0)},
    A.USER_ROLES_CHANGED: lambda e: _("Roles of %(name)s changed from %(old)s to %(new)s") % {
        "name": _d(e, "username"), "old": _roles(_d(e, "old", [])), "new": _roles(_d(e, "new", []))},
    A.USER_DEACTIVATED: lambda e: _("User %(name)s deactivated") % {"name": _d(e, "username")},
    A.USER_REACTIVATED: lambda e: _("User %(name)s reactivated") % {"name": _d(e, "username")},
    A.REPORT_OPENED: lambda e: _("Report %(id)s opened by the provider") % {"id": e.target_id},
    A.REPORT_FILE_UPLOADED: lambda e: _("File %(file)s uploaded to report %(id)s") % _file(e),
    A.REPORT_FILE_DETAILS: lambda e: _("Details of file %(file)s of report %(id)s received") % _file(e),
    A.REPORT_FINISHED: lambda e: _("Report %(id)s finished with %(files)s file(s)") % {"id": e.target_id, "files": _d(e, "files", 0)},
    A.REPORT_RETRACTED: lambda e: _("Report %(id)s retracted by the provider") % {"id": e.target_id},
    A.REPORT_EXPIRED: lambda e: _("Unfinished report %(id)s expired") % {"id": e.target_id},
    A.REPORT_IMPORTED: lambda e: _("Report %(id)s imported with %(files)s file(s)") % {"id": e.target_id, "files": _d(e, "files", 0)},
    A.REPORT_EXPORTED: lambda e: _("Report %(id)s exported") % {"id": e.target_id},
    A.REPORT_VIEWED: _viewed,
    A.REPORT_FILE_PURGED: lambda e: (_("Content of file %(file)s of closed report %(id)s removed") if _d(e, "content_removed", False)
                                     else _("File %(file)s of closed report %(id)s let go (its content stays for another report)")) % _file(e),
    A.MEDIA_HASHED: lambda e: _("Stored content hashed"),
    A.MEDIA_MATCHED: lambda e: _("Stored content matched against the hash lists: %(status)s") % {"status": _d(e, "status")},
    A.MEDIA_VIEWED: lambda e: _("Preview (%(level)s) of file %(file)s served") % {"level": _level(e), **_file(e)},
    A.MEDIA_REVEALED: lambda e: _("File %(file)s revealed (%(level)s)") % {"level": _level(e), **_file(e)},
    A.MEDIA_AUTHORISATION_RECORDED: lambda e: _("Legal authorisation %(warrant)s recorded for file %(file)s") % {"warrant": _d(e, "warrant_number"), **_file(e)},
    A.MEDIA_PERMISSION_GRANTED: lambda e: _("Permission %(perm)s granted to %(name)s") % {"perm": _d(e, "permission"), "name": _d(e, "username")},
    A.MEDIA_PERMISSION_WITHDRAWN: lambda e: _("Permission %(perm)s withdrawn from %(name)s") % {"perm": _d(e, "permission"), "name": _d(e, "username")},
    A.MEDIA_REMATCH_QUEUED: lambda e: _("Re-matching of %(total)s stored content(s) queued") % {"total": _d(e, "total", 0)},
    A.MEDIA_REMATCH_DONE: lambda e: _("Re-matching finished: %(done)s stored content(s)") % {"done": _d(e, "done", 0)},
    A.HASHLIST_IMPORTED: lambda e: _("Hash list %(name)s version %(version)s imported (%(entries)s entries)") % {
        "name": _d(e, "name"), "version": _d(e, "version"), "entries": _d(e, "entries", 0)},
    A.HASHLIST_EXPORTED: lambda e: _("Hash list %(name)s version %(version)s exported") % {"name": _d(e, "name"), "version": _d(e, "version")},
    A.HASHLIST_DELETED: lambda e: _("Hash list %(name)s retired: %(reason)s") % {"name": _d(e, "name"), "reason": _d(e, "reason")},
    A.GEOIP_UPDATED: lambda e: _("IP location data replaced (%(ranges)s ranges)") % {"ranges": _d(e, "ranges", 0)},
    A.LINK_SEPARATED: lambda e: _("Reports %(low)s and %(high)s marked as different people: %(reason)s") % {
        "low": _d(e, "low"), "high": _d(e, "high"), "reason": _d(e, "reason")},
    A.LINK_SEPARATION_UNDONE: lambda e: _("Reports %(low)s and %(high)s no longer marked as different people") % {"low": _d(e, "low"), "high": _d(e, "high")},
    A.PRIORITY_CHANGED: lambda e: _("Priority of report %(id)s changed by the rules from %(old)s to %(new)s") % {
        "id": e.target_id, "old": _d(e, "from") or "-", "new": _d(e, "to") or "-"},
    A.TRIAGE_OVERRIDDEN: lambda e: _("Priority of report %(id)s changed by a person: %(reason)s") % {"id": e.target_id, "reason": _d(e, "reason")},
    A.TRIAGE_REVIEWED: lambda e: _("Triage of report %(id)s reviewed") % {"id": e.target_id},
    A.TRIAGE_REBUILT: lambda e: _("Triage rebuilt for %(reports)s report(s)") % {"reports": _d(e, "reports", 0)},
    A.RULESET_PUBLISHED: lambda e: _("Triage rules version %(version)s published") % {"version": _d(e, "version")},
    A.AUDIT_EXPORTED: lambda e: _("%(count)s audit event(s) exported") % {"count": _d(e, "count", 0)},
    A.AUDIT_VERIFIED: lambda e: (_("Audit chain verified: intact") if _d(e, "intact", False) else _("Audit chain verified: broken")),
}


def action_label(action: str) -> str:
    try:
        return str(AuditAction(action).label)
    except ValueError:
        return action  # a type no longer in the catalogue: shown as stored


def target_label(event: AuditEvent) -> str:
    if not event.target_type:
        return ""
    kind = TARGET_TYPES.get(event.target_type, event.target_type)
    return f"{kind} {event.target_id}".strip()


def describe(event: AuditEvent) -> str:
    """One sentence for people, in the active language."""
    try:
        action = AuditAction(event.action)
    except ValueError:
        return event.action
    render = RENDER.get(action)
    if render is None:
        # A type added to the catalogue without a sentence yet: its label and object.
        target = target_label(event)
        return f"{action.label} — {target}" if target else str(action.label)
    return render(event)


def actor_display(actor: str) -> str:
    """The actor as a person reads it: the user name, or who acted when no user did."""
    kind, _sep, name = actor.partition(":")
    if kind == "user":
        return name
    if kind == "reporter":
        return _("provider %(name)s") % {"name": name}
    if kind == "command":
        return _("command %(name)s") % {"name": name}
    if actor == "system":
        return _("the system")
    return actor


def event_rows(events: list[AuditEvent]) -> list[dict[str, Any]]:
    """One row of the audit page per event: what happened, its type, who, and on what."""
    return [{"event": e, "what": describe(e), "type": action_label(e.action), "who": actor_display(e.actor), "object": target_label(e)}
            for e in events]
