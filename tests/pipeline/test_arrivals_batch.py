"""Arrivals linked and triaged together (issue 18: arrival to queue keeps up with intake).

Under load a worker takes many waiting arrivals at once (`reports_claim`'s top-up) and
links and triages them as one batch (`linking.arrivals`, `triage.services.reports_triage_linked`),
with a fixed number of statements for the batch. What a user sees must be what the
reports would have given one after the other — the same links, clusters, jurisdictions,
notes, tiers and reasons — which is also what a rebuild from scratch gives: the batch's
answer is compared with `himaya linking rebuild`'s on the same reports, in a caseload
where the batch joins clusters of two units, merges two clusters, turns a shared address
and a re-shared file weak (which splits a cluster of before), and links its own reports
to each other."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from himaya.enrichment.models import ReportEnrichment, Stage
from himaya.linking.models import IdentifierKey, ReportLinkage
from himaya.triage.models import ReportTriage
from tests.linking.factory import ENTICEMENT, PS_IP, FileSpec, Person, report_xml, store
from tests.triage.test_rebuild import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(settings):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # runs are driven here, not by a queue
    return unit_get_or_create(code="unit-arrivals"), unit_get_or_create(code="unit-arrivals-2")


@pytest.fixture
def one_at_a_time_forbidden(monkeypatch):  # type: ignore[no-untyped-def]
    """Fails the test if an arrival of the batch fell back to the one-report path (a batch
    that failed is run report by report, which would hide its error behind a right answer)."""
    import himaya.enrichment.services as flow

    batch: set[int] = set()

    def refuse(*, rows):  # type: ignore[no-untyped-def]
        raise AssertionError(f"report {rows.report.id} was linked on its own")

    original = flow.report_rows_link
    monkeypatch.setattr(flow, "report_rows_link", lambda *, rows: refuse(rows=rows) if rows.report.id in batch else original(rows=rows))
    return batch


def _arrive(ids: list[int]) -> None:
    from himaya.enrichment.services import arrivals_note

    arrivals_note(report_ids=ids, now=timezone.now() - timedelta(seconds=5))


def _drain() -> None:
    """Run every waiting report (the arrivals, then the clusters sent back to triage)."""
    from himaya.enrichment.services import reports_enrich_batch

    for _ in range(10):
        if not ReportEnrichment.objects.exclude(stage=Stage.DONE).exists():
            return
        reports_enrich_batch(report_ids=[], top_up=True)
    raise AssertionError("reports still waiting")


def test_a_batch_of_arrivals_gives_what_a_rebuild_gives(units, one_at_a_time_forbidden) -> None:  # type: ignore[no-untyped-def]
    from himaya.linking.rebuild import linking_rebuild
    from himaya.triage.rebuild import triage_rebuild

    ours, theirs = units
    # Before the batch, linked one at a time: two separate suspects; two accounts that share an
    # address and a file (0.4 and 0.5: merged together); a file re-shared by three reports.
    a = store(report_xml(suspect=Person(esp_id="a-1", phones=[("+970599000111", "")])), unit=ours)
    b = store(report_xml(suspect=Person(esp_id="b-1", emails=["b@example.com"])), unit=ours)
    c = store(report_xml(suspect=Person(esp_id="c-1", ips=[("192.0.2.77", False)])), unit=ours, files=[FileSpec(content=b"f1")])
    d = store(report_xml(suspect=Person(esp_id="d-1", ips=[("192.0.2.77", False)])), unit=ours, files=[FileSpec(content=b"f1")])
    for n in range(3):
        store(report_xml(suspect=Person(esp_id=f"share-{n}")), unit=ours, files=[FileSpec(content=b"re-shared")])
    assert ReportLinkage.objects.get(report=c).cluster_id == ReportLinkage.objects.get(report=d).cluster_id
    # The batch.
    xmls = [
        # Names a's phone and b's e-mail: joins the two clusters.
        (ours, report_xml(suspect=Person(esp_id="r-1", phones=[("+970599000111", "")], emails=["b@example.com"])), []),
        # a's account, from another unit: that unit's first report in the cluster.
        (theirs, report_xml(suspect=Person(esp_id="a-1", ips=[(PS_IP, False)])), []),
        # Two more accounts behind c and d's address: it turns shared (weak), and c and d now
        # share only the file (0.5): their cluster splits.
        (ours, report_xml(suspect=Person(esp_id="e-1", ips=[("192.0.2.77", False)])), []),
        (ours, report_xml(suspect=Person(esp_id="f-1", ips=[("192.0.2.77", False)])), []),
        # The re-shared file three more times: six reports name it, it turns popular (weak).
        *[(ours, report_xml(suspect=Person(esp_id=f"share-new-{n}")), [FileSpec(content=b"re-shared")]) for n in range(3)],
        # Two new reports about the same new account, one an enticement of a 12-year-old: linked to each other only.
        (ours, report_xml(suspect=Person(esp_id="new-1", screen_name="night_owl_77")), []),
        (ours, report_xml(incident_type=ENTICEMENT, recipient_age=12, chat="where do you live? meet me",
                          suspect=Person(esp_id="new-1", emails=["owl@example.com"])), []),
        # The same child's account as intended recipient in two reports (a link that does not merge).
        (ours, report_xml(recipient=Person(esp_id="child-9"), suspect=Person(esp_id="g-1")), []),
        (ours, report_xml(recipient=Person(esp_id="child-9"), suspect=Person(esp_id="h-1")), []),
    ]
    batch = [store(xml, unit=unit, files=files, process=False).id for unit, xml, files in xmls]
    one_at_a_time_forbidden.update(batch)
    _arrive(batch)
    from himaya.enrichment.services import reports_enrich_batch

    out = reports_enrich_batch(report_ids=[batch[0]])  # one arrival's run takes the others waiting with it
    assert {rid for rid in batch if out.get(rid) is not None and out[rid].stage == Stage.DONE} == set(batch)
    assert set(ReportEnrichment.objects.filter(report_id__in=batch).values_list("stage", flat=True)) == {Stage.DONE}
    # The clusters of before that grew went back to triage (a and b merged; the other unit joined a's).
    waiting = set(ReportEnrichment.objects.filter(stage=Stage.TRIAGE).values_list("report_id", flat=True))
    assert {a.id, b.id} <= waiting
    _drain()
    keys = {k.key: k.weak for k in IdentifierKey.objects.filter(kind__in=["ip", "file_hash"])}
    assert keys["ip:192.0.2.77"] == "shared_ip" and "viral_file" in keys.values()
    assert ReportLinkage.objects.get(report=c).cluster_id != ReportLinkage.objects.get(report=d).cluster_id  # split
    cluster = ReportLinkage.objects.get(report_id=batch[0]).cluster_id
    assert cluster == a.id and ReportLinkage.objects.get(report=b).cluster_id == a.id
    assert ReportLinkage.objects.get(report_id=batch[1]).unit_cluster_id == batch[1]  # the other unit sees its own report first
    assert ReportLinkage.objects.get(report_id=batch[8]).cluster_id == batch[7]
    after_batch = snapshot()
    assert linking_rebuild()["reports"] == 7 + len(batch)
    assert triage_rebuild()["reports"] == 7 + len(batch)
    assert snapshot() == after_batch


def test_a_batch_takes_the_same_statements_whatever_its_size(units) -> None:  # type: ignore[no-untyped-def]
    """The statements of a batch do not grow with its reports: 4 arrivals and 16 take the same."""
    from himaya.enrichment.services import reports_enrich_batch

    ours, _ = units
    store(report_xml(suspect=Person(esp_id="old-1", phones=[("+970599000222", "")])), unit=ours)
    counts = []
    for size, tag in ((4, "s"), (16, "l")):
        ids = [store(report_xml(suspect=Person(esp_id=f"{tag}-{n}", phones=[("+970599000222", "")] if n % 8 == 1 else [],
                                               emails=[f"{tag}{n // 3}@example.com"])), unit=ours, process=False).id for n in range(size)]
        _arrive(ids)
        with CaptureQueriesContext(connection) as ctx:
            reports_enrich_batch(report_ids=ids, top_up=False)
        assert ReportTriage.objects.filter(report_id__in=ids).count() == size
        _drain()
        counts.append(len([q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]))
    # SQLite looks the identifiers up one key at a time (PostgreSQL in one statement for all):
    # the larger batch names 12 more e-mail addresses... and one more per key there.
    slack = 0 if connection.vendor == "postgresql" else 40
    assert counts[1] <= counts[0] + slack, counts
    assert counts[0] <= 45, counts


def test_a_report_linked_before_takes_the_one_report_path(units) -> None:  # type: ignore[no-untyped-def]
    """A report already linked (its rows re-run from the first stage) is not linked as an
    arrival: it would be linked twice. The others of the batch still are."""
    from himaya.enrichment.services import reports_enrich_batch

    ours, _ = units
    first = store(report_xml(suspect=Person(esp_id="twice-1")), unit=ours)
    ids = [store(report_xml(suspect=Person(esp_id="twice-1")), unit=ours, process=False).id for _ in range(3)]
    ReportEnrichment.objects.filter(report_id=first.id).update(stage=Stage.MEDIA, media_runs=0)
    _arrive(ids)
    reports_enrich_batch(report_ids=[first.id, *ids], top_up=False)
    _drain()  # linked again, `first` sends the cluster's others back to triage
    assert set(ReportEnrichment.objects.filter(report_id__in=[first.id, *ids]).values_list("stage", flat=True)) == {Stage.DONE}
    assert ReportLinkage.objects.filter(report_id__in=[first.id, *ids]).values_list("cluster_id", flat=True).distinct().get() == first.id
    from himaya.linking.models import IdentifierEntry

    assert IdentifierEntry.objects.filter(report=first).count() == 1  # not indexed twice


def test_a_batch_marks_its_months_for_the_statistics(units) -> None:  # type: ignore[no-untyped-def]
    """Bulk writes send no post_save: the batch tells the statistics itself (`reports_triaged`),
    or a dashboard computed between the finish and the triage would never count the new tiers."""
    from himaya.enrichment.services import reports_enrich_batch
    from himaya.stats.models import StaleMonth

    ours, _ = units
    ids = [store(report_xml(suspect=Person(esp_id=f"stat-{n}")), unit=ours, process=False).id for n in range(3)]
    StaleMonth.objects.all().delete()  # the months were recomputed after the finish
    _arrive(ids)
    reports_enrich_batch(report_ids=ids, top_up=False)
    assert ReportTriage.objects.filter(report_id__in=ids).count() == 3
    assert StaleMonth.objects.filter(unit_id=ours.id).exists()


def test_a_batch_links_each_report_to_as_many_reports_as_one_at_a_time(units, one_at_a_time_forbidden) -> None:  # type: ignore[no-untyped-def]
    """An identifier named by more reports than one links (LINKS_PER_KEY, the newest): each
    report of the batch still links to that many, its batch's earlier reports among them."""
    from himaya.enrichment.services import reports_enrich_batch
    from himaya.linking.extract import LINKS_PER_KEY
    from himaya.linking.rebuild import linking_rebuild
    from himaya.triage.rebuild import triage_rebuild

    ours, _ = units
    suspect = Person(esp_id="busy-1", emails=["busy@example.com"])
    for _ in range(LINKS_PER_KEY):
        store(report_xml(suspect=suspect), unit=ours, process=False)
    linking_rebuild()
    triage_rebuild()
    batch = [store(report_xml(suspect=suspect), unit=ours, process=False).id for _ in range(4)]
    one_at_a_time_forbidden.update(batch)
    _arrive(batch)
    reports_enrich_batch(report_ids=batch, top_up=False)
    _drain()
    from himaya.linking.models import ReportLink

    assert ReportLink.objects.filter(high_id=batch[-1]).count() == LINKS_PER_KEY
    after_batch = snapshot()
    linking_rebuild()
    triage_rebuild()
    again = snapshot()
    assert again[:2] == after_batch[:2]  # linkages and links
    # The batch's own verdicts (the members of before keep the count of their last triage in their
    # evidence once the weight is capped: "growth changes nothing but the count", as one at a time).
    assert [t for t in again[2] if t[0] in batch] == [t for t in after_batch[2] if t[0] in batch]


def test_on_the_database_queue_an_arrival_is_a_waiting_row_not_a_task(provider, settings) -> None:  # type: ignore[no-untyped-def]
    """On the database queue, finish writes the arrival's waiting row and no task: the
    workers take what waits themselves (`arrivals_drain`, every half second in `himaya
    worker`). In-process queues (tests, development) have no worker and keep the task."""
    from django_tasks_db.models import DBTaskResult

    from himaya.enrichment.services import arrivals_drain
    from tests.conftest import DOC_REPORT

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    ids = [provider.submit(DOC_REPORT).report_id for _ in range(3)]
    for rid in ids:
        assert provider.finish(rid).code == 0
    assert not DBTaskResult.objects.filter(task_path="himaya.intake.tasks.report_received").exists()
    assert set(ReportEnrichment.objects.filter(report_id__in=ids).values_list("stage", flat=True)) == {Stage.MEDIA}
    assert arrivals_drain() == 3
    assert ReportTriage.objects.filter(report_id__in=ids).count() == 3
    assert arrivals_drain() == 0
    # Without a worker (the immediate queue of tests and development) the finish runs it at once.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    rid = provider.submit(DOC_REPORT).report_id
    assert provider.finish(rid).code == 0
    assert ReportTriage.objects.filter(report_id=rid).exists()
