"""Need to know (SPEC §3.10, §4.3): a unit learns nothing about another unit's
reports through the cluster, the linked reports or the queue, even when the same
person is in both units' reports."""
from __future__ import annotations

import json

import pytest

from himaya.accounts.services import unit_get_or_create
from himaya.linking.models import ReportLinkage
from himaya.linking.rebuild import linking_rebuild
from himaya.triage.rebuild import triage_rebuild
from tests.linking.factory import ENTICEMENT, Person, report_xml, store
from tests.triage.test_views_api import login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rebuilt", [False, True])
def test_unit_a_sees_no_id_of_unit_b_reports(unit, rebuilt) -> None:  # type: ignore[no-untyped-def]
    unit_b = unit_get_or_create(code="unit-b")
    # Unit B's reports come first: the cluster's smallest report id is B's.
    b1 = store(report_xml(suspect=Person(esp_id="b-1", emails=["hawk@example.com"])), unit=unit_b)
    b2 = store(report_xml(suspect=Person(esp_id="b-2", emails=["hawk@example.com"])), unit=unit_b)
    a1 = store(report_xml(incident_type=ENTICEMENT, recipient_age=13, suspect=Person(esp_id="b-1", emails=["hawk@example.com"])), unit=unit)
    a2 = store(report_xml(suspect=Person(esp_id="a-2", emails=["hawk@example.com"])), unit=unit)
    if rebuilt:
        linking_rebuild()
        triage_rebuild()
    assert ReportLinkage.objects.get(report=a1).cluster_id == b1.id  # the same person, one cluster
    hidden = {b1.id, b2.id}
    c = login("analyst-a", "unit-a", ["intake_analyst"])

    detail = c.get(f"/api/v1/reports/{a1.id}/").json()
    assert detail["cluster"] == a1.id
    assert {r["id"] for r in detail["linked_reports"]} == {a2.id}
    listed = c.get("/api/v1/reports/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {r["cluster"] for r in rows} == {a1.id}
    by_cluster = c.get(f"/api/v1/reports/?cluster={a1.id}").json()
    assert {r["id"] for r in (by_cluster["results"] if isinstance(by_cluster, dict) else by_cluster)} == {a1.id, a2.id}
    for probe in (f"?cluster={b1.id}", f"?linked_to={b1.id}", f"?linked_to={b2.id}"):
        found = c.get(f"/api/v1/reports/{probe}").json()
        assert (found["results"] if isinstance(found, dict) else found) == [], probe

    queue = c.get("/triage/?reviewed=all").content.decode()
    assert f"?cluster={a1.id}&amp;" in queue
    assert f"?cluster={b1.id}&amp;" not in queue
    assert 'data-report="' in c.get(f"/triage/?cluster={a1.id}&reviewed=all").content.decode()
    assert 'data-report="' not in c.get(f"/triage/?cluster={b1.id}&reviewed=all").content.decode()
    for r in (a1, a2):
        panel = c.get(f"/reports/{r.id}/").content.decode()
        panel = panel[panel.index('id="triage"'):]
        assert not any(f"/reports/{h}/" in panel for h in hidden)
        assert not any(f"<bdi>{h}</bdi>" in panel for h in hidden)
        assert str(a1.id) in panel
    for text in (json.dumps(detail), json.dumps(rows)):
        assert not any(f'"id": {h}' in text or f'"cluster": {h}' in text for h in hidden)
