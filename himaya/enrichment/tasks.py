"""Background tasks of the enrichment flow. They take ids and are idempotent."""
from __future__ import annotations

from django_tasks import task


@task()
def report_enrich(*, report_id: int) -> str:
    """Run one report's flow from its pending stage (nothing if it is done)."""
    from himaya.enrichment.services import report_enrich as run

    row = run(report_id=report_id)
    return row.stage if row is not None else ""


@task()
def reports_enrich(*, report_ids: list[int]) -> int:
    """The runs asked for by one change (a verdict, a cluster) or by the retries, in one task:
    claimed and run as batches, topped up with other waiting reports when there are some."""
    from himaya.enrichment.services import reports_enrich_batch

    reports_enrich_batch(report_ids=[int(i) for i in report_ids])
    return len(report_ids)


@task()
def report_reenrich(*, report_id: int, stage: str = "link") -> str:
    """Link and triage one report again (from `stage`), whatever its state."""
    from himaya.enrichment.services import report_reenrich as rerun

    row = rerun(report_id=report_id, stage=stage)
    return row.stage if row is not None else ""
