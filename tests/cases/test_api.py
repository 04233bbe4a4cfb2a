"""The case API contract (SPEC §4.3): paths, field names and values exactly, errors
as JSON {"detail": ...} with 400/403/404, victim identity only for the roles that
need it (and every such read audited)."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from himaya.audit.models import AuditEvent
from himaya.cases import services as S
from himaya.reports.models import Party

pytestmark = pytest.mark.django_db


def client(user) -> APIClient:  # type: ignore[no-untyped-def]
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def case(people, reports):  # type: ignore[no-untyped-def]
    return S.case_open(actor=people["analyst"], title="Nighthawk", report_ids=[reports[0].id, reports[1].id])


def test_create_and_read_a_case_with_the_contract_fields(people, reports) -> None:  # type: ignore[no-untyped-def]
    c = client(people["analyst"])
    r = c.post("/api/v1/cases/", {"title": "Nighthawk", "reports": [reports[0].id, reports[1].id]}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) >= {"id", "reference", "title", "status", "outcome", "assignees", "reports", "victims", "suspects", "tasks", "timeline"}
    assert body["status"] == "new" and body["outcome"] is None and body["reports"] == sorted([reports[0].id, reports[1].id])
    assert body["reference"].startswith("HMY-") and len(body["reference"]) == len("HMY-2026-00001")
    assert body["assignees"] == [] and body["victims"] == [] and body["suspects"] == [] and body["tasks"] == []
    assert [set(e) for e in body["timeline"]] == [{"at", "type", "actor", "summary"}]
    assert body["timeline"][0]["type"] == "case_opened" and body["timeline"][0]["actor"] == "analyst"
    assert body["reference"] in body["timeline"][0]["summary"]

    listed = c.get("/api/v1/cases/").json()
    assert [x["id"] for x in listed["results"]] == [body["id"]]
    assert c.get(f"/api/v1/cases/{body['id']}/").json() == c.get("/api/v1/cases/").json()["results"][0]
    assert c.get(f"/api/v1/reports/{reports[0].id}/").json()["case"] == body["id"]
    assert c.get(f"/api/v1/reports/{reports[2].id}/").json()["case"] is None


def test_status_assign_and_tasks(people, case) -> None:  # type: ignore[no-untyped-def]
    sup = client(people["supervisor"])
    r = sup.post(f"/api/v1/cases/{case.pk}/assign/", {"users": ["investigator", "prosecutor"]}, format="json")
    assert r.status_code == 200 and r.json()["assignees"] == ["investigator", "prosecutor"]
    inv = client(people["investigator"])
    r = inv.post(f"/api/v1/cases/{case.pk}/status/", {"status": "investigating"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "investigating"
    r = inv.post(f"/api/v1/cases/{case.pk}/status/", {"status": "court"}, format="json")
    assert r.status_code == 400 and isinstance(r.json()["detail"], str)
    r = inv.post(f"/api/v1/cases/{case.pk}/status/", {"status": "closed"}, format="json")
    assert r.status_code == 400 and r.json()["detail"] == "إغلاق القضية يتطلب نتيجة."  # Arabic first
    r = inv.post(f"/api/v1/cases/{case.pk}/status/", {"status": "closed", "outcome": "no_offence"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["outcome"] == "no_offence"


def test_tasks_answer_id_kind_title_due_done(people, case) -> None:  # type: ignore[no-untyped-def]
    inv = client(people["investigator"])
    for kind in ("preservation_request", "data_request", "warrant", "search", "arrest", "victim_interview", "forensic_examination", "other"):
        r = inv.post(f"/api/v1/cases/{case.pk}/tasks/", {"kind": kind, "title": f"Do {kind}", "due": "2030-01-31"}, format="json")
        assert r.status_code == 201, r.content
    r = inv.post(f"/api/v1/cases/{case.pk}/tasks/", {"kind": "coffee", "title": "x"}, format="json")
    assert r.status_code == 400 and r.json()["detail"].startswith("kind")
    tasks = inv.get(f"/api/v1/cases/{case.pk}/").json()["tasks"]
    assert len(tasks) == 8 and all(set(t) == {"id", "kind", "title", "due", "done"} for t in tasks)
    assert tasks[0]["due"] == "2030-01-31" and tasks[0]["done"] is False
    r = inv.patch(f"/api/v1/tasks/{tasks[0]['id']}/", {"done": True}, format="json")
    assert r.status_code == 200 and r.json()["done"] is True


def test_victims_and_referrals(people, case, reports) -> None:  # type: ignore[no-untyped-def]
    cp = client(people["cp"])
    r = cp.post("/api/v1/victims/", {"case": case.pk, "identification": "identified", "first_name": "Mira", "last_name": "Exampleton",
                                     "date_of_birth": "2014-05-06", "age_range": "9-12", "sex": "female", "reports": [reports[0].id]},
                format="json")
    assert r.status_code == 201, r.content
    v = r.json()
    assert {k: v[k] for k in ("case", "identification", "first_name", "last_name", "date_of_birth", "age_range", "sex")} == {
        "case": case.pk, "identification": "identified", "first_name": "Mira", "last_name": "Exampleton",
        "date_of_birth": "2014-05-06", "age_range": "9-12", "sex": "female"}
    assert v["referrals"] == []
    r = cp.post(f"/api/v1/victims/{v['id']}/referrals/", {"kind": "shelter", "service": "Dar al-Aman (example)", "officer": "cp"}, format="json")
    assert r.status_code == 201, r.content
    ref = r.json()
    assert set(ref) >= {"id", "kind", "service", "state", "officer", "requested", "completed", "outcome"}
    assert (ref["kind"], ref["state"], ref["officer"], ref["completed"]) == ("shelter", "requested", "cp", None)
    assert cp.post(f"/api/v1/referrals/{ref['id']}/state/", {"state": "completed", "outcome": "x"}, format="json").status_code == 400
    for state in ("accepted", "in_progress"):
        assert cp.post(f"/api/v1/referrals/{ref['id']}/state/", {"state": state}, format="json").status_code == 200
    r = cp.post(f"/api/v1/referrals/{ref['id']}/state/", {"state": "completed", "outcome": "Safe placement for six months"}, format="json")
    assert r.status_code == 200 and r.json()["completed"] and r.json()["outcome"] == "Safe placement for six months"
    r = cp.patch(f"/api/v1/victims/{v['id']}/", {"identification": "safeguarded"}, format="json")
    assert r.status_code == 200 and r.json()["identification"] == "safeguarded"
    assert r.json()["referrals"][0]["state"] == "completed"
    assert cp.patch(f"/api/v1/victims/{v['id']}/", {"identification": "located"}, format="json").status_code == 400


def test_victim_identity_only_for_the_roles_that_need_it_and_audited(people, case) -> None:  # type: ignore[no-untyped-def]
    victim = S.victim_create(actor=people["cp"], case=case, first_name="Mira", last_name="Exampleton", date_of_birth="2014-05-06")
    url = f"/api/v1/victims/{victim.pk}/"
    shown = {"cp": True, "supervisor": True, "investigator": False, "prosecutor": False, "analyst": False, "auditor": False}
    for name, expected in shown.items():
        before = AuditEvent.objects.filter(action="victim.identity_viewed", actor=f"user:{name}").count()
        body = client(people[name]).get(url).json()
        assert (body["first_name"] == "Mira" and body["date_of_birth"] == "2014-05-06") is expected, name
        if not expected:
            assert body["first_name"] is None and body["last_name"] is None and body["date_of_birth"] is None
        after = AuditEvent.objects.filter(action="victim.identity_viewed", actor=f"user:{name}").count()
        assert after - before == (1 if expected else 0), name
    # The case's investigators and prosecutors: once assigned, they see it.
    S.case_assign(actor=people["supervisor"], case=case, usernames=["investigator", "prosecutor"])
    for name in ("investigator", "prosecutor"):
        assert client(people[name]).get(url).json()["last_name"] == "Exampleton"
    # Writing a name one may not read is refused.
    r = client(people["analyst"]).patch(url, {"first_name": "X"}, format="json")
    assert r.status_code == 403


def test_suspects(people, case, reports) -> None:  # type: ignore[no-untyped-def]
    inv = client(people["investigator"])
    r = inv.post("/api/v1/suspects/", {"case": case.pk, "identifiers": [{"kind": "email", "value": "Hawk@Example.com"},
                                                                        {"kind": "screen_name", "value": "nighthawk77", "platform": "ExampleChat"}]},
                 format="json")
    assert r.status_code == 201, r.content
    sp = r.json()
    assert sp["case"] == case.pk and sp["status"] == "unidentified"
    assert sp["identifiers"][0] == {"kind": "email", "value": "Hawk@Example.com"}
    assert set(sp["reports"]) == {reports[0].id, reports[1].id}
    url = f"/api/v1/suspects/{sp['id']}/"
    for status in ("identified", "arrested", "charged", "convicted"):
        r = inv.patch(url, {"status": status, "legal_basis": f"Basis {status}", "status_date": "2026-01-02"}, format="json")
        assert r.status_code == 200, r.content
        assert r.json()["status"] == status
    assert inv.patch(url, {"status": "released", "legal_basis": "x"}, format="json").status_code == 400
    r = inv.post("/api/v1/suspects/", {"case": case.pk, "identifiers": [{"kind": "fax", "value": "1"}]}, format="json")
    assert r.status_code == 400 and "detail" in r.json()
    party = Party.objects.get(report=reports[0], role="reported")
    assert S.suspect_from_party(actor=people["investigator"], case=case, party=party).identifiers.count() >= 3


def test_errors_are_json_detail_with_400_403_404(people, case, reports) -> None:  # type: ignore[no-untyped-def]
    other = client(people["other"])
    for path in (f"/api/v1/cases/{case.pk}/",):
        r = other.get(path)
        assert r.status_code == 404 and r["Content-Type"].startswith("application/json") and "detail" in r.json()
    for path, body in ((f"/api/v1/cases/{case.pk}/status/", {"status": "investigating"}),
                       (f"/api/v1/cases/{case.pk}/assign/", {"users": []}),
                       (f"/api/v1/cases/{case.pk}/tasks/", {"kind": "other", "title": "x"}),
                       ("/api/v1/victims/", {"case": case.pk}),
                       ("/api/v1/suspects/", {"case": case.pk})):
        r = other.post(path, body, format="json")
        assert r.status_code == 404 and "detail" in r.json(), path
    r = client(people["other"]).post("/api/v1/cases/", {"title": "x", "reports": [reports[0].id]}, format="json")
    assert r.status_code == 404 and "detail" in r.json()
    r = client(people["cp"]).post(f"/api/v1/cases/{case.pk}/status/", {"status": "investigating"}, format="json")
    assert r.status_code == 403 and "detail" in r.json()
    r = client(people["analyst"]).post("/api/v1/cases/", {"title": "again", "reports": [reports[0].id]}, format="json")
    assert r.status_code == 400 and case.reference in r.json()["detail"]
    r = client(people["analyst"]).post("/api/v1/cases/", {"title": "", "reports": []}, format="json")
    assert r.status_code == 400 and isinstance(r.json()["detail"], str)
    r = client(people["analyst"]).post("/api/v1/cases/", b"{not json", content_type="application/json")
    assert r.status_code == 400 and "detail" in r.json()
    assert APIClient().get("/api/v1/cases/").status_code in (401, 403)
    assert client(people["analyst"]).get("/api/v1/cases/999999/").status_code == 404


def test_schema_documents_the_case_api(people) -> None:  # type: ignore[no-untyped-def]
    r = client(people["supervisor"]).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    import yaml  # type: ignore[import-untyped]

    schema = yaml.safe_load(r.content)
    paths = schema["paths"]
    for path, method in (("/api/v1/cases/", "post"), ("/api/v1/cases/{case_id}/status/", "post"), ("/api/v1/victims/{victim_id}/", "patch"),
                         ("/api/v1/victims/{victim_id}/referrals/", "post"), ("/api/v1/suspects/{suspect_id}/", "patch")):
        responses = paths[path][method]["responses"]
        assert {"400", "403", "404"} <= set(responses), (path, responses.keys())
