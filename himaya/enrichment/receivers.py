"""What the enrichment flow hears from the stages (their typed signals), turned into
runs of the flow: the stages never call each other."""
from __future__ import annotations

from typing import Any

from himaya.enrichment.models import Stage


def on_report_received(sender: Any, *, report_id: int, **kwargs: Any) -> None:
    """intake's `report_received` (sent from its background task, once per finished,
    imported, portal or partner report): the report's flow runs here, in that task (the
    portal's pictures hashed on a phone are matched in its media stage), together with
    the other arrivals waiting (`reports_enrich_batch`'s top-up), which are linked and
    triaged as one batch; their own announcements then find them done."""
    from himaya.enrichment.services import reports_enrich_batch

    reports_enrich_batch(report_ids=[int(report_id)])


def on_reports_arriving(sender: Any, *, report_ids: Any = (), **kwargs: Any) -> bool:
    """intake's `reports_arriving` (inside the transaction that finished a report): its
    row, waiting at the first stage, so that a worker can take it with others. Returns
    True when the workers drain the waiting rows (`arrivals_drain`): the arrival is then
    in their charge and intake queues no task for it."""
    from himaya.enrichment.services import arrivals_in_workers_charge, arrivals_note

    arrivals_note(report_ids=report_ids)
    return arrivals_in_workers_charge()


def on_reports_stored(sender: Any, *, report_ids: Any = (), **kwargs: Any) -> None:
    """intake's `reports_stored` (a bulk import's batch, inside its transaction): each
    report's row, at the first stage, in one write — so the batch shows as waiting at
    once; each report's `report_received` then runs its flow as for any arrival."""
    from himaya.enrichment.services import arrivals_note

    arrivals_note(report_ids=report_ids)


def on_media_status_changed(sender: Any, *, blob_address: str = "", new_status: str = "", report_ids: Any = (), **kwargs: Any) -> None:
    """media's `media_status_changed` (after its commit): every report holding that content
    is linked and triaged again (a file that turned viral stops linking its reporters; one
    that became known or new changes the tier) — unless it already was with that verdict,
    or its flow has not linked it yet."""
    from himaya.enrichment.services import enrichment_request

    ids = [int(i) for i in (report_ids or ())]
    enrichment_request(report_ids=ids, stage=Stage.LINK, verdict=(blob_address, new_status) if blob_address and new_status else None)


def on_clusters_changed(sender: Any, *, report_ids: Any = (), **kwargs: Any) -> None:
    """linking's `clusters_changed` (inside the transaction that changed them): the members'
    cluster size and history changed, so each is triaged again. The report being linked in
    that transaction is not done yet and is left to its own run."""
    from himaya.enrichment.services import enrichment_request

    enrichment_request(report_ids=[int(i) for i in report_ids], stage=Stage.TRIAGE)
