"""Nothing of another unit leaks: not through triage reasons ("previously reported
3 times"), not through `priorCTReports` answers, not through clusters, links or
counts (issue 13; SPEC §1 need-to-know)."""
from __future__ import annotations

import re

import pytest

from himaya.linking.models import ReportLink, ReportLinkage
from himaya.triage.models import ReportTriage
from tests.conftest import DOC_REPORT, Provider
from tests.linking.factory import Person, report_xml, store
from tests.triage.test_rebuild import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code="unit-a"), unit_get_or_create(code="unit-b")


def _repeat(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["evidence"] for r in ReportTriage.objects.get(report=report).reasons if r["rule"] == "repeat_reporting"]


def test_previously_reported_counts_only_the_units_own_reports_incrementally_and_rebuilt(units) -> None:  # type: ignore[no-untyped-def]
    from himaya.linking.rebuild import linking_rebuild
    from himaya.triage.rebuild import triage_rebuild

    a, b = units
    suspect = Person(esp_id="shared-account-1", emails=["same.person@example.com"])
    theirs = [store(report_xml(suspect=suspect), unit=b) for _ in range(3)]
    own_earlier = store(report_xml(suspect=suspect), unit=a)
    mine = store(report_xml(suspect=suspect), unit=a)
    # The link across units is kept (the national picture) ...
    assert ReportLink.objects.filter(low=theirs[0], high=mine).exists()
    # ... but the unit's reasons count its own reports only.
    assert [p["id"] for p in ReportLinkage.objects.get(report=mine).previously_reported] == [own_earlier.id]
    assert _repeat(mine) == ["2 linked reports in the cluster; previously reported 1 time(s)"]
    assert _repeat(own_earlier) == ["2 linked reports in the cluster"]  # its own cluster grew; nothing earlier
    assert _repeat(theirs[2]) == ["3 linked reports in the cluster; previously reported 2 time(s)"]
    before = snapshot()
    linking_rebuild()
    triage_rebuild()
    assert snapshot() == before  # from scratch: the same answer


def test_a_prior_reference_to_another_units_report_reads_as_a_missing_one(units) -> None:  # type: ignore[no-untyped-def]
    a, b = units
    theirs = store(report_xml(suspect=Person(esp_id="b-1")), unit=b)
    cites_theirs = store(report_xml(suspect=Person(esp_id="a-1", prior=[theirs.id])), unit=a)
    cites_nothing = store(report_xml(suspect=Person(esp_id="a-2", prior=[theirs.id + 100000])), unit=a)
    seen = ReportLinkage.objects.get(report=cites_theirs).previously_reported
    missing = ReportLinkage.objects.get(report=cites_nothing).previously_reported
    assert seen == [{"id": None, "reference": str(theirs.id), "via": "priorCTReports"}]
    assert [{**p, "reference": "x"} for p in seen] == [{**p, "reference": "x"} for p in missing]
    assert _repeat(cites_theirs) == _repeat(cites_nothing)


def _with_prior(rid: int) -> bytes:
    return DOC_REPORT.replace(
        b"</reporter>", f"</reporter><personOrUserReported><screenName>x</screenName><priorCTReports>{rid}</priorCTReports></personOrUserReported>".encode())


def test_a_provider_citing_another_units_report_is_answered_as_for_a_missing_one(units) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import reporter_create

    reporter_create(username="platform-a", password="provider-pass-a", unit_code="unit-a")
    reporter_create(username="platform-a2", password="provider-pass-a2", unit_code="unit-a")
    reporter_create(username="platform-b", password="provider-pass-b", unit_code="unit-b")
    pa, pa2, pb = Provider("platform-a", "provider-pass-a"), Provider("platform-a2", "provider-pass-a2"), Provider("platform-b", "provider-pass-b")
    ours = pa.submit(DOC_REPORT).report_id
    assert pa.finish(ours).code == 0
    missing = ours + 100000
    # Another unit's report: exactly as a missing one (4100), never 0.
    refused, absent = pb.submit(_with_prior(ours)), pb.submit(_with_prior(missing))
    assert (refused.code, refused.status) == (absent.code, absent.status) == (4100, 400)
    assert re.sub(r"report \d+", "", refused.description) == re.sub(r"report \d+", "", absent.description)
    # Between providers of the same unit, citing is allowed (NCMEC: any report ID) ...
    assert pa2.submit(_with_prior(ours)).code == 0
    # ... and acting on another provider's report is 3000, a missing one 5001 (Appendix D);
    # another unit's report is a missing one.
    still_open = pa.submit(DOC_REPORT).report_id
    assert pa2.finish(still_open).code == 3000
    assert pb.finish(still_open).code == pb.finish(missing).code == 5001
    assert pb.retract(still_open).code == 5001


def test_clusters_links_and_counts_never_show_another_units_reports(units, client) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.models import User
    from himaya.triage.selectors import report_links, report_triage_panel, report_triage_summary
    from tests.auth_helpers import login_verified

    a, b = units
    suspect = Person(esp_id="shared-account-2", emails=["another.person@example.com"])
    theirs = [store(report_xml(suspect=suspect), unit=b) for _ in range(2)]
    mine = store(report_xml(suspect=suspect), unit=a)
    other_mine = store(report_xml(suspect=suspect), unit=a)
    linkage = ReportLinkage.objects.get(report=mine)
    assert linkage.cluster_id == theirs[0].id  # one cluster across units ...
    assert linkage.unit_cluster_id == mine.id  # ... shown as the unit's own
    panel = report_triage_panel(mine)
    assert panel.cluster_size == 2
    assert {link["id"] for link in panel.links} == {other_mine.id}
    assert {link["id"] for link in report_links(mine)} == {other_mine.id}
    summary = report_triage_summary(mine)
    assert (summary["cluster"], [r["id"] for r in summary["linked_reports"]]) == (mine.id, [other_mine.id])

    user = User.objects.create(username="analyst-leaks", unit=a, roles=["intake_analyst"])
    login_verified(client, user)
    detail = client.get(f"/api/v1/reports/{mine.id}/").json()
    assert (detail["cluster"], [r["id"] for r in detail["linked_reports"]]) == (mine.id, [other_mine.id])
    for their in theirs:
        assert client.get(f"/api/v1/reports/{their.id}/").status_code == 404
        assert client.get(f"/api/v1/reports/?linked_to={their.id}").json()["count"] == 0
        assert client.get(f"/api/v1/reports/?cluster={their.id}").json()["count"] == 0
    listed = client.get(f"/api/v1/reports/?cluster={mine.id}").json()
    assert sorted(r["id"] for r in listed["results"]) == sorted([mine.id, other_mine.id])
    page = client.get(f"/reports/{mine.id}/").content.decode()
    for their in theirs:
        assert f'data-linked="{their.id}"' not in page and f"/reports/{their.id}/" not in page
    queue = client.get(f"/triage/?cluster={theirs[0].id}&reviewed=all").content.decode()
    assert all(f'data-report="{their.id}"' not in queue for their in theirs)
