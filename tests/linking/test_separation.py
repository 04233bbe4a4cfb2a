"""A person's decision that two linked reports are not the same person: the
pair never merges again — incrementally, and in a from-scratch rebuild — until
the decision is undone."""
from __future__ import annotations

import pytest

from himaya.accounts.services import user_create
from himaya.audit.models import AuditEvent
from himaya.linking.clusters import separated_pairs
from himaya.linking.models import LinkSeparation, ReportLink, ReportLinkage
from himaya.linking.rebuild import linking_rebuild
from himaya.linking.services import link_separate, link_separation_undo
from himaya.triage.models import ReportTriage
from himaya.enrichment.tasks import report_reenrich as report_process
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db


def cluster(report) -> int:  # type: ignore[no-untyped-def]
    return ReportLinkage.objects.get(report=report).cluster_id


@pytest.fixture
def family(unit):  # type: ignore[no-untyped-def]
    """Two brothers using the household's e-mail address: the same identifier, two people."""
    a = store(report_xml(suspect=Person(esp_id="brother-1", emails=["household@example.com"])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="brother-2", emails=["household@example.com"])), unit=unit)
    analyst = user_create(username="analyst-sep", password="staff-password-1", roles=["intake_analyst"], unit_code="unit-a")
    assert cluster(a) == cluster(b) == a.id
    return a, b, analyst


def test_separated_reports_leave_each_others_cluster(family, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    a, b, analyst = family
    assert any(r["rule"] == "repeat_reporting" for r in ReportTriage.objects.get(report=b).reasons)
    with django_capture_on_commit_callbacks(execute=True):
        sep = link_separate(actor=analyst, report_id=b.id, other_id=a.id, reason="Two brothers; school records differ")
    assert (sep.low_id, sep.high_id) == (a.id, b.id)
    assert cluster(a) == a.id and cluster(b) == b.id
    link = ReportLink.objects.get(low=a, high=b)
    assert not link.merges and link.strength == 0.9  # still shown, with its evidence
    assert not any(r["rule"] == "repeat_reporting" for r in ReportTriage.objects.get(report=b).reasons)  # neither cluster nor history
    event = AuditEvent.objects.get(action="report.link_separated")
    assert event.actor == "user:analyst-sep" and event.data["reason"] == "Two brothers; school records differ"
    assert separated_pairs() == {(a.id, b.id)}

    # Linked again (a new file status, a new rule): the decision holds.
    report_process.call(report_id=a.id)
    report_process.call(report_id=b.id)
    assert not ReportLink.objects.get(low=a, high=b).merges and cluster(a) != cluster(b)


def test_a_separation_can_be_undone(family) -> None:  # type: ignore[no-untyped-def]
    a, b, analyst = family
    sep = link_separate(actor=analyst, report_id=a.id, other_id=b.id, reason="Different people")
    link_separation_undo(actor=analyst, separation_id=sep.id)
    assert cluster(a) == cluster(b) == a.id
    assert ReportLink.objects.get(low=a, high=b).merges
    sep.refresh_from_db()
    assert sep.undone_at is not None and sep.undone_by == analyst  # kept, marked undone
    assert AuditEvent.objects.filter(action="report.link_separation_undone", actor="user:analyst-sep").exists()
    assert separated_pairs() == set()
    with pytest.raises(ValueError):
        link_separation_undo(actor=analyst, separation_id=sep.id)


def test_a_separation_needs_a_reason_and_a_link(family, unit) -> None:  # type: ignore[no-untyped-def]
    a, b, analyst = family
    with pytest.raises(ValueError):
        link_separate(actor=analyst, report_id=a.id, other_id=b.id, reason="  ")
    stranger = store(report_xml(suspect=Person(esp_id="someone-else")), unit=unit)
    with pytest.raises(ValueError):
        link_separate(actor=analyst, report_id=a.id, other_id=stranger.id, reason="not linked anyway")
    assert not LinkSeparation.objects.exists() and cluster(a) == cluster(b)


def test_a_new_report_bridging_a_separated_pair_joins_them_through_itself(family, unit) -> None:  # type: ignore[no-untyped-def]
    # The decision is about the pair: a third report strongly linked to both puts
    # all three in one cluster, and the pair's own link still does not merge.
    a, b, analyst = family
    link_separate(actor=analyst, report_id=a.id, other_id=b.id, reason="Different people")
    c = store(report_xml(suspect=Person(esp_id="brother-3", emails=["household@example.com"])), unit=unit)
    assert cluster(a) == cluster(b) == cluster(c) == a.id
    assert not ReportLink.objects.get(low=a, high=b).merges


def test_a_rebuild_keeps_a_separated_pair_apart(family) -> None:  # type: ignore[no-untyped-def]
    a, b, analyst = family
    link_separate(actor=analyst, report_id=a.id, other_id=b.id, reason="Different people")
    linking_rebuild()
    assert LinkSeparation.objects.filter(undone_at__isnull=True).count() == 1  # a person's decision, not derived data
    assert cluster(a) == a.id and cluster(b) == b.id
    assert not ReportLink.objects.get(low=a, high=b).merges
    assert ReportLinkage.objects.get(report=b).previously_reported == []


def test_a_separated_report_is_not_previously_reported(family) -> None:  # type: ignore[no-untyped-def]
    a, b, analyst = family
    previously = lambda: [p["id"] for p in ReportLinkage.objects.get(report=b).previously_reported]  # noqa: E731
    assert previously() == [a.id]
    sep = link_separate(actor=analyst, report_id=a.id, other_id=b.id, reason="Different people")
    assert previously() == []
    report_process.call(report_id=b.id)
    assert previously() == []
    link_separation_undo(actor=analyst, separation_id=sep.id)
    assert previously() == [a.id]
