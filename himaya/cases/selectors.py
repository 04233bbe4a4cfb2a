"""Reads of cases and what they follow, each starting from the permission table
(`restrict` / `get_for`): another unit's objects do not exist for the reader."""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils import timezone

from himaya.accounts.models import User
from himaya.accounts.permissions import Action, get_for, restrict
from himaya.cases import events
from himaya.cases.models import (
    Attachment, Case, CaseReport, CaseStatus, LegalRequest, Note, Referral, Suspect, SuspectIdentifier, SuspectStep, Task, TaskStatus,
    TimelineEvent, Victim,
)
from himaya.cases.services import may_view_identity
from himaya.linking.models import IdentifierEntry
from himaya.reports.models import Party, Report, ReportStatus
from himaya.reports.selectors import report_queryset_for_user


OPEN_STATUSES = [s for s in CaseStatus.values if s != CaseStatus.CLOSED]
MAX_ID = 2**63 - 1  # a database id; a larger number names nothing (and SQLite cannot even compare it)


def _id(value: int) -> int:
    if not 0 < int(value) <= MAX_ID:
        raise Http404("not found")
    return int(value)


def case_list_for_user(*, user: User, status: str = "", mine: bool = False, between: dict[str, Any] | None = None) -> QuerySet[Case]:
    """`between`: opened_from/opened_before/closed_from/closed_before (aware
    datetimes) — what a statistics figure links with (himaya.stats)."""
    qs = restrict(Case.objects.all(), user, Action.VIEW)
    if status == "open":
        qs = qs.exclude(status=CaseStatus.CLOSED)
    elif status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(assignees=user)
    lookups = {"opened_from": "created_at__gte", "opened_before": "created_at__lt", "closed_from": "closed_at__gte", "closed_before": "closed_at__lt"}
    qs = qs.filter(**{lookups[k]: v for k, v in (between or {}).items() if k in lookups})
    return qs.prefetch_related("assignees").order_by("-id")


def case_get_for_user(*, user: User, case_id: int, action: Action = Action.VIEW) -> Case:
    return get_for(Case.objects.select_related("unit", "merged_into", "created_by"), user, action, id=_id(case_id))


def case_find_for_user(*, user: User, reference_or_id: str) -> Case | None:
    """The case a person typed (its reference, or its id), among those the user may see."""
    text = reference_or_id.strip()
    cases = case_list_for_user(user=user)
    found = cases.filter(reference=text).first() if text else None
    if found is None and text.isdigit() and 0 < int(text) <= MAX_ID:
        found = cases.filter(pk=int(text)).first()
    return found


def case_unit_users(case: Case) -> QuerySet[User]:
    """The active users of the case's unit: who may be assigned to it."""
    return User.objects.filter(unit_id=case.unit_id, is_active=True).order_by("username")


def case_reported_parties(case: Case) -> QuerySet[Party]:
    """The people the case's reports name as reported (top-level parties only)."""
    return (Party.objects.filter(report__case_link__case=case, role="reported", parent__isnull=True)
            .order_by("report_id", "position"))


def case_party(*, case: Case, party_id: str) -> Party | None:
    """A person named in a report of the case, or None (a typed id names nothing else)."""
    text = party_id.strip()
    if not (text.isdigit() and 0 < int(text) <= MAX_ID):
        return None
    return Party.objects.filter(pk=int(text), report__case_link__case=case).first()


def case_detail_prefetched(case: Case, *, just_read: bool = False, lists: bool = True) -> Case:
    """Everything the case page and the API's detail show, in a fixed number of queries.
    The case is read again (a service may have changed it through another instance),
    unless `just_read`: the caller read it with its merged-into case and creator.
    Without `lists`, only its people (assignees, victims, suspects): `case_page_prefetched`."""
    if not (just_read and Case.merged_into.is_cached(case) and Case.created_by.is_cached(case)):
        case = Case.objects.select_related("merged_into", "created_by").get(pk=case.pk)
    if not lists:
        prefetch_related_objects([case], *_people_prefetches())
        return case
    prefetch_related_objects(
        [case], "case_reports", *_people_prefetches(), *(Prefetch(name, queryset=rows()) for name, rows in _CASE_LISTS.items()),
    )
    return case


# The case's flat lists as the case page and the API show them, in their order: the
# same querysets whether prefetched (`case_detail_prefetched`) or read directly
# (`case_page_prefetched`).
_CASE_LISTS: dict[str, Callable[[], QuerySet[Any]]] = {
    "tasks": lambda: Task.objects.select_related("assignee").order_by("status", "due", "id"),
    "legal_requests": lambda: LegalRequest.objects.order_by("-id"),
    "attachments": lambda: Attachment.objects.select_related("uploaded_by").order_by("id"),
    "timeline": lambda: TimelineEvent.objects.select_related("actor").order_by("at", "id"),
    "notes": lambda: Note.objects.select_related("author"),  # newest first (its Meta ordering)
}


def _people_prefetches() -> list[Any]:
    return [
        "assignees",
        Prefetch("victims", queryset=Victim.objects.order_by("id").prefetch_related(
            Prefetch("referrals", queryset=Referral.objects.select_related("officer").order_by("id")),
            # only the reports' ids are shown: their encrypted XML and document stay unread
            Prefetch("reports", queryset=Report.objects.only("id")))),
        Prefetch("suspects", queryset=Suspect.objects.order_by("id").prefetch_related(
            "identifiers", Prefetch("steps", queryset=SuspectStep.objects.select_related("by")))),
    ]


def case_report_ids(case: Case) -> list[int]:
    return sorted(cr.report_id for cr in case.case_reports.all())


def case_page_prefetched(case: Case) -> tuple[Case, dict[str, list[Any]]]:
    """What the case page shows: the case with its people prefetched (assignees, victims,
    suspects: the permission checks and the suspects' lookups read them there), and its
    flat lists (reports, tasks, legal requests, attachments, timeline, notes) read
    directly: the same rows as `case_detail_prefetched`, without the prefetch machinery,
    and the notes with their authors in one query (bench/RESULTS.md, session 11)."""
    case = case_detail_prefetched(case, just_read=True, lists=False)
    lists: dict[str, list[Any]] = {name: list(rows().filter(case=case)) for name, rows in _CASE_LISTS.items()}
    lists["report_ids"] = list(CaseReport.objects.filter(case=case).order_by("report_id").values_list("report_id", flat=True))
    return case, lists


def case_offered_reports(*, user: User, case: Case) -> QuerySet[Report]:
    """Reports of the case's unit that joined one of its clusters later and are in
    no case yet: offered to the case, for a person to add (or not). One query: the
    case's clusters are a subquery."""
    clusters = (Report.objects.filter(case_link__case=case).exclude(linkage__unit_cluster_id=0)
                .values_list("linkage__unit_cluster_id", flat=True))
    return (report_queryset_for_user(user).filter(unit_id=case.unit_id, linkage__unit_cluster_id__in=clusters,
                                                  case_link__isnull=True).exclude(status=ReportStatus.OPEN).order_by("id"))


def task_get_for_user(*, user: User, task_id: int, action: Action = Action.VIEW) -> Task:
    return get_for(Task.objects.select_related("case", "assignee"), user, action, id=_id(task_id))


MY_WORK_PAGE = 20  # rows per section of "my work": a person with 1,000 cases reads the first ones and counts, not all


@dataclass(frozen=True)
class Section:
    """One page of a "my work" section: its rows, how many there are in all, and where it stands."""

    rows: list[Any]
    count: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.size))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.size + len(self.rows)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _section(qs: QuerySet[Any], page: int, size: int) -> Section:
    """A page of `qs`. The first page of a short section costs one query (its length is
    its count); a full or later page adds the count."""
    page = max(1, page)
    if page == 1:
        rows = list(qs[: size + 1])
        if len(rows) <= size:
            return Section(rows, len(rows), 1, size)
        return Section(rows[:size], qs.count(), 1, size)
    count = qs.count()
    page = min(page, max(1, -(-count // size)))
    return Section(list(qs[(page - 1) * size: page * size]), count, page, size)


MY_WORK_SECTIONS = ("overdue", "due", "referrals", "legal", "cases")


def my_work(*, user: User, pages: dict[str, int] | None = None, size: int | None = None) -> dict[str, Any]:
    """The user's open tasks (overdue ones in their own section, each by due date), the
    referrals they answer for, the legal requests of their open cases awaiting an answer
    and their open cases (nearest deadline first) — each section a page of `size` rows
    with its count, whatever the number of cases (`pages`: the page of each section)."""
    pages = pages or {}
    size = size or MY_WORK_PAGE
    today, now = timezone.localdate(), timezone.now()
    # One's own tasks, and the unassigned ones of one's open cases (a P1 case's first
    # action is created before anyone is given the case).
    # The cases as a subquery, not a join: no duplicate rows, so no DISTINCT, and the
    # database can stop at the page's rows instead of sorting all of a person's tasks.
    my_open_cases = Case.objects.filter(assignees=user, status__in=OPEN_STATUSES).values("id")
    mine = Q(assignee=user) | Q(assignee__isnull=True, case_id__in=my_open_cases)
    tasks = (restrict(Task.objects.filter(mine, status=TaskStatus.OPEN), user, Action.VIEW)
             .select_related("case").order_by("due", "due_at", "id"))
    late = Q(due_at__lt=now) | Q(due_at__isnull=True, due__lt=today)  # Task.overdue, in SQL
    # The page shows no assignees: the list's prefetch of them is dropped.
    cases = case_list_for_user(user=user, status="open", mine=True).prefetch_related(None).order_by("deadline", "id")
    requests = restrict(LegalRequest.objects.filter(case__assignees=user, answered_on__isnull=True, case__status__in=OPEN_STATUSES),
                        user, Action.VIEW).select_related("case").order_by("due_on", "id")
    referrals = restrict(Referral.objects.filter(officer=user).exclude(state__in=["declined", "completed", "withdrawn"]), user,
                         Action.VIEW).select_related("victim__case").order_by("requested_at", "id")
    return {
        "overdue": _section(tasks.filter(late), pages.get("overdue", 1), size),
        "due": _section(tasks.exclude(late), pages.get("due", 1), size),
        "referrals": _section(referrals, pages.get("referrals", 1), size),
        "legal_requests": _section(requests, pages.get("legal", 1), size),
        "cases": _section(cases, pages.get("cases", 1), size),
        "today": today,
    }


def victim_get_for_user(*, user: User, victim_id: int, action: Action = Action.VIEW) -> Victim:
    return get_for(Victim.objects.select_related("case").prefetch_related(
        Prefetch("referrals", queryset=Referral.objects.select_related("officer").order_by("id")), "reports"),
        user, action, id=_id(victim_id))


def victim_identity(*, user: User, victim: Victim) -> dict[str, str] | None:
    """The victim's identity if the user may see it (then audited), else None."""
    if not may_view_identity(user, victim):
        return None
    events.victim_identity_viewed_event(victim=victim, actor=user)
    return {"first_name": victim.first_name, "last_name": victim.last_name, "date_of_birth": victim.date_of_birth,
            "address": victim.address, "contact": victim.contact}


def case_victims_shown(*, user: User, case: Case) -> list[dict[str, Any]]:
    """The case's victims (prefetched) with the identity of each when the user may
    see it; each identity shown is audited, all in one transaction."""
    with transaction.atomic():
        return [{"victim": v, "identity": victim_identity(user=user, victim=v)} for v in case.victims.all()]


def referral_get_for_user(*, user: User, referral_id: int, action: Action = Action.VIEW) -> Referral:
    return get_for(Referral.objects.select_related("victim__case", "officer"), user, action, id=_id(referral_id))


def suspect_get_for_user(*, user: User, suspect_id: int, action: Action = Action.VIEW) -> Suspect:
    return get_for(Suspect.objects.select_related("case").prefetch_related("identifiers", "steps"), user, action, id=_id(suspect_id))


def suspect_report_ids(*, user: User, suspect: Suspect) -> list[int]:
    """Reports of the user's unit that name one of the suspect's identifiers (as
    linking indexed them), plus the report the suspect was taken from."""
    keys = [i.key for i in suspect.identifiers.all()]
    qs = report_queryset_for_user(user)
    found = set(qs.filter(identifier_entries__key__in=keys).values_list("id", flat=True)) if keys else set()
    if suspect.source_report_id and qs.filter(id=suspect.source_report_id).exists():
        found.add(suspect.source_report_id)
    return sorted(found)


def suspect_appearances(*, user: User, suspect: Suspect) -> dict[str, Any]:
    """Where the suspect's identifiers appear elsewhere in the unit: reports,
    clusters, and other cases (through their reports or their suspects)."""
    return suspects_appearances(user=user, suspects=[suspect])[suspect.pk]


def suspects_appearances(*, user: User, suspects: list[Suspect]) -> dict[int, dict[str, Any]]:
    """`suspect_appearances` of several suspects (identifiers prefetched) in a fixed
    number of queries, whatever their number: the case page's suspects."""
    keys_of = {s.pk: {i.key for i in s.identifiers.all()} for s in suspects}
    all_keys = set().union(*keys_of.values())
    visible = report_queryset_for_user(user)
    reports_of_key: dict[str, set[int]] = {}
    if all_keys:
        for key, report_id in IdentifierEntry.objects.filter(key__in=all_keys, report__in=visible).values_list("key", "report_id"):
            reports_of_key.setdefault(key, set()).add(report_id)
    sources = {s.source_report_id for s in suspects if s.source_report_id}
    seen_sources = set(visible.filter(id__in=sources).values_list("id", flat=True)) if sources else set()
    report_ids: dict[int, list[int]] = {}
    for s in suspects:
        found = set().union(*(reports_of_key.get(k, set()) for k in keys_of[s.pk]))
        if s.source_report_id in seen_sources:
            found.add(s.source_report_id)
        report_ids[s.pk] = sorted(found)
    all_reports = set().union(*map(set, report_ids.values()))
    cluster_of = dict(Report.objects.filter(id__in=all_reports).exclude(linkage__unit_cluster_id=0)
                      .values_list("id", "linkage__unit_cluster_id")) if all_reports else {}
    cases_of_report: dict[int, set[int]] = {}
    for case_id, report_id in CaseReport.objects.filter(report_id__in=all_reports).values_list("case_id", "report_id") if all_reports else ():
        cases_of_report.setdefault(report_id, set()).add(case_id)
    cases_of_key: dict[str, set[int]] = {}
    for case_id, key in SuspectIdentifier.objects.filter(key__in=all_keys).values_list("suspect__case_id", "key") if all_keys else ():
        cases_of_key.setdefault(key, set()).add(case_id)
    case_ids = {s.pk: (set().union(*(cases_of_report.get(r, set()) for r in report_ids[s.pk]))
                       | set().union(*(cases_of_key.get(k, set()) for k in keys_of[s.pk]))) - {s.case_id} for s in suspects}
    wanted = set().union(*case_ids.values())
    cases = {c.pk: c for c in restrict(Case.objects.filter(pk__in=wanted), user, Action.VIEW)} if wanted else {}
    return {s.pk: {"reports": report_ids[s.pk],
                   "clusters": sorted({cluster_of[r] for r in report_ids[s.pk] if r in cluster_of}),
                   "cases": [cases[c] for c in sorted(case_ids[s.pk], reverse=True) if c in cases]}
            for s in suspects}


def legal_request_get_for_user(*, user: User, request_id: int, action: Action = Action.VIEW) -> LegalRequest:
    return get_for(LegalRequest.objects.select_related("case"), user, action, id=_id(request_id))


# --- attachments, exports, documents ---------------------------------------------------------------------------------


def attachment_get_for_user(*, user: User, attachment_id: int, action: Action = Action.VIEW) -> Attachment:
    return get_for(Attachment.objects.select_related("case", "uploaded_by"), user, action, id=_id(attachment_id))


def case_attachments(*, user: User, case: Case) -> QuerySet[Attachment]:
    return restrict(Attachment.objects.filter(case=case), user, Action.VIEW).select_related("uploaded_by").order_by("id")


def attachment_content(*, user: User, attachment: Attachment) -> Iterator[bytes]:
    """The decrypted content, for someone who may take it out (audited before the first byte)."""
    from himaya.core.storage import open_plaintext

    attachment = get_for(Attachment.objects.select_related("case"), user, Action.EXPORT, id=attachment.pk)
    events.attachment_downloaded_event(attachment=attachment, actor=user)
    return open_plaintext(attachment.blob_id)


def case_timeline_rows(*, user: User, case: Case, format: str) -> list[dict[str, str]]:
    """The case's timeline as rows for the court file (at, type, actor, summary in the
    active language), for someone who may export the case; the export is audited."""
    from himaya.cases.presentation import actor_name, event_summary

    case = get_for(Case.objects.all(), user, Action.EXPORT, id=case.pk)
    rows = [{"at": timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S %Z"), "type": e.type, "type_label": str(e.get_type_display()),
             "actor": actor_name(e), "summary": event_summary(e)}
            for e in TimelineEvent.objects.filter(case=case).select_related("actor").order_by("at", "id")]
    events.case_timeline_exported_event(case=case, actor=user, format=format, events=len(rows))
    return rows


def legal_request_document(*, user: User, request: LegalRequest, language: str) -> dict[str, Any]:
    """What the request's document says, from the report's own data: the provider,
    the accounts the report names as reported (ids, screen names, emails, phones),
    and the IP addresses with their times. Produced for who may export requests; audited."""
    from himaya.reports.models import Identifier, IpCaptureEvent

    request = get_for(LegalRequest.objects.select_related("case", "case__unit", "report", "created_by"), user, Action.EXPORT, id=request.pk)
    if request.report_id:
        report_ids = [request.report_id]
    else:
        report_ids = sorted(request.case.case_reports.values_list("report_id", flat=True))
    parties = list(Party.objects.filter(report_id__in=report_ids, role="reported").order_by("report_id", "position"))
    party_ids = [p.pk for p in parties]
    accounts = []
    for p in parties:
        if p.esp_identifier or p.screen_name:
            accounts.append({"report": p.report_id, "platform": p.platform or p.esp_service, "esp_id": p.esp_identifier,
                             "screen_name": p.screen_name})
    identifiers = list(Identifier.objects.filter(report_id__in=report_ids, party_id__in=party_ids, kind__in=["email", "phone", "url", "device"])
                       .order_by("report_id", "id").values("report_id", "kind", "value"))
    ips = list(IpCaptureEvent.objects.filter(report_id__in=report_ids).filter(Q(party_id__in=party_ids) | Q(party__isnull=True))
               .order_by("at", "id").values("report_id", "ip_address", "event_name", "at", "port"))
    for ip in ips:  # a provider's logs are in UTC: the document says so and quotes them so
        ip["at_utc"] = ip["at"].astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") if ip["at"] else ""
    events.legal_request_document_event(request=request, actor=user, language=language)
    return {"request": request, "case": request.case, "report_ids": report_ids, "accounts": accounts,
            "identifiers": identifiers, "ips": ips, "account": request.account}


def legal_requests_overdue(*, user: User) -> QuerySet[LegalRequest]:
    """Requests of the unit's open cases past their due date and not answered."""
    return (restrict(LegalRequest.objects.filter(answered_on__isnull=True, due_on__lt=timezone.localdate(), case__status__in=OPEN_STATUSES),
                     user, Action.VIEW).select_related("case").order_by("due_on", "id"))


def report_case_info(report_ids: list[int]) -> dict[int, dict[str, Any]]:
    """For the queue and the reports list: each report's case (reference, id), its
    assignees and its next due time (the earliest open task's, else the case's
    deadline), in three queries whatever the number of rows. The rows are the
    caller's own (already restricted); nothing here widens them."""
    if not report_ids:
        return {}
    from himaya.cases.models import CaseReport

    links = dict(CaseReport.objects.filter(report_id__in=report_ids).values_list("report_id", "case_id"))
    if not links:
        return {}
    case_ids = set(links.values())
    # Only the columns shown (one page of rows, reloaded all day: bench/RESULTS.md, session 11).
    cases = {c.pk: c for c in Case.objects.filter(pk__in=case_ids).only("id", "reference", "status", "deadline").prefetch_related(
        Prefetch("assignees", queryset=User.objects.only("id", "username").order_by("username")))}
    first_task: dict[int, Task] = {}
    for t in (Task.objects.filter(case_id__in=case_ids, status=TaskStatus.OPEN).exclude(due__isnull=True)
              .only("id", "case_id", "status", "due", "due_at").order_by("due", "due_at")):
        first_task.setdefault(t.case_id, t)
    out: dict[int, dict[str, Any]] = {}
    for report_id, case_id in links.items():
        case = cases[case_id]
        task = first_task.get(case_id)
        if task is not None and task.due_at is not None:
            due = timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")
        elif task is not None:
            due = task.due.isoformat()
        else:
            due = case.deadline.isoformat() if case.deadline and case.is_open else None
        overdue = task.overdue if task else bool(case.deadline and case.is_open and case.deadline < timezone.localdate())
        out[report_id] = {"id": case.pk, "reference": case.reference, "status": case.status,
                          "assignees": [u.username for u in case.assignees.all()], "due": due, "overdue": overdue}
    return out
