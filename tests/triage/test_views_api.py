"""The queue, the panel, the override form, the rules page and the API fields."""
from __future__ import annotations

import pytest
from django.test import Client

from himaya.triage.models import ReportTriage, RuleSet
from tests.linking.factory import ENTICEMENT, PS_IP, FileSpec, Person, report_xml, store
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db
PASSWORD = "staff-password-1"


def login(username: str, unit_code: str, roles: list[str]) -> Client:
    from himaya.accounts.services import user_create

    user = user_create(username=username, password=PASSWORD, roles=roles, unit_code=unit_code)
    c = login_verified(Client(), user, PASSWORD)
    return c


@pytest.fixture
def scenario(unit):  # type: ignore[no-untyped-def]
    meme = store(report_xml(batched=True, suspect=Person(esp_id="m-1")), unit=unit, files=[FileSpec(annotations=("viral",))])
    urgent = store(report_xml(incident_type=ENTICEMENT, annotations=("sextortion",), recipient_age=13, chat="سأنشر صورك",
                              suspect=Person(esp_id="u-1", emails=["falcon@example.com"], ips=[(PS_IP, False)])), unit=unit)
    older = store(report_xml(suspect=Person(esp_id="u-1-alt", emails=["falcon@example.com"])), unit=unit)
    return {"meme": meme, "urgent": urgent, "older": older}


def test_queue_orders_by_tier_and_filters(scenario) -> None:  # type: ignore[no-untyped-def]
    c = login("analyst-a", "unit-a", ["intake_analyst"])
    html = c.get("/triage/").content.decode()
    assert html.index(f'data-report="{scenario["urgent"].id}"') < html.index(f'data-report="{scenario["meme"].id}"')
    p4 = c.get("/triage/?priority=P4").content.decode()
    assert f'data-report="{scenario["meme"].id}"' in p4 and f'data-report="{scenario["urgent"].id}"' not in p4
    other = login("analyst-b", "unit-b", ["intake_analyst"])
    assert 'data-report="' not in other.get("/triage/").content.decode()


def test_panel_override_and_bulk_review(scenario) -> None:  # type: ignore[no-untyped-def]
    c = login("analyst-a", "unit-a", ["intake_analyst"])
    r = scenario["meme"]
    page = c.get(f"/reports/{r.id}/").content.decode()
    assert 'id="triage"' in page and "viral_or_meme" in page
    response = c.post(f"/triage/reports/{r.id}/override/", {"priority": "P2", "reason": "Victim identified in the meme"})
    assert response.status_code == 302
    assert ReportTriage.objects.get(report=r).effective_priority == "P2"
    page = c.get(f"/reports/{r.id}/").content.decode()
    assert "Victim identified in the meme" in page
    c.post("/triage/", {"action": "review", "reports": [str(scenario["urgent"].id)]})
    assert ReportTriage.objects.get(report=scenario["urgent"]).reviewed_at is not None
    # Another unit's analyst can neither see nor override.
    other = login("analyst-b", "unit-b", ["intake_analyst"])
    assert other.post(f"/triage/reports/{r.id}/override/", {"priority": "P4", "reason": "x"}).status_code == 404


def test_rules_page_publishes_a_version(scenario, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    analyst = login("analyst-a", "unit-a", ["intake_analyst"])
    assert analyst.get("/triage/rules/").status_code == 200
    assert analyst.post("/triage/rules/", {"note": "x"}).status_code == 403
    # The rule set is national: another unit's supervisor reads it, the national unit's publishes.
    assert login("sup-a", "unit-a", ["supervisor"]).post("/triage/rules/", {"note": "x"}).status_code == 403
    sup = login("sup", "intake", ["supervisor"])
    form = {f"weight-{s['rule']}": s["weight"] for s in RuleSet.objects.get(version=1).rules}
    form.update({f"enabled-{s['rule']}": "on" for s in RuleSet.objects.get(version=1).rules})
    form["weight-viral_or_meme"] = -10
    form["cap-viral_or_meme"] = "P4"
    form["note"] = "less weight on memes"
    with django_capture_on_commit_callbacks(execute=True):
        assert sup.post("/triage/rules/", form).status_code == 302
    rs = RuleSet.objects.get(version=2)
    assert next(s for s in rs.rules if s["rule"] == "viral_or_meme")["weight"] == -10
    assert ReportTriage.objects.get(report=scenario["urgent"]).ruleset_version == 2


def test_api_fields_and_filters(scenario) -> None:  # type: ignore[no-untyped-def]
    c = login("analyst-a", "unit-a", ["intake_analyst"])
    data = c.get(f"/api/v1/reports/{scenario['urgent'].id}/").json()
    assert data["priority"] == "P1" and isinstance(data["score"], int)
    assert data["jurisdiction"] == {"country": "PS", "region": None, "decision": "ours"}
    assert data["cluster"] == scenario["urgent"].id
    assert data["linked_reports"] == [{"id": scenario["older"].id, "via": [{"kind": "email", "value": "falcon@example.com"}], "strength": 0.9}]
    assert {"rule", "weight", "evidence"} == set(data["reasons"][0])
    listed = c.get("/api/v1/reports/?priority=P1").json()
    ids = [r["id"] for r in listed["results"]] if isinstance(listed, dict) else [r["id"] for r in listed]
    assert ids == [scenario["urgent"].id]
    by_cluster = c.get(f"/api/v1/reports/?cluster={scenario['urgent'].id}").json()
    rows = by_cluster["results"] if isinstance(by_cluster, dict) else by_cluster
    assert {r["id"] for r in rows} == {scenario["urgent"].id, scenario["older"].id}
    assert rows[0]["jurisdiction"] is not None and "priority" in rows[0]
    foreign = c.get("/api/v1/reports/?jurisdiction=foreign").json()
    assert (foreign["results"] if isinstance(foreign, dict) else foreign) == []
    ordered = c.get("/api/v1/reports/?ordering=priority").json()
    rows = ordered["results"] if isinstance(ordered, dict) else ordered
    assert rows[0]["id"] == scenario["urgent"].id and rows[-1]["priority"] == "P4"
    assert c.get("/api/v1/reports/?overdue=true").status_code == 200
