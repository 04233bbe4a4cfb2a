"""What people read: the timeline's sentences, rendered through gettext from each
event's typed fields (never by parsing an English sentence back)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from himaya.cases.models import (
    CaseOutcome, CaseStatus, EventType, Identification, LegalRequestKind, LegalRequestResult, ReferralKind, ReferralState,
    SuspectStatus, TaskKind, TaskStatus, TimelineEvent,
)


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


@functools.lru_cache(maxsize=64)
def _labels(choices: Any, language: str) -> dict[Any, str]:
    return {value: str(label) for value, label in choices.choices}


def choice_label(choices: Any, value: Any) -> str:
    """What `get_FOO_display()` shows for a field with these choices (the value itself
    when it is not one of them), from a table made once per process and language:
    `get_FOO_display()` hashes and translates every label of the field on each call."""
    return _labels(choices, get_language() or "").get(value, value)


def next_moves(choices: Any, moves: dict[str, frozenset[str]], current: str) -> list[tuple[str, Any]]:
    """The states the workflow allows from `current`, as (value, label), in the choices' order."""
    return [(value, label) for value, label in choices.choices if value in moves[current]]


def _case_opened(f: dict[str, Any]) -> str:
    n = len(f.get("reports") or [])
    if f.get("cluster"):
        return ngettext("Case %(reference)s opened from cluster %(cluster)s (%(count)d report).",
                        "Case %(reference)s opened from cluster %(cluster)s (%(count)d reports).", n) % {
            "reference": f.get("reference", ""), "cluster": f["cluster"], "count": n}
    return ngettext("Case %(reference)s opened with %(count)d report.", "Case %(reference)s opened with %(count)d reports.", n) % {
        "reference": f.get("reference", ""), "count": n}


def _status_changed(f: dict[str, Any]) -> str:
    text = _("Status changed from “%(old)s” to “%(new)s”.") % {"old": _label(CaseStatus, f.get("old")), "new": _label(CaseStatus, f.get("new"))}
    if f.get("outcome"):
        text += " " + _("Outcome: %(outcome)s.") % {"outcome": _label(CaseOutcome, f["outcome"])}
    return text


def _assigned(f: dict[str, Any]) -> str:
    parts = []
    if f.get("added"):
        parts.append(_("Assigned to %(users)s.") % {"users": _(", ").join(f["added"])})
    if f.get("removed"):
        parts.append(_("No longer assigned: %(users)s.") % {"users": _(", ").join(f["removed"])})
    return " ".join(parts) or _("Assignees unchanged.")


def _reports_added(f: dict[str, Any]) -> str:
    ids = f.get("reports") or []
    return ngettext("%(count)d report added: %(ids)s.", "%(count)d reports added: %(ids)s.", len(ids)) % {
        "count": len(ids), "ids": ", ".join(f"#{i}" for i in ids)}


def _merged_in(f: dict[str, Any]) -> str:
    return _("Case %(other)s merged into this case.") % {"other": f.get("other", "")}


def _merged_into(f: dict[str, Any]) -> str:
    return _("Merged into case %(other)s.") % {"other": f.get("other", "")}


def _note_added(f: dict[str, Any]) -> str:
    return _("Note added.")


def _deadline_set(f: dict[str, Any]) -> str:
    if f.get("new"):
        return _("Deadline set to %(date)s.") % {"date": f["new"]}
    return _("Deadline removed.")


def _task_created(f: dict[str, Any]) -> str:
    text = _("Task “%(title)s” (%(kind)s) created.") % {"title": f.get("title", ""), "kind": _label(TaskKind, f.get("kind"))}
    if f.get("assignee"):
        text += " " + _("Assigned to %(users)s.") % {"users": f["assignee"]}
    if f.get("due"):
        text += " " + _("Due %(date)s.") % {"date": f["due"]}
    return text


def _task_status(f: dict[str, Any]) -> str:
    return _("Task “%(title)s”: %(old)s → %(new)s.") % {
        "title": f.get("title", ""), "old": _label(TaskStatus, f.get("old")), "new": _label(TaskStatus, f.get("new"))}


def _victim_added(f: dict[str, Any]) -> str:
    return _("Victim %(victim)s added (%(identification)s).") % {
        "victim": f"#{f.get('victim')}", "identification": _label(Identification, f.get("identification"))}


def _victim_identification(f: dict[str, Any]) -> str:
    return _("Victim %(victim)s: %(old)s → %(new)s.") % {
        "victim": f"#{f.get('victim')}", "old": _label(Identification, f.get("old")), "new": _label(Identification, f.get("new"))}


def _victim_updated(f: dict[str, Any]) -> str:
    return _("Victim %(victim)s record changed.") % {"victim": f"#{f.get('victim')}"}


def _referral_created(f: dict[str, Any]) -> str:
    return _("Victim %(victim)s referred for %(kind)s to %(service)s (officer: %(officer)s).") % {
        "victim": f"#{f.get('victim')}", "kind": _label(ReferralKind, f.get("kind")), "service": f.get("service", ""),
        "officer": f.get("officer", "")}


def _referral_moved(f: dict[str, Any]) -> str:
    return _("Referral for %(kind)s (%(service)s): %(old)s → %(new)s.") % {
        "kind": _label(ReferralKind, f.get("kind")), "service": f.get("service", ""),
        "old": _label(ReferralState, f.get("old")), "new": _label(ReferralState, f.get("new"))}


def _suspect_name(f: dict[str, Any]) -> str:
    return f.get("label") or f"#{f.get('suspect')}"


def _suspect_added(f: dict[str, Any]) -> str:
    n = int(f.get("identifiers") or 0)
    return ngettext("Suspect %(suspect)s added (%(status)s, %(count)d identifier).",
                    "Suspect %(suspect)s added (%(status)s, %(count)d identifiers).", n) % {
        "suspect": _suspect_name(f), "status": _label(SuspectStatus, f.get("status")), "count": n}


def _suspect_status(f: dict[str, Any]) -> str:
    text = _("Suspect %(suspect)s: %(old)s → %(new)s on %(date)s.") % {
        "suspect": _suspect_name(f), "old": _label(SuspectStatus, f.get("old")), "new": _label(SuspectStatus, f.get("new")),
        "date": f.get("on", "")}
    if f.get("legal_basis"):
        text += " " + _("Legal basis: %(basis)s.") % {"basis": f["legal_basis"]}
    return text


def _suspect_updated(f: dict[str, Any]) -> str:
    return _("Suspect %(suspect)s record changed.") % {"suspect": _suspect_name(f)}


def _legal_request_created(f: dict[str, Any]) -> str:
    text = _("%(kind)s request to %(provider)s recorded.") % {"kind": _label(LegalRequestKind, f.get("kind")), "provider": f.get("provider", "")}
    if f.get("due"):
        text += " " + _("Due %(date)s.") % {"date": f["due"]}
    return text


def _legal_request_answered(f: dict[str, Any]) -> str:
    return _("%(provider)s answered the %(kind)s request: %(result)s.") % {
        "provider": f.get("provider", ""), "kind": _label(LegalRequestKind, f.get("kind")),
        "result": _label(LegalRequestResult, f.get("result"))}


def _partner_referral_sent(f: dict[str, Any]) -> str:
    n = len(f.get("reports") or [])
    return ngettext("%(n)d report referred to partner unit %(partner)s.", "%(n)d reports referred to partner unit %(partner)s.", n) % {
        "n": n, "partner": f.get("partner", "")}


def _partner_referral_acknowledged(f: dict[str, Any]) -> str:
    return _("Partner unit %(partner)s acknowledged the referral.") % {"partner": f.get("partner", "")}


def _partner_outcome(f: dict[str, Any]) -> str:
    # The codes of himaya.exchange.models.OutcomeKind (a later app: not imported here).
    outcomes = {"victim_identified": _("victim identified"), "arrest": _("arrest"), "charge": _("charge"),
                "conviction": _("conviction"), "other": _("other outcome")}
    return _("Partner unit %(partner)s reported an outcome: %(outcome)s.") % {
        "partner": f.get("partner", ""), "outcome": outcomes.get(f.get("outcome", ""), f.get("outcome", ""))}


SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    EventType.CASE_OPENED: _case_opened,
    EventType.STATUS_CHANGED: _status_changed,
    EventType.ASSIGNED: _assigned,
    EventType.REPORTS_ADDED: _reports_added,
    EventType.MERGED_IN: _merged_in,
    EventType.MERGED_INTO: _merged_into,
    EventType.NOTE_ADDED: _note_added,
    EventType.DEADLINE_SET: _deadline_set,
    EventType.TASK_CREATED: _task_created,
    EventType.TASK_STATUS_CHANGED: _task_status,
    EventType.VICTIM_ADDED: _victim_added,
    EventType.VICTIM_IDENTIFICATION: _victim_identification,
    EventType.VICTIM_UPDATED: _victim_updated,
    EventType.REFERRAL_CREATED: _referral_created,
    EventType.REFERRAL_MOVED: _referral_moved,
    EventType.SUSPECT_ADDED: _suspect_added,
    EventType.SUSPECT_STATUS: _suspect_status,
    EventType.SUSPECT_UPDATED: _suspect_updated,
    EventType.LEGAL_REQUEST_CREATED: _legal_request_created,
    EventType.LEGAL_REQUEST_ANSWERED: _legal_request_answered,
    EventType.PARTNER_REFERRAL_SENT: _partner_referral_sent,
    EventType.PARTNER_REFERRAL_ACKNOWLEDGED: _partner_referral_acknowledged,
    EventType.PARTNER_OUTCOME: _partner_outcome,
}


def event_summary(event: TimelineEvent) -> str:
    """The event's sentence in the active language."""
    render = SENTENCES.get(event.type)
    if render is None:
        return _label(EventType, event.type)
    return render(event.fields or {})


def actor_name(event: TimelineEvent) -> str:
    return event.actor.get_username() if event.actor_id else _("system")
