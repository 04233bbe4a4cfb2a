"""Case services: every workflow move allowed or refused, referral states, merges,
timeline and audit written with each change (SPEC §3.6)."""
from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from himaya.audit.models import AuditEvent
from himaya.cases import selectors
from himaya.cases import services as S
from himaya.cases.errors import CaseError
from himaya.cases.models import Case, CaseReport, EventType, TimelineEvent
from himaya.linking.models import ReportLinkage
from himaya.reports.models import Party
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():  # type: ignore[no-untyped-def]
    """Messages are matched in English here (Arabic is the site's default language)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def open_case(people, reports, **kw):  # type: ignore[no-untyped-def]
    return S.case_open(actor=people["analyst"], title="Nighthawk", report_ids=[reports[0].id, reports[1].id], **kw)


def test_open_from_reports_gives_sequential_references_and_records_both_logs(people, reports) -> None:  # type: ignore[no-untyped-def]
    year = timezone.localdate().year
    first = open_case(people, reports)
    second = S.case_open(actor=people["investigator"], title="Sparrow", report_ids=[reports[2].id])
    assert first.reference == f"HMY-{year}-00001" and second.reference == f"HMY-{year}-00002"
    assert first.unit_id == people["analyst"].unit_id and first.status == "new"
    assert set(CaseReport.objects.filter(case=first).values_list("report_id", flat=True)) == {reports[0].id, reports[1].id}
    assert TimelineEvent.objects.get(case=first).type == EventType.CASE_OPENED
    assert AuditEvent.objects.filter(action="case.opened", target_id=str(first.pk)).count() == 1


def test_open_from_cluster_takes_the_units_reports_of_that_cluster(people, reports) -> None:  # type: ignore[no-untyped-def]
    cluster = ReportLinkage.objects.get(report=reports[0]).unit_cluster_id
    case = S.case_open(actor=people["analyst"], title="From the queue", cluster=cluster)
    assert sorted(CaseReport.objects.filter(case=case).values_list("report_id", flat=True)) == [reports[0].id, reports[1].id]
    assert TimelineEvent.objects.get(case=case).fields["cluster"] == cluster


def test_a_report_already_in_a_case_is_a_clear_error_and_nothing_is_written(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    with pytest.raises(CaseError, match=case.reference):
        S.case_open(actor=people["analyst"], title="Again", report_ids=[reports[1].id, reports[2].id])
    assert Case.objects.count() == 1 and not CaseReport.objects.filter(report=reports[2]).exists()


def test_another_units_report_does_not_exist_and_roles_that_may_not_open_get_403(people, reports, other_unit) -> None:  # type: ignore[no-untyped-def]
    foreign = store(report_xml(suspect=Person(esp_id="far-1")), unit=other_unit)
    with pytest.raises(Http404):
        S.case_open(actor=people["analyst"], title="x", report_ids=[reports[0].id, foreign.id])
    with pytest.raises(Http404):
        S.case_open(actor=people["other"], title="x", report_ids=[reports[0].id])
    for role in ("prosecutor", "cp", "auditor"):
        with pytest.raises(PermissionDenied):
            S.case_open(actor=people[role], title="x", report_ids=[reports[0].id])
    assert Case.objects.count() == 0


ALLOWED = [("new", "investigating"), ("investigating", "prosecution"), ("prosecution", "court")]


def walk(case, actor, to):  # type: ignore[no-untyped-def]
    for old, new in ALLOWED:
        if case.status == to:
            break
        case = S.case_set_status(actor=actor, case=case, status=new)
    return case


@pytest.mark.parametrize("start", ["new", "investigating", "prosecution", "court", "closed"])
@pytest.mark.parametrize("target", ["new", "investigating", "prosecution", "court", "closed"])
def test_case_workflow_only_allows_its_moves(people, reports, start, target) -> None:  # type: ignore[no-untyped-def]
    inv = people["investigator"]
    case = walk(open_case(people, reports), inv, start if start != "closed" else "new")
    if start == "closed":
        case = S.case_set_status(actor=inv, case=case, status="closed", outcome="no_offence")
    allowed = (start, target) in ALLOWED or (start != "closed" and target == "closed")
    outcome = ("convicted" if start == "court" else "insufficient_evidence") if target == "closed" else ""
    before = TimelineEvent.objects.filter(case=case).count()
    if allowed:
        moved = S.case_set_status(actor=inv, case=case, status=target, outcome=outcome)
        assert moved.status == target and moved.outcome == outcome
        ev = TimelineEvent.objects.filter(case=case).last()
        assert ev.type == EventType.STATUS_CHANGED and ev.fields == {"old": start, "new": target, "outcome": outcome}
        assert AuditEvent.objects.filter(action="case.status_changed", target_id=str(case.pk), data__new=target).exists()
    else:
        with pytest.raises(CaseError):
            S.case_set_status(actor=inv, case=case, status=target, outcome=outcome)
        assert Case.objects.get(pk=case.pk).status == start
        assert TimelineEvent.objects.filter(case=case).count() == before


def test_closing_needs_an_outcome_and_court_outcomes_need_a_court(people, reports) -> None:  # type: ignore[no-untyped-def]
    inv = people["investigator"]
    case = walk(open_case(people, reports), inv, "investigating")
    with pytest.raises(CaseError, match="outcome"):
        S.case_set_status(actor=inv, case=case, status="closed")
    with pytest.raises(CaseError):
        S.case_set_status(actor=inv, case=case, status="closed", outcome="convicted")
    with pytest.raises(CaseError):
        S.case_set_status(actor=inv, case=case, status="closed", outcome="merged")
    with pytest.raises(CaseError):
        S.case_set_status(actor=inv, case=case, status="prosecution", outcome="no_offence")
    with pytest.raises(CaseError):
        S.case_set_status(actor=inv, case=case, status="closed", outcome="made_up")
    for role in ("analyst", "cp", "auditor"):
        with pytest.raises(PermissionDenied):
            S.case_set_status(actor=people[role], case=case, status="prosecution")
    with pytest.raises(Http404):
        S.case_set_status(actor=people["other"], case=case, status="prosecution")


def test_assign_sets_exactly_the_given_users_of_the_unit(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    sup = people["supervisor"]
    S.case_assign(actor=sup, case=case, usernames=["investigator", "prosecutor"])
    assert set(case.assignees.values_list("username", flat=True)) == {"investigator", "prosecutor"}
    S.case_assign(actor=sup, case=case, usernames=["investigator", "cp"])
    ev = TimelineEvent.objects.filter(case=case, type=EventType.ASSIGNED).last()
    assert ev.fields == {"added": ["cp"], "removed": ["prosecutor"]}
    for bad in (["other-supervisor"], ["auditor"], ["nobody"]):
        with pytest.raises(CaseError, match="No such user"):
            S.case_assign(actor=sup, case=case, usernames=bad)
    with pytest.raises(PermissionDenied):
        S.case_assign(actor=people["investigator"], case=case, usernames=["investigator"])


def test_merge_moves_everything_and_closes_the_merged_case(people, reports) -> None:  # type: ignore[no-untyped-def]
    a = open_case(people, reports)
    b = S.case_open(actor=people["analyst"], title="Sparrow", report_ids=[reports[2].id])
    sup = people["supervisor"]
    S.case_assign(actor=sup, case=b, usernames=["prosecutor"])
    victim = S.victim_create(actor=people["cp"], case=b, first_name="Mira")
    suspect = S.suspect_create(actor=people["investigator"], case=b, identifiers=[{"kind": "email", "value": "sparrow@example.com"}])
    task = S.task_create(actor=sup, case=b, kind="warrant", title="Warrant")
    S.case_merge(actor=sup, source=b, target=a)
    b.refresh_from_db()
    assert b.status == "closed" and b.outcome == "merged" and b.merged_into_id == a.pk
    assert set(CaseReport.objects.filter(case=a).values_list("report_id", flat=True)) == {r.id for r in reports}
    for obj in (victim, suspect, task):
        obj.refresh_from_db()
        assert obj.case_id == a.pk
    assert "prosecutor" in a.assignees.values_list("username", flat=True)
    assert TimelineEvent.objects.filter(case=a, type=EventType.MERGED_IN, fields__other=b.reference).exists()
    assert TimelineEvent.objects.filter(case=b, type=EventType.MERGED_INTO).exists()
    with pytest.raises(CaseError):
        S.case_merge(actor=sup, source=a, target=b)  # b is closed
    with pytest.raises(CaseError):
        S.case_merge(actor=sup, source=a, target=a)


def test_a_report_that_joins_the_cluster_later_is_offered_to_the_case(people, reports, unit) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    assert list(selectors.case_offered_reports(user=people["analyst"], case=case)) == []
    later = store(report_xml(suspect=Person(esp_id="hawk-3", emails=["hawk@example.com"])), unit=unit)
    assert [r.id for r in selectors.case_offered_reports(user=people["analyst"], case=case)] == [later.id]
    S.case_add_reports(actor=people["investigator"], case=case, report_ids=[later.id])
    assert list(selectors.case_offered_reports(user=people["analyst"], case=case)) == []
    assert TimelineEvent.objects.filter(case=case, type=EventType.REPORTS_ADDED, fields__reports=[later.id]).exists()


def test_tasks_and_their_status_moves(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    inv = people["investigator"]
    task = S.task_create(actor=inv, case=case, kind="preservation_request", title="Preserve the account",
                         due=timezone.localdate() - datetime.timedelta(days=1), assignee="investigator")
    assert task.overdue and not task.done
    assert selectors.my_work(user=inv)["overdue"].rows == [task]
    task = S.task_set_done(actor=inv, task=task, done=True)
    assert task.done and task.done_at is not None and selectors.my_work(user=inv)["overdue"].rows == []
    task = S.task_set_done(actor=inv, task=task, done=False)
    task = S.task_set_status(actor=inv, task=task, status="cancelled")
    with pytest.raises(CaseError):
        S.task_set_status(actor=inv, task=task, status="done")
    types = list(TimelineEvent.objects.filter(case=case, type=EventType.TASK_STATUS_CHANGED).values_list("fields__new", flat=True))
    assert types == ["done", "open", "cancelled"]
    with pytest.raises(CaseError):
        S.task_create(actor=inv, case=case, kind="coffee", title="x")
    for role in ("analyst", "auditor"):
        with pytest.raises(PermissionDenied):
            S.task_create(actor=people[role], case=case, kind="other", title="x")


def test_victim_identification_moves_forward_only(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    cp = people["cp"]
    victim = S.victim_create(actor=cp, case=case, age_range="9-12", sex="female", report_ids=[reports[0].id])
    victim = S.victim_update(actor=cp, victim=victim, identification="identified")
    victim = S.victim_update(actor=cp, victim=victim, identification="safeguarded")  # located and safeguarded the same day
    with pytest.raises(CaseError):
        S.victim_update(actor=cp, victim=victim, identification="located")
    fields = list(TimelineEvent.objects.filter(case=case, type=EventType.VICTIM_IDENTIFICATION).values_list("fields", flat=True))
    assert [(f["old"], f["new"]) for f in fields] == [("unidentified", "identified"), ("identified", "safeguarded")]
    with pytest.raises(CaseError):
        S.victim_create(actor=cp, case=case, report_ids=[reports[2].id])  # not a report of the case
    with pytest.raises(PermissionDenied):
        S.victim_create(actor=people["prosecutor"], case=case)


def test_identity_is_written_only_by_those_who_may_read_it(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    inv = people["investigator"]
    with pytest.raises(PermissionDenied):
        S.victim_create(actor=inv, case=case, first_name="Mira")  # not assigned to the case
    victim = S.victim_create(actor=inv, case=case, age=11)
    S.case_assign(actor=people["supervisor"], case=case, usernames=["investigator"])
    victim = S.victim_update(actor=inv, victim=victim, first_name="Mira", date_of_birth="2015-04-01")
    assert victim.first_name == "Mira" and victim.date_of_birth == "2015-04-01"
    ev = TimelineEvent.objects.filter(case=case, type=EventType.VICTIM_UPDATED).last()
    assert ev.fields["changed"] == ["date_of_birth", "first_name"] and "Mira" not in str(ev.fields)
    with pytest.raises(CaseError):
        S.victim_update(actor=inv, victim=victim, date_of_birth="2099-01-01")


REFERRAL_MOVES = {
    "requested": {"accepted", "declined", "withdrawn"},
    "accepted": {"in_progress", "withdrawn"},
    "in_progress": {"completed", "withdrawn"},
    "declined": set(), "completed": set(), "withdrawn": set(),
}
PATH_TO = {"requested": [], "accepted": ["accepted"], "declined": ["declined"], "in_progress": ["accepted", "in_progress"],
           "completed": ["accepted", "in_progress", "completed"], "withdrawn": ["withdrawn"]}


@pytest.mark.parametrize("start", list(REFERRAL_MOVES))
def test_referral_states_only_allow_their_moves(people, reports, start) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    cp = people["cp"]
    victim = S.victim_create(actor=cp, case=case)
    extra = {"outcome": "Placed with a foster family", "reason": "The family moved away"}
    ref = S.referral_create(actor=cp, victim=victim, kind="shelter", service="Dar al-Aman (example)", officer="cp")
    for step in PATH_TO[start]:
        ref = S.referral_move(actor=cp, referral=ref, state=step, **extra)
    for target in REFERRAL_MOVES:
        if target in REFERRAL_MOVES[start]:
            continue
        with pytest.raises(CaseError):
            S.referral_move(actor=cp, referral=ref, state=target, **extra)
    for target in REFERRAL_MOVES[start]:
        from himaya.cases.models import Referral

        moved = S.referral_move(actor=cp, referral=Referral.objects.get(pk=ref.pk), state=target, **extra)
        assert moved.state == target and getattr(moved, S.REFERRAL_DATE_FIELD[target]) is not None
        Referral.objects.filter(pk=ref.pk).update(state=start)  # back, to try the next move


def test_referral_completion_needs_an_outcome_and_withdrawal_a_reason(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    cp = people["cp"]
    ref = S.referral_create(actor=cp, victim=S.victim_create(actor=cp, case=case), kind="psychological", service="Counselling centre")
    with pytest.raises(CaseError):
        S.referral_move(actor=cp, referral=ref, state="withdrawn")
    ref = S.referral_move(actor=cp, referral=ref, state="accepted")
    ref = S.referral_move(actor=cp, referral=ref, state="in_progress")
    with pytest.raises(CaseError):
        S.referral_move(actor=cp, referral=ref, state="completed")
    ref = S.referral_move(actor=cp, referral=ref, state="completed", outcome="Twelve sessions held")
    assert ref.outcome == "Twelve sessions held"
    for role in ("investigator", "prosecutor", "analyst", "auditor"):
        with pytest.raises(PermissionDenied):
            S.referral_create(actor=people[role], victim=ref.victim, kind="health", service="Clinic")
    with pytest.raises(CaseError):
        S.referral_create(actor=cp, victim=ref.victim, kind="health", service="Clinic", officer="other-supervisor")


SUSPECT_MOVES = {
    "unidentified": {"identified"}, "identified": {"arrested", "charged"}, "arrested": {"charged", "released"},
    "charged": {"convicted", "acquitted", "released"}, "released": {"arrested", "charged"}, "convicted": set(), "acquitted": set(),
}
SUSPECT_PATH = {"unidentified": [], "identified": ["identified"], "arrested": ["identified", "arrested"],
                "charged": ["identified", "charged"], "released": ["identified", "arrested", "released"],
                "convicted": ["identified", "charged", "convicted"], "acquitted": ["identified", "charged", "acquitted"]}


@pytest.mark.parametrize("start", list(SUSPECT_MOVES))
def test_suspect_status_only_allows_its_moves_with_date_and_legal_basis(people, reports, start) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    inv = people["investigator"]
    suspect = S.suspect_create(actor=inv, case=case)
    for step in SUSPECT_PATH[start]:
        suspect = S.suspect_update(actor=inv, suspect=suspect, status=step, legal_basis=f"Basis for {step}")
    for target in SUSPECT_MOVES:
        if target == start:
            continue
        if target in SUSPECT_MOVES[start]:
            if target != "identified":
                with pytest.raises(CaseError, match="legal basis"):
                    S.suspect_update(actor=inv, suspect=suspect, status=target)
        else:
            with pytest.raises(CaseError):
                S.suspect_update(actor=inv, suspect=suspect, status=target, legal_basis="x")
    assert list(suspect.steps.values_list("status", flat=True)) == SUSPECT_PATH[start]
    assert [s.legal_basis for s in suspect.steps.all()] == [f"Basis for {s}" for s in SUSPECT_PATH[start]]


def test_suspect_identifiers_are_normalised_like_linking_and_find_their_reports(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = S.case_open(actor=people["analyst"], title="Hawk", report_ids=[reports[0].id])
    inv = people["investigator"]
    suspect = S.suspect_create(actor=inv, case=case, label="Hawk", identifiers=[
        {"kind": "email", "value": " HAWK@Example.com "}, {"kind": "ip", "value": "203.0.113.40"}])
    assert sorted(suspect.identifiers.values_list("key", flat=True)) == ["email:hawk@example.com", "ip:203.0.113.40"]
    # reports[1] names the same email and is in no case yet: the suspect appears there too.
    assert selectors.suspect_report_ids(user=inv, suspect=suspect) == [reports[0].id, reports[1].id]
    with pytest.raises(CaseError):
        S.suspect_create(actor=inv, case=case, identifiers=[{"kind": "email", "value": "not-an-email"}])
    with pytest.raises(PermissionDenied):
        S.suspect_create(actor=people["cp"], case=case)


def test_suspect_from_a_reported_person_copies_their_identifiers(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = S.case_open(actor=people["analyst"], title="Hawk", report_ids=[reports[0].id])
    party = Party.objects.get(report=reports[0], role="reported")
    suspect = S.suspect_from_party(actor=people["investigator"], case=case, party=party)
    got = {(i.kind, i.value) for i in suspect.identifiers.all()}
    assert {("email", "hawk@example.com"), ("esp_id", "hawk-1"), ("screen_name", "nighthawk77"), ("ip", "203.0.113.40")} <= got
    assert suspect.source_report_id == reports[0].id and suspect.label
    other = Party.objects.get(report=reports[2], role="reported")
    with pytest.raises(CaseError):
        S.suspect_from_party(actor=people["investigator"], case=case, party=other)


def test_legal_request_answer_times_and_overdue(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    inv = people["investigator"]
    today = timezone.localdate()
    req = S.legal_request_create(actor=inv, case=case, provider="ExampleChat", kind="preservation", legal_basis="Art. 12",
                                 account="hawk-1", sent_on=today - datetime.timedelta(days=10), due_on=today - datetime.timedelta(days=3))
    assert req.overdue
    req = S.legal_request_answer(actor=inv, request=req, result="preserved", answer="Preserved for 90 days",
                                 answered_on=today - datetime.timedelta(days=2))
    assert not req.overdue and req.answer_days == 8
    with pytest.raises(CaseError):
        S.legal_request_answer(actor=inv, request=req, result="provided")
    with pytest.raises(CaseError):
        S.legal_request_create(actor=inv, case=case, provider="X", kind="content", legal_basis="y",
                               sent_on=today, due_on=today - datetime.timedelta(days=1))
    with pytest.raises(PermissionDenied):
        S.legal_request_create(actor=people["cp"], case=case, provider="X", kind="content", legal_basis="y")
    assert AuditEvent.objects.filter(action="legal_request.answered", data__days=8).exists()


def test_other_unit_sees_nothing_through_selectors(people, reports) -> None:  # type: ignore[no-untyped-def]
    case = open_case(people, reports)
    other = people["other"]
    assert not selectors.case_list_for_user(user=other).exists()
    with pytest.raises(Http404):
        selectors.case_get_for_user(user=other, case_id=case.pk)
