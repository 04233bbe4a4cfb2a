"""One newly arrived report, linked and triaged in one pass (`report_process`,
SPEC §5: an incremental report < 50 ms). The pass reads the report's rows once
and takes what triage needs of the linking from it rather than reading it back:
it must give what linking, then triaging, the report on their own give."""
from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from himaya.enrichment.models import ReportEnrichment
from himaya.linking.models import IdentifierKey, ReportLink, ReportLinkage
from himaya.linking.services import report_link
from himaya.triage.models import ReportTriage
from himaya.triage.services import report_triage
from himaya.enrichment.tasks import report_reenrich as report_process
from tests.linking.factory import ENTICEMENT, PS_IP, FileSpec, Person, report_xml, store

pytestmark = pytest.mark.django_db
VERDICT = ("priority", "score", "reasons", "classification", "effective_priority", "due_at", "ruleset_version", "unit_id")
LINKAGE = ("cluster_id", "unit_cluster_id", "country", "region", "decision", "evidence", "previously_reported", "notes")
# Statements one arriving report may take on PostgreSQL, its transaction's BEGIN
# and COMMIT aside (44 to 50 when linking and triage each read the report, and
# each identifier's statistics took a statement of its own): linking and triage 21
# (the report's rows read once, for the media stage too: 5), the enrichment flow's
# own bookkeeping 3 (its row inserted in the transaction that links and triages it,
# saved once at its end, and the cluster's other members sent back to triage in one
# INSERT … ON CONFLICT); the statistics' month marks 6 for the linkage and the
# triage rows (the report's unit and month, the month's mark, the report's case,
# each twice; counted with the statistics' memory of months already marked turned
# off). No statement for the portal's fingerprints: the report did not come
# through the portal. (Before: 21 + 8 + 6 + 1.) And the worker's claim, 2: the run
# looks for other waiting arrivals to take with this one (`reports_claim`'s top-up),
# which under load are linked and triaged together (tests/pipeline/test_arrivals_batch.py).
MOST_STATEMENTS = 21 + 3 + 6 + 2


def verdict(report_id: int) -> dict[str, Any]:
    t = ReportTriage.objects.get(report_id=report_id)
    return {f: getattr(t, f) for f in VERDICT}


def linkage(report_id: int) -> dict[str, Any]:
    lk = ReportLinkage.objects.get(report_id=report_id)
    return {f: getattr(lk, f) for f in LINKAGE}


def graph() -> dict[str, Any]:
    return {
        "links": set(ReportLink.objects.values_list("low_id", "high_id", "strength", "merges")),
        "keys": set(IdentifierKey.objects.values_list("key", "reports", "viral", "weak")),
        "linkages": {lk.report_id: {f: getattr(lk, f) for f in LINKAGE} for lk in ReportLinkage.objects.all()},
    }


def test_processing_a_report_gives_what_linking_then_triaging_it_gives(unit, settings) -> None:  # type: ignore[no-untyped-def]
    """Reports of two units about one suspect (a cluster across units), with a
    child's age, chat text, files with and without indicators, a proxy address and
    an estimated location: after each one is processed, linking it again and
    triaging it again through the separate services changes nothing."""
    from himaya.accounts.services import unit_get_or_create

    # The cluster's re-triage (a task of its own) would triage the report again
    # through report_triage, hiding what report_process stored.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    other_unit = unit_get_or_create(code="unit-b")
    phone = ("+970599123456", "")
    picture = b"synthetic picture reported twice"
    reports = [
        dict(xml=report_xml(suspect=Person(esp_id="falcon-1", phones=[phone], ips=[(PS_IP, False)])), unit=unit,
             files=[FileSpec(content=picture, annotations=("possibleSelfProduction",), exif=True)]),
        dict(xml=report_xml(incident_type=ENTICEMENT, recipient_age=12, chat="where do you live? meet me after school",
                            suspect=Person(esp_id="falcon-2", phones=[phone], ips=[("198.51.100.9", True)])), unit=other_unit),
        dict(xml=report_xml(suspect=Person(esp_id="falcon-1", screen_name="falcon_flyer", emails=["falcon@example.com"])), unit=unit,
             files=[FileSpec(content=picture), FileSpec(annotations=("viral",))]),
        dict(xml=report_xml(victim_age=9, suspect=Person(emails=["falcon@example.com"], country="EG")), unit=other_unit),
        dict(xml=report_xml(suspect=Person(esp_id="stranger-1", ips=[(PS_IP, False)])), unit=unit),
    ]
    seen: list[int] = []
    for spec in reports:
        r = store(spec["xml"], unit=spec["unit"], files=spec.get("files", []), process=False)
        report_process.call(report_id=r.id)
        seen.append(r.id)
        processed, processed_verdict = graph(), verdict(r.id)
        report_link(report_id=r.id)
        assert graph() == processed
        report_triage(report_id=r.id, now=ReportTriage.objects.get(report_id=r.id).computed_at)
        assert verdict(r.id) == processed_verdict
    # The cluster crosses units; each unit counts (and sees) its own reports in it.
    assert len({linkage(rid)["cluster_id"] for rid in seen[:4]}) == 1
    assert {linkage(rid)["unit_cluster_id"] for rid in seen[:4]} == {seen[0], seen[1]}
    repeat = [x for x in verdict(seen[2])["reasons"] if x["rule"] == "repeat_reporting"]
    assert repeat and "2 linked reports in the cluster" in repeat[0]["evidence"]


def test_reprocessing_a_report_changes_nothing(unit) -> None:  # type: ignore[no-untyped-def]
    """A report processed again (its files' media verdict changed, a task retried)."""
    first = store(report_xml(suspect=Person(esp_id="kite-1", phones=[("+970599000111", "")])), unit=unit)
    second = store(report_xml(suspect=Person(esp_id="kite-2", phones=[("+970599000111", "")])), unit=unit)
    before = graph(), verdict(first.id), verdict(second.id)
    report_process.call(report_id=first.id)
    report_process.call(report_id=second.id)
    after = graph(), verdict(first.id), verdict(second.id)
    for b, a in zip(before[1:], after[1:]):
        assert {k: v for k, v in a.items() if k != "due_at"} == {k: v for k, v in b.items() if k != "due_at"}
    assert after[0] == before[0]


def test_an_arriving_report_takes_a_bounded_number_of_statements(unit, settings) -> None:  # type: ignore[no-untyped-def]
    """Each statement is a round trip to the database and the ORM's work to build
    it: what one arriving report costs, whatever it names. A suspect with many
    identifiers (two accounts, phone, e-mail, device, addresses, files) joining an
    existing cluster."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # the cluster's re-triage is a task of its own
    settings.HIMAYA_STATS_MARK_MEMO_SECONDS = 0  # the count must not depend on how fast the earlier reports were stored
    suspect = Person(esp_id="heron-1", screen_name="heron_the_grey", emails=["heron@example.com"], phones=[("+970599555000", "")],
                     devices=[("IMEI", "356938035643809")], ips=[(PS_IP, False), ("198.51.100.40", False)])
    for n in range(3):
        store(report_xml(suspect=suspect), unit=unit, files=[FileSpec(content=f"synthetic picture {n}".encode())])
    r = store(report_xml(suspect=suspect, chat="hello"), unit=unit, files=[FileSpec(), FileSpec(annotations=("viral",))], process=False)
    from himaya.intake.tasks import report_received

    # The cluster's re-triage queued by the earlier reports (the dummy queue never ran it) would be
    # taken along by this run (its top-up): counted here is the arriving report alone.
    ReportEnrichment.objects.exclude(report_id=r.id).update(stage="done")
    with CaptureQueriesContext(connection) as ctx:
        report_received.call(report_id=r.id)  # as it arrives: intake's task, the enrichment flow in it
    # Not counted: the savepoints standing for its transaction inside the test's own.
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert ReportLinkage.objects.get(report=r).cluster_id < r.id  # it joined the cluster
    if connection.vendor == "postgresql":
        most = MOST_STATEMENTS
    else:
        # No advisory lock, and one lookup per linkable identifier instead of one for
        # all: the account, screen name, e-mail, phone, device, two addresses, the new file.
        most = MOST_STATEMENTS - 2 + 8
    assert len(statements) <= most, "\n".join(statements)
