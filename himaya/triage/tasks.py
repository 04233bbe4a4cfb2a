"""Background tasks of triage. They take ids and are idempotent.

A report's own triage (on arrival, or when its files or cluster change) runs in the
enrichment flow (`himaya.enrichment`); here only what triage itself starts: a new
rule set re-triages the open reports."""
from __future__ import annotations

from django_tasks import task


@task()
def retriage_open_reports(*, version: int) -> int:
    from himaya.triage.services import retriage_open

    return retriage_open(version=version)


def enqueue_retriage_open(version: int) -> None:
    retriage_open_reports.enqueue(version=version)
