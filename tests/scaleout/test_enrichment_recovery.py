"""Enrichment runs lost without a trace are taken up again (found by the scale-out test:
a worker machine killed mid-task, or a task that failed while PostgreSQL restarted,
left reports finished and acknowledged but never enriched, and nothing retried them)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.enrichment import services as flow
from himaya.enrichment.models import ReportEnrichment, Stage
from himaya.triage.models import ReportTriage
from tests.linking.factory import Person, report_xml

pytestmark = pytest.mark.django_db


def _finished_without_its_tasks(provider, capture, marker: str, *files: bytes) -> int:  # type: ignore[no-untyped-def]
    """A report finished and acknowledged whose enrichment never ran (its worker died): the
    tests' task backend runs tasks at once, so what they wrote is taken back."""
    with capture(execute=True):
        report_id = provider.submit(report_xml(suspect=Person(esp_id=marker))).report_id
        for data in files:
            assert provider.upload(report_id, data).code == 0
        assert provider.finish(report_id).code == 0
    ReportTriage.objects.filter(report_id=report_id).delete()
    ReportEnrichment.objects.filter(report_id=report_id).delete()
    return report_id


def test_a_finished_report_whose_arrival_was_lost_is_enriched_by_the_upkeep(provider, image_bytes, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    rid = _finished_without_its_tasks(provider, django_capture_on_commit_callbacks, "lost-arrival", image_bytes)
    assert not ReportEnrichment.objects.filter(report_id=rid).exists()
    # Not yet: a report so recent may still be waiting in the queue.
    with django_capture_on_commit_callbacks(execute=True):
        assert flow.enrichment_retry_due() == 0
    later = timezone.now() + timedelta(seconds=flow.STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert flow.enrichment_retry_due(now=later) == 1
    row = ReportEnrichment.objects.get(report_id=rid)
    assert row.stage == Stage.DONE and row.media_runs == 1
    assert ReportTriage.objects.filter(report_id=rid).exists()


def test_a_run_killed_mid_way_without_recording_a_failure_is_run_again(provider, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    rid = _finished_without_its_tasks(provider, django_capture_on_commit_callbacks, "killed-run")
    # As a worker killed mid-task leaves it: a row at its first stage, no error, no retry planned.
    ReportEnrichment.objects.create(report_id=rid, stage=Stage.LINK, media_runs=1, requested_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert flow.enrichment_retry_due() == 0
    later = timezone.now() + timedelta(seconds=flow.STALE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert flow.enrichment_retry_due(now=later) == 1
    assert ReportEnrichment.objects.get(report_id=rid).stage == Stage.DONE
    assert ReportTriage.objects.filter(report_id=rid).exists()
