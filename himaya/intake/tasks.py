"""Background tasks of intake. They take ids and are idempotent."""
from __future__ import annotations

from django_tasks import task

from himaya.intake import signals


@task()
def report_received(*, report_id: int) -> None:
    """A report was finished or imported: enrichment (hashing, matching, linking,
    triage) hooks in through the `report_received` signal."""
    signals.report_received.send(sender=None, report_id=report_id)


@task()
def reports_received(*, report_ids: list[int]) -> None:
    """`report_received` for each report of a bulk import's batch, in order."""
    for report_id in report_ids:
        signals.report_received.send(sender=None, report_id=int(report_id))


@task()
def report_purge_files(*, report_id: int) -> int:
    from himaya.intake.services import report_files_purge

    return report_files_purge(report_id=report_id)
