"""What tells the statistics that a month changed: Django's model signals of the
earlier apps' rows, connected in `StatsConfig.ready()`. No earlier app knows the
statistics exist; each receiver only marks months stale (in the transaction of
the change), and a task recomputes them after the commit.

Bulk rewrites that send no signal (`triage rebuild`, `linking rebuild`) are
followed by `himaya stats rebuild`."""
from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from himaya.stats import aggregates

# Timeline events that change which reports a case holds: its filters (those of
# its earliest report) may move, so every month of the case is recomputed.
_CASE_REPORTS_EVENTS = frozenset({"case_opened", "reports_added", "merged_in", "merged_into"})


def on_report(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.finished_at is not None:
        aggregates.mark_stale(instance.unit_id, [instance.finished_at])


def on_reports_stored(sender: Any, *, unit_id: int, finished_at: Any, **kwargs: Any) -> None:
    """intake's `reports_stored` (a bulk import's batch, written without post_save): the
    month its reports were received in, marked once for the batch."""
    aggregates.mark_stale(unit_id, [finished_at])


def on_report_part(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A report's triage or linkage (tier, due time, review, jurisdiction)."""
    aggregates.mark_report(instance.report_id)


def on_reports_triaged(sender: Any, *, report_ids: Any = (), **kwargs: Any) -> None:
    """triage's `reports_triaged` (a batch of arrivals linked and triaged with bulk
    writes, which send no post_save): what `on_report_part` does, for the batch."""
    aggregates.mark_reports(report_ids)


def on_case_report(sender: Any, instance: Any, **kwargs: Any) -> None:
    aggregates.mark_report(instance.report_id, with_case=False)
    aggregates.mark_case(instance.case_id)


def on_case(sender: Any, instance: Any, **kwargs: Any) -> None:
    aggregates.mark_stale(instance.unit_id, [instance.created_at, instance.closed_at])


def on_case_child(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A victim, suspect or legal request: the month it is counted in."""
    from himaya.cases.models import LegalRequest

    moment = instance.sent_on if isinstance(instance, LegalRequest) else instance.created_at
    unit_id = type(instance).objects.filter(pk=instance.pk).values_list("case__unit_id", flat=True).first()
    aggregates.mark_stale(unit_id, [moment])


def on_suspect_step(sender: Any, instance: Any, **kwargs: Any) -> None:
    from himaya.cases.models import Suspect

    row = Suspect.objects.filter(pk=instance.suspect_id).values_list("case__unit_id", "created_at").first()
    if row:
        aggregates.mark_stale(row[0], [row[1]])


def on_referral(sender: Any, instance: Any, **kwargs: Any) -> None:
    from himaya.cases.models import Victim

    unit_id = Victim.objects.filter(pk=instance.victim_id).values_list("case__unit_id", flat=True).first()
    aggregates.mark_stale(unit_id, [instance.requested_at])


def on_timeline(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if created and instance.type in _CASE_REPORTS_EVENTS:
        aggregates.mark_case(instance.case_id)


def connect() -> None:
    from himaya.cases.models import Case, CaseReport, LegalRequest, Referral, Suspect, SuspectStep, TimelineEvent, Victim
    from himaya.linking.models import ReportLinkage
    from himaya.reports.models import Report
    from himaya.triage.models import ReportTriage

    wiring = [
        (Report, on_report), (ReportTriage, on_report_part), (ReportLinkage, on_report_part), (CaseReport, on_case_report),
        (Case, on_case), (Victim, on_case_child), (Suspect, on_case_child), (LegalRequest, on_case_child),
        (SuspectStep, on_suspect_step), (Referral, on_referral),
    ]
    for model, receiver in wiring:
        post_save.connect(receiver, sender=model, dispatch_uid=f"stats.{model._meta.label}.save")
    post_save.connect(on_timeline, sender=TimelineEvent, dispatch_uid="stats.timeline.save")
    from himaya.intake.signals import reports_stored

    reports_stored.connect(on_reports_stored, dispatch_uid="stats.reports_stored")
    from himaya.triage.signals import reports_triaged

    reports_triaged.connect(on_reports_triaged, dispatch_uid="stats.reports_triaged")
    post_delete.connect(on_case_report, sender=CaseReport, dispatch_uid="stats.casereport.delete")
