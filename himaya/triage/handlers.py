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
