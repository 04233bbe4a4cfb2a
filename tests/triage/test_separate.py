"""The links panel: "not the same person" (ليسا الشخص نفسه) recorded by a person
with a reason, shown on both reports, undone — only on the user's own unit's
reports, only by those who may triage."""
from __future__ import annotations

import pytest
from django.utils import timezone

from himaya.accounts.services import unit_get_or_create
from himaya.audit.models import AuditEvent
from himaya.linking.models import LinkSeparation, ReportLinkage
from tests.linking.factory import Person, report_xml, store
from tests.triage.test_views_api import login

pytestmark = pytest.mark.django_db


def cluster(report) -> int:  # type: ignore[no-untyped-def]
    return ReportLinkage.objects.get(report=report).cluster_id


def links_panel(client, report) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/reports/{report.id}/").content.decode()
    return page[page.index('id="linked-title"'):]


@pytest.fixture
def pair(unit):  # type: ignore[no-untyped-def]
    a = store(report_xml(suspect=Person(esp_id="twin-1", phones=[("+970599000555", "")])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="twin-2", phones=[("+970599000555", "")])), unit=unit)
    assert cluster(a) == cluster(b)
    return a, b


def test_an_analyst_separates_two_reports_in_arabic_and_undoes_it(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    c = login("analyst-a", "unit-a", ["intake_analyst"])
    panel = links_panel(c, a)
    assert "ليسا الشخص نفسه" in panel and f"/linking/reports/{a.id}/separate/{b.id}/" in panel

    # No reason, no decision.
    c.post(f"/linking/reports/{a.id}/separate/{b.id}/", {"reason": " "})
    assert not LinkSeparation.objects.exists() and cluster(a) == cluster(b)

    response = c.post(f"/linking/reports/{a.id}/separate/{b.id}/", {"reason": "توأمان يتشاركان هاتف العائلة"})
    assert response.status_code == 302
    assert cluster(a) == a.id and cluster(b) == b.id
    today = timezone.localdate().isoformat()
    for report in (a, b):  # shown on both reports' links
        panel = links_panel(c, report)
        assert f"فصل بينهما <bdi>analyst-a</bdi> بتاريخ {today}" in panel
        assert "توأمان يتشاركان هاتف العائلة" in panel
        assert "ليسا الشخص نفسه: لم يُدمج" in panel
    event = AuditEvent.objects.get(action="report.link_separated")
    assert event.actor == "user:analyst-a" and event.unit_id == a.unit_id

    sep = LinkSeparation.objects.get()
    assert c.post(f"/linking/separations/{sep.id}/undo/", {"report": str(b.id)}).status_code == 302
    assert cluster(a) == cluster(b) == a.id
    assert "فصل بينهما" not in links_panel(c, b)
    assert AuditEvent.objects.filter(action="report.link_separation_undone", actor="user:analyst-a").exists()


def test_only_those_who_may_triage_can_separate(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    auditor = login("auditor-a", "unit-a", ["auditor"])
    assert "ليسا الشخص نفسه" not in links_panel(auditor, a)  # no form offered
    assert auditor.post(f"/linking/reports/{a.id}/separate/{b.id}/", {"reason": "x"}).status_code == 403
    assert not LinkSeparation.objects.exists()


def test_another_unit_can_neither_separate_nor_undo(pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    unit_get_or_create(code="unit-b")
    other = login("analyst-b", "unit-b", ["intake_analyst", "supervisor"])
    assert other.post(f"/linking/reports/{a.id}/separate/{b.id}/", {"reason": "x"}).status_code == 404
    assert not LinkSeparation.objects.exists()
    mine = login("analyst-a", "unit-a", ["intake_analyst"])
    mine.post(f"/linking/reports/{a.id}/separate/{b.id}/", {"reason": "different people"})
    sep = LinkSeparation.objects.get()
    assert other.post(f"/linking/separations/{sep.id}/undo/").status_code == 404
    sep.refresh_from_db()
    assert sep.undone_at is None and cluster(a) != cluster(b)


def test_a_pair_across_units_cannot_be_separated_by_one_unit(unit) -> None:  # type: ignore[no-untyped-def]
    # The same person in both units' reports: unit A cannot act on unit B's report (it cannot see it).
    unit_b = unit_get_or_create(code="unit-b")
    b1 = store(report_xml(suspect=Person(esp_id="x-1", emails=["lynx@example.com"])), unit=unit_b)
    a1 = store(report_xml(suspect=Person(esp_id="x-2", emails=["lynx@example.com"])), unit=unit)
    c = login("analyst-a", "unit-a", ["intake_analyst"])
    assert c.post(f"/linking/reports/{a1.id}/separate/{b1.id}/", {"reason": "x"}).status_code == 404
    assert f"/separate/{b1.id}/" not in links_panel(c, a1)
    assert cluster(a1) == cluster(b1)
