"""Signal receivers of linking: a report deleted (by whatever path: a purge, an
administrator, a cascade) takes its entries, links and linkage with it; the
cluster it held together is then recomputed and may split."""
from __future__ import annotations

from typing import Any


def on_report_deleting(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    from himaya.linking.services import report_departure

    # Captured now: by post_delete the rows it names are gone.
    instance._linking_departure = report_departure(report_id=instance.pk)


def on_report_deleted(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    from himaya.linking.services import report_departed

    departure = getattr(instance, "_linking_departure", None)
    if departure is not None and (departure.cluster_id is not None or departure.keys):
        report_departed(departure=departure)
