"""Reads of the enrichment state: one report's (for its page) and the counts (for /metrics)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from himaya.enrichment.models import ReportEnrichment, Stage


@dataclass
class EnrichmentPanel:
    row: ReportEnrichment | None
    queued: bool  # finished, its arrival not yet taken by a worker


def report_enrichment_panel(report: Any) -> EnrichmentPanel | None:
    """The state of a report the caller may already see (its page applied the permission)."""
    if report.status != "finished":
        return None
    row = ReportEnrichment.objects.filter(report_id=report.pk).first()
    return EnrichmentPanel(row=row, queued=row is None)


def enrichment_metric_samples(*, now: datetime | None = None) -> list[tuple[str, str, str, list[tuple[dict[str, str], float]]]]:
    """Prometheus families: (name, type, help, samples) — reports waiting per stage, failed
    per stage, and the age of the oldest pending request."""
    now = now or timezone.now()
    pending: dict[str, float] = {s: 0.0 for s in (Stage.MEDIA, Stage.LINK, Stage.TRIAGE)}
    failed: dict[str, float] = {s: 0.0 for s in (Stage.MEDIA, Stage.LINK, Stage.TRIAGE)}
    oldest: dict[str, float] = {}
    rows = (ReportEnrichment.objects.exclude(stage=Stage.DONE).values("stage", "error")
            .annotate(n=Count("report_id"), first=Min("requested_at")).order_by())
    for r in rows:
        target = failed if r["error"] else pending
        target[r["stage"]] = target.get(r["stage"], 0.0) + float(r["n"])
        if r["first"] is not None:
            age = max(0.0, (now - r["first"]).total_seconds())
            oldest[r["stage"]] = max(oldest.get(r["stage"], 0.0), age)
    return [
        ("himaya_enrichment_pending", "gauge", "Reports whose enrichment waits at a stage (media, link, triage).",
         [({"stage": s}, n) for s, n in pending.items()]),
        ("himaya_enrichment_failed", "gauge", "Reports whose enrichment failed at a stage and waits for its retry.",
         [({"stage": s}, n) for s, n in failed.items()]),
        ("himaya_enrichment_oldest_pending_seconds", "gauge", "Age of the oldest unfinished enrichment request, per stage.",
         [({"stage": s}, a) for s, a in sorted(oldest.items())]),
    ]
