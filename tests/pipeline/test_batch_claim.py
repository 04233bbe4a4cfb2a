"""Enrichment in batches (issue 18 item 1, under load): a worker takes many waiting
reports at once, and still no report is linked twice for one change, one report's
failure does not hold the others back, and a worker that dies mid-batch leaves its
reports to be finished later."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.enrichment.models import ReportEnrichment, Stage
from himaya.linking.models import ReportLinkage
from himaya.triage.models import ReportTriage
from tests.linking.factory import Person, report_xml, store

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code="unit-batch")


@pytest.fixture
def waiting(unit, settings):  # type: ignore[no-untyped-def]
    """Five finished reports whose arrival is announced and waits for a worker (a backlog)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # the queue is not what is tested
    ids = []
    for n in range(5):
        r = store(report_xml(suspect=Person(esp_id=f"batch-{n}", emails=[f"batch{n}@example.com"])), unit=unit, process=False)
        ReportEnrichment.objects.create(report_id=r.id, requested_at=timezone.now() - timedelta(seconds=5 - n))
        ids.append(r.id)
    return ids


@pytest.fixture
def link_calls(monkeypatch):  # type: ignore[no-untyped-def]
    """The reports linked, one at a time or as a batch of arrivals (`linking.arrivals`)."""
    import himaya.enrichment.services as flow
    import himaya.linking.arrivals as arrivals

    calls: list[int] = []
    original, original_many = flow.report_rows_link, arrivals.reports_rows_link

    def counted(*, rows):  # type: ignore[no-untyped-def]
        calls.append(rows.report.id)
        return original(rows=rows)

    def counted_many(*, rows):  # type: ignore[no-untyped-def]
        calls.extend(r.report.id for r in rows)
        return original_many(rows=rows)

    monkeypatch.setattr(flow, "report_rows_link", counted)
    monkeypatch.setattr(arrivals, "reports_rows_link", counted_many)
    return calls


def test_one_run_takes_the_waiting_backlog_and_every_report_reaches_the_queue(waiting, link_calls) -> None:  # type: ignore[no-untyped-def]
    from himaya.enrichment.services import reports_enrich_batch

    reports_enrich_batch(report_ids=[waiting[0]])
    assert sorted(link_calls) == waiting  # the run asked for one report took the four others waiting too
    assert set(ReportTriage.objects.filter(report_id__in=waiting).values_list("report_id", flat=True)) == set(waiting)
    assert set(ReportEnrichment.objects.filter(report_id__in=waiting).values_list("stage", flat=True)) == {Stage.DONE}
    # Their own runs, queued at their arrival, find them done: nothing is linked twice.
    reports_enrich_batch(report_ids=waiting)
    assert sorted(link_calls) == waiting


def test_two_workers_never_take_the_same_report(waiting, link_calls) -> None:  # type: ignore[no-untyped-def]
    from himaya.enrichment.services import reports_claim, reports_enrich_batch

    first, _ = reports_claim(report_ids=waiting[:2], top_up=1)
    second, _ = reports_claim(report_ids=waiting[:3], top_up=10)  # another worker, while the first holds its batch
    assert sorted(r.report_id for r in first) == waiting[:3]
    assert sorted(r.report_id for r in second) == waiting[3:]
    # The second worker runs what it took; the reports the first holds are left to it.
    reports_enrich_batch(report_ids=waiting[:3], top_up=False)
    assert link_calls == []
    reports_enrich_batch(report_ids=[], top_up=True)
    assert link_calls == []  # nothing left to take: all are held
    assert not ReportTriage.objects.filter(report_id__in=waiting).exists()


def test_a_failing_report_does_not_hold_back_the_others_of_its_batch(waiting, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.enrichment.services as flow
    import himaya.linking.arrivals as arrivals

    original, original_many = flow.report_rows_link, arrivals.reports_rows_link
    bad = waiting[2]

    def broken_for_one(*, rows):  # type: ignore[no-untyped-def]
        if rows.report.id == bad:
            raise RuntimeError("this report's identifiers broke the index")
        return original(rows=rows)

    def broken_batch(*, rows):  # type: ignore[no-untyped-def]
        # The batch of arrivals holding it fails as a whole: each report is then run on its own.
        if any(r.report.id == bad for r in rows):
            raise RuntimeError("this report's identifiers broke the index")
        return original_many(rows=rows)

    monkeypatch.setattr(flow, "report_rows_link", broken_for_one)
    monkeypatch.setattr(arrivals, "reports_rows_link", broken_batch)
    out = flow.reports_enrich_batch(report_ids=waiting)
    assert {rid for rid in waiting if out[rid].stage == Stage.DONE} == set(waiting) - {bad}
    assert ReportTriage.objects.filter(report_id__in=waiting).count() == 4
    row = ReportEnrichment.objects.get(report_id=bad)
    assert (row.stage, row.failed_stage, row.attempts) == (Stage.LINK, Stage.LINK, 1)
    assert row.error == "RuntimeError: this report's identifiers broke the index"
    assert timedelta(seconds=25) < row.next_attempt_at - timezone.now() <= timedelta(seconds=30)  # retried with backoff
    monkeypatch.undo()
    flow.reports_enrich_batch(report_ids=[bad])
    assert ReportEnrichment.objects.get(report_id=bad).stage == Stage.LINK  # not before its delay
    assert flow.enrichment_retry_due(now=timezone.now() + timedelta(seconds=31)) == 1
    flow.reports_enrich_batch(report_ids=[bad])
    assert ReportEnrichment.objects.get(report_id=bad).stage == Stage.DONE and ReportLinkage.objects.filter(report_id=bad).exists()


def test_a_worker_dying_mid_batch_leaves_its_reports_to_be_finished(waiting, link_calls) -> None:  # type: ignore[no-untyped-def]
    from himaya.enrichment.services import LEASE_SECONDS, enrichment_retry_due, reports_claim, reports_enrich_batch

    taken, _ = reports_claim(report_ids=waiting, top_up=0)
    assert len(taken) == 5
    # The worker died holding them. A run queued again for one of them meanwhile takes nothing.
    reports_enrich_batch(report_ids=waiting[:1])
    assert link_calls == []
    assert enrichment_retry_due() == 0  # its lease is not over: nobody else takes them
    assert enrichment_retry_due(now=timezone.now() + timedelta(seconds=LEASE_SECONDS + 1)) == 5
    reports_enrich_batch(report_ids=waiting)
    assert sorted(link_calls) == waiting
    rows = ReportEnrichment.objects.filter(report_id__in=waiting)
    assert {(r.stage, r.link_runs, r.triage_runs) for r in rows} == {(Stage.DONE, 1, 1)}
