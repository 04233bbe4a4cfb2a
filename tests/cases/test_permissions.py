"""The permission matrix of the case kinds through the API (SPEC §1, §4.3): for each
role of the unit, every call answers as the one table says (allowed → 2xx, not →
403), and for a user of another unit every object is 404, whatever the role."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from himaya.accounts.models import Role
from himaya.accounts.permissions import TABLE, Action, Kind
from himaya.cases import services as S
from himaya.cases.models import CaseReport

pytestmark = pytest.mark.django_db


def world(people, reports) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A case with one of everything, made by the supervisor."""
    sup = people["supervisor"]
    case = S.case_open(actor=sup, title="Matrix", report_ids=[reports[0].id])
    victim = S.victim_create(actor=sup, case=case)
    return {
        "case": case, "victim": victim,
        "referral": S.referral_create(actor=sup, victim=victim, kind="health", service="Clinic (example)"),
        "suspect": S.suspect_create(actor=sup, case=case),
        "task": S.task_create(actor=sup, case=case, kind="search", title="Search"),
        "legal": S.legal_request_create(actor=sup, case=case, provider="ExampleChat", kind="subscriber_data", legal_basis="Art. 5"),
        "spare_report": reports[2].id,
    }


Call = Callable[[APIClient, dict[str, Any]], Any]
OPERATIONS: list[tuple[str, Kind, Action, Call]] = [
    ("case list", Kind.CASE, Action.VIEW, lambda c, w: c.get(f"/api/v1/cases/{w['case'].pk}/")),
    ("case create", Kind.CASE, Action.CREATE, lambda c, w: c.post("/api/v1/cases/", {"title": "t", "reports": [w["spare_report"]]}, format="json")),
    ("case status", Kind.CASE, Action.CHANGE, lambda c, w: c.post(f"/api/v1/cases/{w['case'].pk}/status/", {"status": "investigating"}, format="json")),
    ("case note", Kind.CASE, Action.CHANGE, lambda c, w: c.post(f"/api/v1/cases/{w['case'].pk}/notes/", {"text": "n"}, format="json")),
    ("case assign", Kind.CASE, Action.ASSIGN, lambda c, w: c.post(f"/api/v1/cases/{w['case'].pk}/assign/", {"users": ["investigator"]}, format="json")),
    ("task view", Kind.TASK, Action.VIEW, lambda c, w: c.get(f"/api/v1/tasks/{w['task'].pk}/")),
    ("task create", Kind.TASK, Action.CREATE, lambda c, w: c.post(f"/api/v1/cases/{w['case'].pk}/tasks/", {"kind": "other", "title": "t"}, format="json")),
    ("task done", Kind.TASK, Action.CHANGE, lambda c, w: c.patch(f"/api/v1/tasks/{w['task'].pk}/", {"done": True}, format="json")),
    ("victim view", Kind.VICTIM, Action.VIEW, lambda c, w: c.get(f"/api/v1/victims/{w['victim'].pk}/")),
    ("victim create", Kind.VICTIM, Action.CREATE, lambda c, w: c.post("/api/v1/victims/", {"case": w["case"].pk, "age_range": "13-15"}, format="json")),
    ("victim change", Kind.VICTIM, Action.CHANGE, lambda c, w: c.patch(f"/api/v1/victims/{w['victim'].pk}/", {"identification": "identified"}, format="json")),
    ("referral create", Kind.REFERRAL, Action.CREATE,
     lambda c, w: c.post(f"/api/v1/victims/{w['victim'].pk}/referrals/", {"kind": "shelter", "service": "S"}, format="json")),
    ("referral move", Kind.REFERRAL, Action.CHANGE,
     lambda c, w: c.post(f"/api/v1/referrals/{w['referral'].pk}/state/", {"state": "accepted"}, format="json")),
    ("suspect view", Kind.SUSPECT, Action.VIEW, lambda c, w: c.get(f"/api/v1/suspects/{w['suspect'].pk}/")),
    ("suspect create", Kind.SUSPECT, Action.CREATE, lambda c, w: c.post("/api/v1/suspects/", {"case": w["case"].pk}, format="json")),
    ("suspect change", Kind.SUSPECT, Action.CHANGE, lambda c, w: c.patch(f"/api/v1/suspects/{w['suspect'].pk}/", {"label": "L"}, format="json")),
    ("legal view", Kind.LEGAL_REQUEST, Action.VIEW, lambda c, w: c.get(f"/api/v1/legal-requests/{w['legal'].pk}/")),
    ("legal create", Kind.LEGAL_REQUEST, Action.CREATE,
     lambda c, w: c.post(f"/api/v1/cases/{w['case'].pk}/legal-requests/", {"provider": "P", "kind": "content", "legal_basis": "B"}, format="json")),
    ("legal answer", Kind.LEGAL_REQUEST, Action.CHANGE,
     lambda c, w: c.post(f"/api/v1/legal-requests/{w['legal'].pk}/answer/", {"result": "no_data"}, format="json")),
]
ROLE_USERS = {Role.INTAKE_ANALYST: "analyst", Role.INVESTIGATOR: "investigator", Role.PROSECUTOR: "prosecutor",
              Role.CHILD_PROTECTION: "cp", Role.SUPERVISOR: "supervisor", Role.AUDITOR: "auditor"}


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_of_the_unit_gets_what_the_table_says(people, reports, role) -> None:  # type: ignore[no-untyped-def]
    c = APIClient()
    c.force_authenticate(people[ROLE_USERS[role]])
    failures = []
    for name, kind, action, call in OPERATIONS:
        w = world(people, reports)
        expected_ok = role in TABLE[kind].get(action, frozenset())
        r = call(c, w)
        ok = 200 <= r.status_code < 300
        if ok != expected_ok or (not ok and r.status_code != 403):
            failures.append((name, r.status_code, r.content[:200]))
        # Free the reports for the next world (a report is in at most one case).
        CaseReport.objects.all().delete()
    assert failures == []


def test_another_unit_finds_nothing_whatever_its_role(people, reports) -> None:  # type: ignore[no-untyped-def]
    from tests.cases.conftest import make_user

    outsiders = [people["other"]] + [make_user(f"b-{r}", [r], "unit-b") for r in ("investigator", "child_protection", "auditor")]
    for user in outsiders:
        c = APIClient()
        c.force_authenticate(user)
        failures = []
        for name, _kind, _action, call in OPERATIONS:
            w = world(people, reports)
            r = call(c, w)
            # Opening a case names no object of the caller's own: a role that may not open
            # cases hears 403 before any report is looked up (nothing learned about ours).
            expected = 403 if name == "case create" and not set(user.roles) & TABLE[Kind.CASE][Action.CREATE] else 404
            if r.status_code != expected or "detail" not in r.json():
                failures.append((user.username, name, r.status_code))
            CaseReport.objects.all().delete()
        assert failures == []
    assert APIClient().get("/api/v1/cases/").status_code in (401, 403)
