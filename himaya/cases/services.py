"""Every change to a case and what it follows (SPEC §3.6). Each service checks the
permission table itself (himaya.accounts.permissions), runs in one transaction,
and writes its timeline event and its audit event in that transaction
(himaya.cases.events). Bad requests raise CaseError (the API's 400); another
unit's object raises Http404, a role that may not PermissionDenied (403).

Workflows (decided from SPEC §3.6):

* case: new → investigating → prosecution → court → closed, one step at a
  time, forward only; a case may also be closed from any open state (a case ends
  without a court when there is no offence, too little evidence, or it goes
  abroad), and closing always needs an outcome; "convicted"/"acquitted" only
  from court; a closed case is never reopened.
* victim identification: forward only (unidentified → identified → located →
  safeguarded), skipping steps allowed (a child found and taken to safety the
  same day).
* referral: requested → accepted | declined | withdrawn; accepted → in_progress
  | withdrawn; in_progress → completed (with an outcome) | withdrawn (with a
  reason). Declined, completed and withdrawn are final.
* suspect: unidentified → identified → arrested | charged; arrested → charged |
  released; charged → convicted | acquitted | released; released → arrested |
  charged. Every step after "identified" needs its legal basis.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from himaya.accounts.models import Role, User
from himaya.accounts.permissions import Action, Kind, allowed, check, roles_of
from himaya.cases import events
from himaya.cases.errors import CaseError
from himaya.cases.models import (
    AgeRange, Attachment, Case, CaseOutcome, CaseReport, CaseSequence, CaseStatus, Identification, LegalRequest, LegalRequestKind,
    LegalRequestResult, Note, Referral, ReferralKind, ReferralState, Suspect, SuspectIdentifier, SuspectIdentifierKind,
    Sex, SuspectStatus, SuspectStep, Task, TaskKind, TaskStatus, Victim,
)
from himaya.core.storage import PendingFile, blob_put
from himaya.linking.extract import short_key
from himaya.linking.normalize import normalize
from himaya.reports.models import Party, Report, ReportStatus
from himaya.reports.selectors import report_queryset_for_user

CASE_MOVES: dict[str, frozenset[str]] = {
    CaseStatus.NEW: frozenset({CaseStatus.INVESTIGATING, CaseStatus.CLOSED}),
    CaseStatus.INVESTIGATING: frozenset({CaseStatus.PROSECUTION, CaseStatus.CLOSED}),
    CaseStatus.PROSECUTION: frozenset({CaseStatus.COURT, CaseStatus.CLOSED}),
    CaseStatus.COURT: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}
COURT_OUTCOMES = frozenset({CaseOutcome.CONVICTED, CaseOutcome.ACQUITTED})

IDENTIFICATION_ORDER = [Identification.UNIDENTIFIED, Identification.IDENTIFIED, Identification.LOCATED, Identification.SAFEGUARDED]

REFERRAL_MOVES: dict[str, frozenset[str]] = {
    ReferralState.REQUESTED: frozenset({ReferralState.ACCEPTED, ReferralState.DECLINED, ReferralState.WITHDRAWN}),
    ReferralState.ACCEPTED: frozenset({ReferralState.IN_PROGRESS, ReferralState.WITHDRAWN}),
    ReferralState.IN_PROGRESS: frozenset({ReferralState.COMPLETED, ReferralState.WITHDRAWN}),
    ReferralState.DECLINED: frozenset(),
    ReferralState.COMPLETED: frozenset(),
    ReferralState.WITHDRAWN: frozenset(),
}
REFERRAL_DATE_FIELD = {
    ReferralState.ACCEPTED: "accepted_at", ReferralState.DECLINED: "declined_at", ReferralState.IN_PROGRESS: "started_at",
    ReferralState.COMPLETED: "completed_at", ReferralState.WITHDRAWN: "withdrawn_at",
}

SUSPECT_MOVES: dict[str, frozenset[str]] = {
    SuspectStatus.UNIDENTIFIED: frozenset({SuspectStatus.IDENTIFIED}),
    SuspectStatus.IDENTIFIED: frozenset({SuspectStatus.ARRESTED, SuspectStatus.CHARGED}),
    SuspectStatus.ARRESTED: frozenset({SuspectStatus.CHARGED, SuspectStatus.RELEASED}),
    SuspectStatus.CHARGED: frozenset({SuspectStatus.CONVICTED, SuspectStatus.ACQUITTED, SuspectStatus.RELEASED}),
    SuspectStatus.RELEASED: frozenset({SuspectStatus.ARRESTED, SuspectStatus.CHARGED}),
    SuspectStatus.CONVICTED: frozenset(),
    SuspectStatus.ACQUITTED: frozenset(),
}
SUSPECT_NEEDS_LEGAL_BASIS = frozenset({SuspectStatus.ARRESTED, SuspectStatus.CHARGED, SuspectStatus.CONVICTED,
                                       SuspectStatus.ACQUITTED, SuspectStatus.RELEASED})

# Who can be given a case or a task: the unit's working roles (not the read-only auditor).
ASSIGNABLE_ROLES = frozenset({Role.INTAKE_ANALYST, Role.INVESTIGATOR, Role.PROSECUTOR, Role.CHILD_PROTECTION, Role.SUPERVISOR})


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _choice(choices: Any, value: Any, what: str) -> str:
    if value not in choices.values:
        raise CaseError(_("Unknown %(what)s “%(value)s”; choose one of: %(choices)s.") % {
            "what": what, "value": value, "choices": ", ".join(choices.values)})
    return str(value)


def _text(value: Any, what: str, *, max_length: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise CaseError(_("%(what)s is required.") % {"what": what})
    if len(text) > max_length:
        raise CaseError(_("%(what)s is too long (at most %(max)d characters).") % {"what": what, "max": max_length})
    return text


def _locked(case: Case) -> Case:
    """The case row, locked for the rest of the transaction (two moves never interleave)."""
    return Case.objects.select_for_update().get(pk=case.pk)


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise CaseError(_("Case %(reference)s is closed.") % {"reference": case.reference})


def _unit_users(*, unit_id: int, usernames: Iterable[str]) -> list[User]:
    """Active working users of the unit, by name; an unknown name, another unit's
    user or an auditor is refused with the same message (nothing learned about other units)."""
    names = list(dict.fromkeys(str(n).strip() for n in usernames if str(n).strip()))
    found = {u.username: u for u in User.objects.filter(username__in=names, unit_id=unit_id, is_active=True)}
    bad = [n for n in names if n not in found or not (roles_of(found[n]) & ASSIGNABLE_ROLES)]
    if bad:
        raise CaseError(_("No such user in your unit: %(names)s.") % {"names": ", ".join(bad)})
    return [found[n] for n in names]


def _next_reference(year: int) -> str:
    CaseSequence.objects.get_or_create(year=year)
    seq = CaseSequence.objects.select_for_update().get(year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"HMY-{year}-{seq.last:05d}"


def _attach_reports(*, case: Case, reports: list[Report], actor: User) -> None:
    taken = (CaseReport.objects.filter(report__in=reports).select_related("case").order_by("report_id").first())
    if taken is not None:
        raise CaseError(_("Report %(report)s is already in case %(reference)s.") % {"report": taken.report_id, "reference": taken.case.reference})
    try:
        with transaction.atomic():  # a savepoint: another opening may have taken a report meanwhile
            CaseReport.objects.bulk_create([CaseReport(case=case, report=r, added_by=actor) for r in reports])
    except IntegrityError:
        raise CaseError(_("One of these reports was just added to another case; reload and try again.")) from None


# --- cases ------------------------------------------------------------------------------------------------------


@transaction.atomic
def case_open(*, actor: User, title: str, report_ids: Iterable[int] | None = None, cluster: int | None = None,
              deadline: datetime.date | None = None) -> Case:
    """Open a case from chosen reports or from a cluster of the queue (its reports of
    the actor's unit). Another unit's report (or cluster) does not exist: 404."""
    check(actor, Action.CREATE, Kind.CASE)
    title = _text(title, _("The title"), max_length=300)
    # An unfinished report may still expire and be removed: only received ones join a case.
    visible = report_queryset_for_user(actor).exclude(status=ReportStatus.OPEN)
    if cluster is not None:
        reports = list(visible.filter(linkage__unit_cluster_id=cluster).order_by("id")) if cluster > 0 else []
        if not reports:
            raise Http404("no such cluster")
    else:
        ids = sorted({int(i) for i in (report_ids or [])})
        if not ids:
            raise CaseError(_("Choose at least one report."))
        reports = list(visible.filter(id__in=ids).order_by("id"))
        if len(reports) != len(ids):
            raise Http404("no such report")
    now = timezone.now()
    case = Case.objects.create(unit_id=actor.unit_id, reference=_next_reference(timezone.localdate(now).year), title=title,
                               deadline=deadline, created_by=actor, created_at=now, status_changed_at=now)
    _attach_reports(case=case, reports=reports, actor=actor)
    events.case_opened_event(case=case, actor=actor, report_ids=[r.id for r in reports], cluster=cluster)
    _first_action(case=case, reports=reports, actor=actor, now=now)
    return case


def _first_action(*, case: Case, reports: list[Report], actor: User, now: datetime.datetime) -> Task | None:
    """A case opened from a P1 report gets its first action at once, due within the
    P1 tier's service target (SPEC §3.5; the active rule set's minutes), so it shows
    in "my work" of whoever the case is given to, and turns overdue when missed."""
    from himaya.triage.models import Priority, ReportTriage
    from himaya.triage.services import ruleset_active

    if not ReportTriage.objects.filter(report__in=reports, effective_priority=Priority.P1).exists():
        return None
    ruleset = ruleset_active()[1]
    minutes = int((ruleset.get("service_targets") or {}).get(Priority.P1, 60))
    due_at = now + datetime.timedelta(minutes=minutes)
    task = Task.objects.create(case=case, kind=TaskKind.OTHER, title=_("First action: assess the immediate risk to the child"),
                               due=timezone.localdate(due_at), due_at=due_at, created_by=actor, created_at=now)
    events.task_created_event(task=task, actor=actor)
    return task


@transaction.atomic
def case_set_status(*, actor: User, case: Case, status: str, outcome: str = "") -> Case:
    check(actor, Action.CHANGE, Kind.CASE, case)
    case = _locked(case)
    status = _choice(CaseStatus, status, _("status"))
    outcome = (outcome or "").strip()
    old = case.status
    if status not in CASE_MOVES[old]:
        raise CaseError(_("A case cannot move from “%(old)s” to “%(new)s”.") % {"old": _label(CaseStatus, old), "new": _label(CaseStatus, status)})
    if status == CaseStatus.CLOSED:
        if not outcome:
            raise CaseError(_("Closing a case needs an outcome."))
        outcome = _choice(CaseOutcome, outcome, _("outcome"))
        if outcome == CaseOutcome.MERGED:
            raise CaseError(_("A case is closed as merged only by merging it into another case."))
        if outcome in COURT_OUTCOMES and old != CaseStatus.COURT:
            raise CaseError(_("A conviction or an acquittal is the outcome of a case in court."))
    elif outcome:
        raise CaseError(_("Only closing a case records an outcome."))
    now = timezone.now()
    case.status, case.outcome, case.status_changed_at = status, outcome, now
    case.closed_at = now if status == CaseStatus.CLOSED else None
    case.save(update_fields=["status", "outcome", "status_changed_at", "closed_at"])
    events.case_status_changed_event(case=case, actor=actor, old=old, new=status, outcome=outcome)
    return case


@transaction.atomic
def case_assign(*, actor: User, case: Case, usernames: Iterable[str]) -> Case:
    """The case's assignees become exactly these users of its unit."""
    check(actor, Action.ASSIGN, Kind.CASE, case)
    case = _locked(case)
    _require_open(case)
    users = _unit_users(unit_id=case.unit_id, usernames=usernames)
    before = set(case.assignees.values_list("username", flat=True))
    after = {u.username for u in users}
    case.assignees.set(users)
    events.case_assigned_event(case=case, actor=actor, added=sorted(after - before), removed=sorted(before - after))
    return case


@transaction.atomic
def case_set_deadline(*, actor: User, case: Case, deadline: datetime.date | None) -> Case:
    check(actor, Action.CHANGE, Kind.CASE, case)
    case = _locked(case)
    _require_open(case)
    old = case.deadline
    case.deadline = deadline
    case.save(update_fields=["deadline"])
    events.case_deadline_set_event(case=case, actor=actor, old=old.isoformat() if old else None, new=deadline.isoformat() if deadline else None)
    return case


@transaction.atomic
def case_add_note(*, actor: User, case: Case, text: str) -> Note:
    check(actor, Action.CHANGE, Kind.CASE, case)
    note = Note.objects.create(case=case, text=_text(text, _("The note"), max_length=20_000), author=actor)
    events.case_note_added_event(note=note, actor=actor)
    return note


@transaction.atomic
def case_add_reports(*, actor: User, case: Case, report_ids: Iterable[int]) -> Case:
    """Add reports of the case's unit (e.g. those offered: they joined its cluster later)."""
    check(actor, Action.CHANGE, Kind.CASE, case)
    case = _locked(case)
    _require_open(case)
    ids = sorted({int(i) for i in report_ids})
    if not ids:
        raise CaseError(_("Choose at least one report."))
    reports = list(report_queryset_for_user(actor).exclude(status=ReportStatus.OPEN).filter(id__in=ids, unit_id=case.unit_id).order_by("id"))
    if len(reports) != len(ids):
        raise Http404("no such report")
    _attach_reports(case=case, reports=reports, actor=actor)
    events.case_reports_added_event(case=case, actor=actor, report_ids=ids)
    return case


@transaction.atomic
def case_merge(*, actor: User, source: Case, target: Case) -> Case:
    """Everything of `source` moves to `target` (reports, victims, suspects, tasks,
    legal requests, notes, assignees); `source` is closed as merged and points to
    `target`. Its own timeline stays with it, for the record."""
    check(actor, Action.CHANGE, Kind.CASE, source)
    check(actor, Action.CHANGE, Kind.CASE, target)
    if source.pk == target.pk:
        raise CaseError(_("A case cannot be merged into itself."))
    # Lock both in id order, so two opposite merges cannot deadlock.
    first, second = sorted([source.pk, target.pk])
    locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
    source, target = locked[source.pk], locked[target.pk]
    _require_open(source)
    _require_open(target)
    moved = {
        "reports": CaseReport.objects.filter(case=source).update(case=target),
        "victims": Victim.objects.filter(case=source).update(case=target),
        "suspects": Suspect.objects.filter(case=source).update(case=target),
        "tasks": Task.objects.filter(case=source).update(case=target),
        "legal_requests": LegalRequest.objects.filter(case=source).update(case=target),
        "notes": Note.objects.filter(case=source).update(case=target),
    }
    target.assignees.add(*source.assignees.all())
    now = timezone.now()
    old = source.status
    source.status, source.outcome, source.merged_into, source.closed_at, source.status_changed_at = (
        CaseStatus.CLOSED, CaseOutcome.MERGED, target, now, now)
    source.save(update_fields=["status", "outcome", "merged_into", "closed_at", "status_changed_at"])
    events.case_merged_event(source=source, target=target, actor=actor, moved=moved)
    events.case_status_changed_event(case=source, actor=actor, old=old, new=CaseStatus.CLOSED, outcome=CaseOutcome.MERGED)
    return target


# --- tasks --------------------------------------------------------------------------------------------------------


@transaction.atomic
def task_create(*, actor: User, case: Case, kind: str, title: str, due: datetime.date | None = None,
                assignee: str | None = None) -> Task:
    check(actor, Action.CREATE, Kind.TASK, case)
    _require_open(case)
    kind = _choice(TaskKind, kind, _("task kind"))
    title = _text(title, _("The title"), max_length=300)
    user = _unit_users(unit_id=case.unit_id, usernames=[assignee])[0] if assignee else None
    task = Task.objects.create(case=case, kind=kind, title=title, due=due, assignee=user, created_by=actor)
    events.task_created_event(task=task, actor=actor)
    return task


TASK_MOVES: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset({TaskStatus.OPEN}),  # reopened: it was not done after all
    TaskStatus.CANCELLED: frozenset({TaskStatus.OPEN}),
}


@transaction.atomic
def task_set_status(*, actor: User, task: Task, status: str) -> Task:
    check(actor, Action.CHANGE, Kind.TASK, task)
    task = Task.objects.select_for_update(of=("self",)).select_related("case", "assignee").get(pk=task.pk)
    status = _choice(TaskStatus, status, _("task status"))
    old = task.status
    if status == old:
        return task
    if status not in TASK_MOVES[old]:
        raise CaseError(_("A task cannot move from “%(old)s” to “%(new)s”.") % {"old": _label(TaskStatus, old), "new": _label(TaskStatus, status)})
    task.status = status
    task.done_at = timezone.now() if status == TaskStatus.DONE else None
    task.save(update_fields=["status", "done_at"])
    events.task_status_changed_event(task=task, actor=actor, old=old, new=status)
    return task


def task_set_done(*, actor: User, task: Task, done: bool) -> Task:
    return task_set_status(actor=actor, task=task, status=TaskStatus.DONE if done else TaskStatus.OPEN)


# --- victims and referrals ------------------------------------------------------------------------------------------

IDENTITY_FIELDS = ("first_name", "last_name", "date_of_birth", "address", "contact")
VICTIM_FIELDS = ("age", "age_range", "sex", "child_consents_disclosure", "child_consents_services",
                 "guardian_consents_disclosure", "guardian_consents_services")


def may_view_identity(user: Any, victim_or_case: Victim | Case) -> bool:
    """SPEC §4.3: child protection and supervisors of the unit; investigators and
    prosecutors only on the cases they are assigned to."""
    case = victim_or_case.case if isinstance(victim_or_case, Victim) else victim_or_case
    if getattr(user, "unit_id", None) is None or user.unit_id != case.unit_id:
        return False
    if not allowed(user, Action.VIEW_IDENTITY, Kind.VICTIM):
        return False
    roles = roles_of(user)
    if roles & {Role.CHILD_PROTECTION, Role.SUPERVISOR}:
        return True
    prefetched = getattr(case, "_prefetched_objects_cache", {}).get("assignees")
    if prefetched is not None:  # the case page's case: its assignees are already read
        return any(u.pk == user.pk for u in prefetched)
    return case.assignees.filter(pk=user.pk).exists()


def _clean_identity(values: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in IDENTITY_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "date_of_birth":
            if value in (None, ""):
                out[name] = ""
                continue
            if isinstance(value, str):
                try:
                    value = datetime.date.fromisoformat(value)
                except ValueError:
                    raise CaseError(_("The date of birth must be a date (YYYY-MM-DD).")) from None
            if value > timezone.localdate():
                raise CaseError(_("The date of birth cannot be in the future."))
            out[name] = value.isoformat()
        else:
            out[name] = _text(value, name, max_length=1000, required=False)
    return out


def _clean_victim_fields(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in VICTIM_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "age":
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 120):
                raise CaseError(_("The age must be a whole number of years."))
        elif name == "age_range":
            value = _choice(AgeRange, value, _("age range")) if value else ""
        elif name == "sex":
            value = _choice(Sex, value or Sex.UNKNOWN, _("sex"))
        elif value is not None and not isinstance(value, bool):
            raise CaseError(_("Consent is yes, no, or not asked."))
        out[name] = value
    return out


def _case_reports_and_files(case: Case, report_ids: Iterable[int] | None, file_ids: Iterable[str] | None) -> tuple[list[int], list[int]]:
    """The reports and files that concern a victim: they must be the case's own."""
    from himaya.reports.models import ReportFile

    reports, files = [], []
    if report_ids is not None:
        wanted = {int(i) for i in report_ids}
        reports = list(CaseReport.objects.filter(case=case, report_id__in=wanted).values_list("report_id", flat=True))
        if len(reports) != len(wanted):
            raise CaseError(_("A victim's reports must be reports of the case."))
    if file_ids is not None:
        wanted_files = {str(f) for f in file_ids}
        files = list(ReportFile.objects.filter(file_id__in=wanted_files, report__case_link__case=case).values_list("id", flat=True))
        if len(files) != len(wanted_files):
            raise CaseError(_("A victim's files must be files of the case's reports."))
    return reports, files


@transaction.atomic
def victim_create(*, actor: User, case: Case, identification: str = Identification.UNIDENTIFIED,
                  report_ids: Iterable[int] | None = None, file_ids: Iterable[str] | None = None, **values: Any) -> Victim:
    check(actor, Action.CREATE, Kind.VICTIM, case)
    _require_open(case)
    unknown = set(values) - set(IDENTITY_FIELDS) - set(VICTIM_FIELDS)
    if unknown:
        raise TypeError(f"victim_create: unknown fields {sorted(unknown)}")
    identity = _clean_identity(values)
    if any(identity.values()) and not may_view_identity(actor, case):
        raise PermissionDenied(_("Only those who may see a victim's identity may record it."))
    identification = _choice(Identification, identification, _("identification"))
    reports, files = _case_reports_and_files(case, report_ids, file_ids)
    victim = Victim.objects.create(case=case, identification=identification, created_by=actor, **identity, **_clean_victim_fields(values))
    victim.reports.set(reports)
    victim.files.set(files)
    events.victim_created_event(victim=victim, actor=actor)
    return victim


@transaction.atomic
def victim_update(*, actor: User, victim: Victim, identification: str | None = None, report_ids: Iterable[int] | None = None,
                  file_ids: Iterable[str] | None = None, **values: Any) -> Victim:
    check(actor, Action.CHANGE, Kind.VICTIM, victim)
    victim = Victim.objects.select_for_update().select_related("case").get(pk=victim.pk)
    unknown = set(values) - set(IDENTITY_FIELDS) - set(VICTIM_FIELDS)
    if unknown:
        raise TypeError(f"victim_update: unknown fields {sorted(unknown)}")
    identity = _clean_identity(values)
    if identity and not may_view_identity(actor, victim):
        # Writing a name one may not read would overwrite it blind.
        raise PermissionDenied(_("Only those who may see a victim's identity may change it."))
    cleaned = {**identity, **_clean_victim_fields(values)}
    changed = [k for k, v in cleaned.items() if getattr(victim, k) != v]
    for k in changed:
        setattr(victim, k, cleaned[k])
    if report_ids is not None or file_ids is not None:
        reports, files = _case_reports_and_files(victim.case, report_ids, file_ids)
        if report_ids is not None and set(reports) != set(victim.reports.values_list("id", flat=True)):
            victim.reports.set(reports)
            changed.append("reports")
        if file_ids is not None and set(files) != set(victim.files.values_list("id", flat=True)):
            victim.files.set(files)
            changed.append("files")
    old = victim.identification
    if identification is not None and identification != old:
        identification = _choice(Identification, identification, _("identification"))
        if IDENTIFICATION_ORDER.index(Identification(identification)) < IDENTIFICATION_ORDER.index(Identification(old)):
            raise CaseError(_("A victim's identification cannot go back from “%(old)s” to “%(new)s”.") % {
                "old": _label(Identification, old), "new": _label(Identification, identification)})
        victim.identification = identification
        victim.identification_changed_at = timezone.now()
        events.victim_identification_event(victim=victim, actor=actor, old=old, new=identification)
    victim.save()
    if changed:
        events.victim_updated_event(victim=victim, actor=actor, changed=changed)
    return victim


@transaction.atomic
def referral_create(*, actor: User, victim: Victim, kind: str, service: str, officer: str | None = None) -> Referral:
    """A referral of the child to a service (which may be outside Himaya); the
    responsible officer is a user of the unit (the actor when none is named)."""
    check(actor, Action.CREATE, Kind.REFERRAL, victim)
    kind = _choice(ReferralKind, kind, _("referral kind"))
    service = _text(service, _("The receiving service"), max_length=300)
    officer_user = _unit_users(unit_id=victim.case.unit_id, usernames=[officer])[0] if officer else actor
    referral = Referral.objects.create(victim=victim, kind=kind, service=service, officer=officer_user, created_by=actor)
    events.referral_created_event(referral=referral, actor=actor)
    return referral


@transaction.atomic
def referral_move(*, actor: User, referral: Referral, state: str, outcome: str = "", reason: str = "",
                  at: datetime.datetime | None = None) -> Referral:
    check(actor, Action.CHANGE, Kind.REFERRAL, referral)
    referral = Referral.objects.select_for_update().select_related("victim__case").get(pk=referral.pk)
    state = _choice(ReferralState, state, _("referral state"))
    old = referral.state
    if state not in REFERRAL_MOVES[old]:
        raise CaseError(_("A referral cannot move from “%(old)s” to “%(new)s”.") % {
            "old": _label(ReferralState, old), "new": _label(ReferralState, state)})
    outcome, reason = (outcome or "").strip(), (reason or "").strip()
    if state == ReferralState.COMPLETED and not outcome:
        raise CaseError(_("A completed referral needs its outcome."))
    if state == ReferralState.WITHDRAWN and not reason:
        raise CaseError(_("A withdrawn referral needs its reason."))
    referral.state = state
    setattr(referral, REFERRAL_DATE_FIELD[state], at or timezone.now())
    if outcome:
        referral.outcome = _text(outcome, _("The outcome"), max_length=5000)
    if reason:
        referral.reason = _text(reason, _("The reason"), max_length=5000)
    referral.save()
    events.referral_moved_event(referral=referral, actor=actor, old=old, new=state)
    return referral


# --- suspects ---------------------------------------------------------------------------------------------------------


def identifier_key(*, kind: str, value: str, platform: str = "", qualifier: str = "") -> str | None:
    """The key linking indexes this identifier under (himaya.linking), so the
    suspect's other reports, cases and clusters can be found."""
    from himaya.linking.services import home_country

    n = normalize(kind, value, qualifier=qualifier, platform=platform, region=home_country())
    return short_key(n.key) if n is not None else None


def _clean_identifiers(items: Iterable[dict[str, Any]]) -> list[SuspectIdentifier]:
    out: dict[str, SuspectIdentifier] = {}
    for item in items:
        kind = _choice(SuspectIdentifierKind, item.get("kind"), _("identifier kind"))
        value = _text(item.get("value"), _("The identifier"), max_length=500)
        platform = str(item.get("platform") or "").strip()[:256]
        key = identifier_key(kind=kind, value=value, platform=platform, qualifier=str(item.get("qualifier") or ""))
        if key is None:
            raise CaseError(_("“%(value)s” is not a usable %(kind)s.") % {"value": value, "kind": _label(SuspectIdentifierKind, kind)})
        out.setdefault(key, SuspectIdentifier(kind=kind, value=value, platform=platform, key=key))
    return list(out.values())


def _identifier_log(suspect: Suspect) -> list[dict[str, str]]:
    return [{"kind": i.kind, "value": i.value} for i in suspect.identifiers.all()]


def _suspect_step(*, actor: User, suspect: Suspect, status: str, on: datetime.date | None, legal_basis: str) -> None:
    status = _choice(SuspectStatus, status, _("suspect status"))
    old = suspect.status
    if status not in SUSPECT_MOVES[old]:
        raise CaseError(_("A suspect cannot move from “%(old)s” to “%(new)s”.") % {
            "old": _label(SuspectStatus, old), "new": _label(SuspectStatus, status)})
    legal_basis = _text(legal_basis, _("The legal basis"), max_length=2000, required=status in SUSPECT_NEEDS_LEGAL_BASIS)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise CaseError(_("The date of a step cannot be in the future."))
    previous = suspect.steps.order_by("-id").first()
    if previous is not None and on < previous.on:
        raise CaseError(_("A step cannot be dated before the previous one (%(date)s).") % {"date": previous.on.isoformat()})
    suspect.status, suspect.status_date = status, on
    suspect.save(update_fields=["status", "status_date"])
    SuspectStep.objects.create(suspect=suspect, status=status, on=on, legal_basis=legal_basis, by=actor)
    events.suspect_status_changed_event(suspect=suspect, actor=actor, old=old, new=status, on=on.isoformat(), legal_basis=legal_basis)


@transaction.atomic
def suspect_create(*, actor: User, case: Case, label: str = "", identifiers: Iterable[dict[str, Any]] = (),
                   status: str = SuspectStatus.UNIDENTIFIED, status_date: datetime.date | None = None, legal_basis: str = "",
                   source_report: Report | None = None) -> Suspect:
    """A suspect starts unidentified; giving another status records the steps to it
    (only "identified" can be given at creation: later steps need their own legal basis)."""
    check(actor, Action.CREATE, Kind.SUSPECT, case)
    _require_open(case)
    status = _choice(SuspectStatus, status, _("suspect status"))
    if status not in (SuspectStatus.UNIDENTIFIED, SuspectStatus.IDENTIFIED):
        raise CaseError(_("A new suspect is unidentified or identified; record later steps one by one."))
    rows = _clean_identifiers(identifiers)
    today = timezone.localdate()
    since = min(status_date, today) if status_date and status != SuspectStatus.UNIDENTIFIED else today
    suspect = Suspect.objects.create(case=case, label=_text(label, _("The label"), max_length=200, required=False),
                                     status_date=since, source_report=source_report, created_by=actor)
    for row in rows:
        row.suspect = suspect
    SuspectIdentifier.objects.bulk_create(rows)
    events.suspect_created_event(suspect=suspect, actor=actor, identifiers=[{"kind": r.kind, "value": r.value} for r in rows])
    if status != SuspectStatus.UNIDENTIFIED:
        _suspect_step(actor=actor, suspect=suspect, status=status, on=status_date, legal_basis=legal_basis)
    return suspect


@transaction.atomic
def suspect_update(*, actor: User, suspect: Suspect, label: str | None = None, identifiers: Iterable[dict[str, Any]] | None = None,
                   status: str | None = None, status_date: datetime.date | None = None, legal_basis: str = "") -> Suspect:
    """Change the label, replace the identifiers, and/or take one status step."""
    check(actor, Action.CHANGE, Kind.SUSPECT, suspect)
    suspect = Suspect.objects.select_for_update().select_related("case").get(pk=suspect.pk)
    changed: list[str] = []
    if label is not None:
        label = _text(label, _("The label"), max_length=200, required=False)
        if label != suspect.label:
            suspect.label = label
            suspect.save(update_fields=["label"])
            changed.append("label")
    if identifiers is not None:
        rows = _clean_identifiers(identifiers)
        if {r.key for r in rows} != set(suspect.identifiers.values_list("key", flat=True)) or \
                {(r.kind, r.value) for r in rows} != set(suspect.identifiers.values_list("kind", "value")):
            suspect.identifiers.all().delete()
            for row in rows:
                row.suspect = suspect
            SuspectIdentifier.objects.bulk_create(rows)
            changed.append("identifiers")
    if changed:
        events.suspect_updated_event(suspect=suspect, actor=actor, changed=changed, identifiers=_identifier_log(suspect))
    if status is not None and status != suspect.status:
        _suspect_step(actor=actor, suspect=suspect, status=status, on=status_date, legal_basis=legal_basis)
    elif status is None and (status_date is not None or legal_basis):
        raise CaseError(_("A date or legal basis belongs to a status step; give the status too."))
    return suspect


@transaction.atomic
def suspect_from_party(*, actor: User, case: Case, party: Party) -> Suspect:
    """One click from a reported person in one of the case's reports: a suspect with
    that person's identifiers (and their accounts'), as the report gives them."""
    check(actor, Action.CREATE, Kind.SUSPECT, case)
    if not CaseReport.objects.filter(case=case, report_id=party.report_id).exists():
        raise CaseError(_("That person is not named in a report of this case."))
    report = party.report
    parties = {party.pk: party, **{p.pk: p for p in Party.objects.filter(parent=party)}}
    from himaya.reports.models import Identifier

    items = []
    for ident in Identifier.objects.filter(party_id__in=list(parties)).order_by("id"):
        if ident.kind not in SuspectIdentifierKind.values:
            continue
        owner = parties[ident.party_id]
        platform = owner.platform or party.platform or report.platform
        if identifier_key(kind=ident.kind, value=ident.value, platform=platform, qualifier=ident.qualifier) is None:
            continue  # not an identifier worth matching on (a private address, a malformed email)
        items.append({"kind": ident.kind, "value": ident.value, "platform": platform if ident.kind in ("esp_id", "screen_name") else "",
                      "qualifier": ident.qualifier})
    label = party.screen_name or party.esp_identifier or ""
    return suspect_create(actor=actor, case=case, label=label[:200], identifiers=items, source_report=report)


# --- legal process ------------------------------------------------------------------------------------------------------


@transaction.atomic
def legal_request_create(*, actor: User, case: Case, provider: str, kind: str, legal_basis: str, account: str = "",
                         sent_on: datetime.date | None = None, due_on: datetime.date | None = None,
                         report_id: int | None = None) -> LegalRequest:
    """A request to a provider; `report_id` (a report of the case) is the report its
    document quotes (accounts, IPs with times)."""
    check(actor, Action.CREATE, Kind.LEGAL_REQUEST, case)
    _require_open(case)
    kind = _choice(LegalRequestKind, kind, _("request kind"))
    if report_id is not None and not CaseReport.objects.filter(case=case, report_id=report_id).exists():
        raise CaseError(_("The request's report must be a report of the case."))
    if sent_on and sent_on > timezone.localdate():
        raise CaseError(_("A request cannot be sent in the future."))
    if sent_on and due_on and due_on < sent_on:
        raise CaseError(_("A request cannot be due before it is sent."))
    request = LegalRequest.objects.create(
        case=case, provider=_text(provider, _("The provider"), max_length=200), kind=kind,
        legal_basis=_text(legal_basis, _("The legal basis"), max_length=5000), account=_text(account, _("The account"), max_length=500, required=False),
        sent_on=sent_on, due_on=due_on, report_id=report_id, created_by=actor)
    events.legal_request_created_event(request=request, actor=actor)
    return request


@transaction.atomic
def legal_request_answer(*, actor: User, request: LegalRequest, result: str, answer: str = "",
                         answered_on: datetime.date | None = None) -> LegalRequest:
    check(actor, Action.CHANGE, Kind.LEGAL_REQUEST, request)
    request = LegalRequest.objects.select_for_update().select_related("case").get(pk=request.pk)
    if request.answered_on is not None:
        raise CaseError(_("This request was already answered on %(date)s.") % {"date": request.answered_on.isoformat()})
    result = _choice(LegalRequestResult, result, _("result"))
    if result == LegalRequestResult.PENDING:
        raise CaseError(_("An answer has a result other than “awaiting answer”."))
    answered_on = answered_on or timezone.localdate()
    if answered_on > timezone.localdate():
        raise CaseError(_("An answer cannot be dated in the future."))
    if request.sent_on and answered_on < request.sent_on:
        raise CaseError(_("An answer cannot come before the request was sent."))
    request.result, request.answer, request.answered_on = result, _text(answer, _("The answer"), max_length=20_000, required=False), answered_on
    if request.sent_on is None:
        request.sent_on = answered_on
    request.save()
    events.legal_request_answered_event(request=request, actor=actor)
    return request


# --- attachments --------------------------------------------------------------------------------------------------


def attachment_max_bytes() -> int:
    from django.conf import settings

    return int(getattr(settings, "HIMAYA_MAX_ATTACHMENT_BYTES", 100 * 1024 * 1024))


@transaction.atomic
def attachment_add(*, actor: User, case: Case, pending: PendingFile, name: str, description: str = "") -> Attachment:
    """A file for the case, already encrypted on its way in (himaya.core.storage):
    recorded here, moved to its content address in this transaction. A refused file
    leaves nothing behind (its encrypted temporary file is removed)."""
    try:
        check(actor, Action.CREATE, Kind.ATTACHMENT, case)
        _require_open(case)
        name = _text(name.replace("\\", "/").rsplit("/", 1)[-1], _("The file name"), max_length=255)
        description = _text(description, _("The description"), max_length=2000, required=False)
        limit = attachment_max_bytes()
        if pending.stored.size > limit:
            raise CaseError(_("The file is too large: at most %(mb)d MB.") % {"mb": limit // (1024 * 1024)})
        if pending.stored.size == 0:
            raise CaseError(_("The file is empty."))
        blob = blob_put(pending)
    except BaseException:
        pending.discard()
        raise
    attachment = Attachment.objects.create(case=case, blob=blob, name=name, description=description, size=pending.stored.size,
                                           sha256=pending.stored.sha256, uploaded_by=actor)
    events.attachment_added_event(attachment=attachment, actor=actor)
    return attachment
