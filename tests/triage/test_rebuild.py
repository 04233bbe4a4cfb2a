"""From scratch gives the same answer as report by report."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db.models import F

from himaya.linking.models import ReportLink, ReportLinkage
from himaya.reports.models import Report
from himaya.triage.models import ReportTriage
from tests.linking.factory import ENTICEMENT, FileSpec, Person, report_xml, store

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    """Every column a rebuild writes but the moment it ran (linked_at, computed_at, created_at)."""
    return (
        sorted((*row, json.dumps(evidence, sort_keys=True), json.dumps(notes, sort_keys=True)) for *row, evidence, notes in
               ReportLinkage.objects.values_list("report_id", "cluster_id", "unit_cluster_id", "decision", "country", "region",
                                                 "previously_reported", "evidence", "notes")),
        sorted((*row, json.dumps(via, sort_keys=True)) for *row, via in ReportLink.objects.values_list("low_id", "high_id", "strength", "merges", "via")),
        sorted((*row, json.dumps(reasons), json.dumps(c, sort_keys=True), json.dumps(oc, sort_keys=True)) for *row, reasons, c, oc in
               ReportTriage.objects.values_list("report_id", "unit_id", "received_at", "priority", "effective_priority", "score", "ruleset_version", "due_at",
                                                "override_priority", "override_reason", "override_by_id", "override_at", "reviewed_at", "reviewed_by_id",
                                                "reasons", "classification", "override_classification")),
    )


def test_rebuild_matches_incremental(unit, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from himaya.linking.rebuild import linking_rebuild
    from himaya.triage.rebuild import rebuild_all, triage_rebuild
    from himaya.triage.services import report_triage_override

    store(report_xml(suspect=Person(esp_id="a", phones=[("599000111", "+970")])), unit=unit)
    store(report_xml(platform="Other", suspect=Person(esp_id="b", phones=[("+970599000111", "")], emails=["s@example.com"])), unit=unit)
    store(report_xml(incident_type=ENTICEMENT, recipient_age=12, chat="where do you live? meet me", suspect=Person(emails=["S@example.com"])), unit=unit)
    store(report_xml(suspect=Person(esp_id="c", ips=[("192.0.2.77", False)])), unit=unit, files=[FileSpec(content=b"f1")])
    store(report_xml(suspect=Person(esp_id="d", ips=[("192.0.2.77", False)])), unit=unit, files=[FileSpec(content=b"f1")])
    r = store(report_xml(batched=True, suspect=Person(esp_id="e")), unit=unit, files=[FileSpec(annotations=("viral",))])
    # The same child's account as intended recipient twice (0.95 × 0.7 = 0.665: a link that does not merge), one
    # of the two reports also naming an earlier suspect's address (merged, "previously reported"), and the
    # child's account named by a suspect as his own (reported × recipient).
    child = Person(esp_id="child-1")
    store(report_xml(recipient=child, suspect=Person(esp_id="f")), unit=unit)
    store(report_xml(recipient=child, suspect=Person(esp_id="g", emails=["s@example.com"])), unit=unit)
    store(report_xml(suspect=Person(esp_id="child-1")), unit=unit)
    # A child in danger abroad: P1 with the referral first, from scratch as report by report.
    abroad = store(report_xml(chat="وين ساكنة؟ بمر عليكي بس ما تقولي لحدا", suspect=Person(esp_id="jo-1", country="JO")), unit=unit)
    assert ReportTriage.objects.get(report=abroad).reasons[0]["rule"] == "referral_now"
    user = django_user_model.objects.create(username="x", unit=unit, roles=["intake_analyst"])
    # (A tab, a line break and a backslash: the rebuild writes this row as COPY text on PostgreSQL.)
    report_triage_override(report_id=r.id, actor=user, reason="seen\tbefore \\ twice\nby us", priority="P3",
                           classification={"offences": ["possession_distribution"], "note": "«viral»"})
    # A report opened two hours before it finished: received (and due) from when it finished, both ways.
    Report.objects.filter(id=abroad.id).update(opened_at=F("opened_at") - timedelta(hours=2))
    before = snapshot()
    assert {0.665, 0.9} <= set(ReportLink.objects.values_list("strength", flat=True))
    assert linking_rebuild()["reports"] == 10
    assert triage_rebuild()["reports"] == 10
    assert snapshot() == before
    assert ReportTriage.objects.get(report=r).override_reason == "seen\tbefore \\ twice\nby us"
    # In one pass (`himaya linking rebuild`): the same tables, the override kept.
    linked, triaged = rebuild_all()
    assert (linked["reports"], triaged["reports"], triaged["P3"] >= 1) == (10, 10, True)
    assert snapshot() == before
    assert ReportTriage.objects.get(report=r).override_reason == "seen\tbefore \\ twice\nby us"


@pytest.mark.django_db(transaction=True)
def test_rebuild_in_worker_processes_gives_the_same_answer(settings) -> None:  # type: ignore[no-untyped-def]
    """Worker processes (PostgreSQL, committed rows) and one process agree."""
    from django.db import connection

    from himaya.accounts.services import unit_get_or_create
    from himaya.linking import rebuild as linking
    from himaya.linking.parallel import workers_for
    from himaya.linking.rebuild import linking_rebuild
    from himaya.triage import rebuild as triage
    from himaya.triage.rebuild import rebuild_all, triage_rebuild

    if connection.vendor != "postgresql":
        pytest.skip("worker processes run on PostgreSQL only")
    unit = unit_get_or_create(code="unit-a")
    for i in range(7):
        store(report_xml(incident_type=ENTICEMENT if i % 3 == 0 else "Child Sex Trafficking", recipient_age=12,
                         suspect=Person(esp_id=f"w{i % 5}", emails=[f"p{i % 2}@example.com"], ips=[("192.0.2.9", i == 4)])),
              unit=unit, files=[FileSpec(content=f"f{i % 2}".encode())])
    serial_link, serial_triage = linking_rebuild(), triage_rebuild()
    serial = snapshot()
    # (Five accounts behind one address: "shared_ip", a note on each report that names it.)
    assert {n["weak"] for notes in ReportLinkage.objects.values_list("notes", flat=True) for n in notes} == {"possible_proxy", "shared_ip"}
    settings.HIMAYA_REBUILD_WORKERS = 2
    chunk = (linking.CHUNK, triage.CHUNK)
    linking.CHUNK = triage.CHUNK = 2  # several chunks for two workers
    try:
        assert workers_for(7) == 2
        assert (linking_rebuild(), triage_rebuild()) == (serial_link, serial_triage)
        assert snapshot() == serial
        assert rebuild_all() == (serial_link, serial_triage)
    finally:
        linking.CHUNK, triage.CHUNK = chunk
    assert snapshot() == serial
