"""Background recomputation of stale months, enqueued after the change commits.

A burst of intake marks the current month stale once; the refresh runs a little
later (when the queue can defer) so that one recomputation covers the burst.
Readers recompute any month still stale before reading, so a figure is never
behind."""
from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from django_tasks import task

from himaya.stats import aggregates

REFRESH_DELAY = timedelta(seconds=30)


@task()
def stats_refresh(*, unit_id: int, months: list[str]) -> None:
    """Idempotent: a month no longer stale (already recomputed) is left alone."""
    for month in sorted({date.fromisoformat(m) for m in months}):
        aggregates.refresh_stale(unit_ids=[unit_id], start=month, end=month + timedelta(days=1))


def enqueue_refresh(*, unit_id: int, months: list[date]) -> None:
    args = {"unit_id": unit_id, "months": [m.isoformat() for m in sorted(months)]}
    if stats_refresh.get_backend().supports_defer:
        stats_refresh.using(run_after=timezone.now() + REFRESH_DELAY).enqueue(**args)
    else:
        stats_refresh.enqueue(**args)


@task()
def stats_report(*, job_id: int) -> str:
    """The national report asked for from the dashboard (`report_job_run`)."""
    from himaya.stats.services import report_job_run

    return report_job_run(job_id=job_id)
