"""Signal receivers: they only enqueue tasks (by id, after commit)."""
from __future__ import annotations

from typing import Any

from django.db import transaction


def on_report_received(sender: Any, *, report_id: int, **kwargs: Any) -> None:
    from himaya.triage.tasks import report_process

    transaction.on_commit(lambda: report_process.enqueue(report_id=report_id))


def on_media_status_changed(sender: Any, *, report_ids: Any = (), **kwargs: Any) -> None:
    """media_status_changed(blob_address, old_status, new_status, report_ids): every
    report holding that content is linked and triaged again (a file that turned
    viral stops linking its reporters; one that became known or new changes the
    tier)."""
    from himaya.triage.tasks import report_process

    ids = [int(i) for i in (report_ids or [])]
    if kwargs.get("report_id") is not None:
        ids.append(int(kwargs["report_id"]))

    def enqueue() -> None:
        for report_id in sorted(set(ids)):
            report_process.enqueue(report_id=report_id)

    transaction.on_commit(enqueue)


def on_clusters_changed(sender: Any, *, report_ids: Any = (), **kwargs: Any) -> None:
    """A cluster split, joined or lost a report: its members' cluster size and
    history changed, so each is triaged again (after commit, one task each)."""
    from himaya.triage.tasks import report_retriage

    ids = sorted({int(i) for i in report_ids})

    def enqueue() -> None:
        for report_id in ids:
            report_retriage.enqueue(report_id=report_id)

    if ids:
        transaction.on_commit(enqueue)


def _connect() -> None:
    # Connected when TriageConfig.ready() imports this module.
    from himaya.linking.signals import clusters_changed

    clusters_changed.connect(on_clusters_changed, dispatch_uid="triage.clusters_changed")


_connect()
