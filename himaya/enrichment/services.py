"""The enrichment flow of one report, read top to bottom: media (hash and match its
files) → link its identifiers → triage it (SPEC §2).

Each report has one `ReportEnrichment` row saying which stage runs next. A run
starts from that stage and moves it forward as each stage commits, so a run killed
mid-way continues where it stopped, and a second run of a report already done does
nothing. A change that concerns a report already enriched (a file's verdict, its
cluster) is a *request*: it moves the row back to the stage concerned, only if the
report is past it, and one run is queued. A report whose flow has not reached that
stage yet is left alone — its pending run will read the new state anyway — so a
report is linked and triaged once per change, never once per announcement.

A failing stage records its error and is retried with a growing delay
(`enrichment_retry_due`, from the periodic upkeep).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from himaya.core.tasks import enqueue_with_transaction
from himaya.enrichment.models import ORDER, ReportEnrichment, Stage
from himaya.linking.services import report_load, report_rows, report_rows_link
from himaya.media.services import report_contents_hash
from himaya.reports.models import Report, ReportStatus
from himaya.triage.services import cluster_growth_matters, report_triage, report_triage_linked

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 30
RETRY_MAX_SECONDS = 3600
ERROR_CHARS = 2000


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** max(0, attempts - 1)))


def enrichment_start(*, report_id: int, now: datetime | None = None) -> ReportEnrichment:
    """The report arrived (finished, imported, from the portal or a partner): its row, at
    the first stage. An arrival announced twice (a task delivered again) starts nothing new;
    a row a request made before the arrival ran still gets its media stage."""
    row, created = ReportEnrichment.objects.get_or_create(report_id=report_id, defaults={"requested_at": now or timezone.now()})
    if not created and row.media_runs == 0 and row.stage != Stage.MEDIA:
        ReportEnrichment.objects.filter(report_id=report_id, media_runs=0).update(stage=Stage.MEDIA)
        row.stage = Stage.MEDIA
    return row


def report_reenrich(*, report_id: int, stage: str = Stage.LINK) -> ReportEnrichment | None:
    """Run the report's flow again from `stage` whatever its state (an operator's re-run, a
    test's): a report without a row starts at the media stage."""
    past = [s for s, rank in ORDER.items() if rank > ORDER[Stage(stage)]]
    ReportEnrichment.objects.filter(report_id=report_id, stage__in=past).update(stage=stage, requested_at=timezone.now(), updated_at=timezone.now())
    return report_enrich(report_id=report_id)


def report_enrich(*, report_id: int, row: ReportEnrichment | None = None) -> ReportEnrichment | None:
    """Run the report's flow from its pending stage to the end. Never raises for a
    stage's failure: the failure is recorded on the row and retried later.

    The media stage writes nothing of its own here: run again, it finds its contents
    hashed and matched and skips them, so it needs no step of its own on the row."""
    if row is None:
        row = ReportEnrichment.objects.filter(report_id=report_id).first()
    if row is None:
        if not Report.objects.filter(id=report_id, status=ReportStatus.FINISHED).exists():
            return None  # deleted meanwhile, or not a finished report
        row = enrichment_start(report_id=report_id)
    stage = row.stage
    try:
        if stage == Stage.MEDIA:
            report_contents_hash(report_id=report_id)
            stage = Stage.LINK
        if stage in (Stage.LINK, Stage.TRIAGE):
            return _link_and_triage(report_id=report_id, media=row.stage == Stage.MEDIA)
    except Exception as exc:  # any stage's failure: recorded, shown, retried; the worker goes on
        log.exception("enrichment of report %s failed at stage %s", report_id, stage)
        return _failure_record(report_id=report_id, stage=stage, exc=exc)
    return row


def _link_and_triage(*, report_id: int, media: bool) -> ReportEnrichment:
    """Link then triage (or triage alone when only the cluster changed) in one
    transaction, the report's rows read and decrypted once."""
    growth: tuple[int, int] | None = None
    with transaction.atomic():
        # The row lock orders this run against a request arriving meanwhile: the request
        # waits, then finds the report done and queues a run of its own.
        row = ReportEnrichment.objects.select_for_update().get(report_id=report_id)
        if row.stage == Stage.MEDIA and media:
            row.stage = Stage.LINK
        if row.stage == Stage.LINK:
            rows = report_rows(report_load(report_id))
            link = report_rows_link(rows=rows)
            done = report_triage_linked(rows=rows, link=link)
            row.link_runs += 1
            row.verdicts = _verdicts(rows.files)
            if link.merged_clusters and cluster_growth_matters(link, ruleset=done.ruleset):
                growth = (link.cluster_id, report_id)
        elif row.stage == Stage.TRIAGE:
            report_triage(report_id=report_id)
        else:
            return row
        row.media_runs += int(media)
        row.triage_runs += 1
        row.stage, row.error, row.failed_stage, row.attempts, row.next_attempt_at = Stage.DONE, "", "", 0, None
        row.done_at = timezone.now()
        row.save()
        if growth is not None:
            # The other members' scores changed (cluster size, history): triaged again in a
            # run of their own, so that this report's own latency stays small.
            from himaya.linking.models import ReportLinkage

            members = ReportLinkage.objects.filter(cluster_id=growth[0]).exclude(report_id=growth[1]).values_list("report_id", flat=True)
            enrichment_request(report_ids=list(members), stage=Stage.TRIAGE, after_commit=False)
    return row


def _verdicts(files: Iterable[Any]) -> dict[str, str]:
    from himaya.media.selectors import file_media_summary

    # The selector caches its answer on the file: linking and triage asked it already.
    return {f.blob_id: str(file_media_summary(f).get("status") or "") for f in files if f.blob_id}


def _failure_record(*, report_id: int, stage: str, exc: BaseException) -> ReportEnrichment | None:
    now = timezone.now()
    with transaction.atomic():
        row = ReportEnrichment.objects.select_for_update().filter(report_id=report_id).first()
        if row is None:
            return None
        if row.stage == Stage.MEDIA and stage != Stage.MEDIA:
            row.stage, row.media_runs = Stage.LINK, row.media_runs + 1  # the files were done: resume at linking
        row.attempts += 1
        row.error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        row.failed_stage = stage
        row.next_attempt_at = now + retry_delay(row.attempts)
        row.save(update_fields=["stage", "media_runs", "attempts", "error", "failed_stage", "next_attempt_at", "updated_at"])
    return row


def enrichment_request(*, report_ids: Iterable[int], stage: str, verdict: tuple[str, str] | None = None,
                       after_commit: bool = True, now: datetime | None = None) -> list[int]:
    """A change concerns these reports from `stage` on (a file's verdict: from linking; a
    cluster: triage). Each finished report already past that stage goes back to it and
    one run is queued for all of them once the caller's transaction commits; a report
    not there yet is left to its pending run. `verdict` (content address, new status): a
    report last linked with that very verdict is left alone. `after_commit=False`: the run
    is queued in the caller's transaction (on the database queue it exists if and only if
    that commits). Returns the reports queued."""
    from himaya.enrichment.tasks import reports_enrich

    ids = sorted({int(i) for i in report_ids})
    if not ids:
        return []
    now = now or timezone.now()
    past = [s for s, rank in ORDER.items() if rank > ORDER[Stage(stage)]]
    queued: list[int] = []
    with transaction.atomic():
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            # Only finished reports are enriched: an open one sharing a file waits for its own finish.
            # (A cluster's members are all finished: only finished reports are linked.)
            finished = set(chunk) if stage == Stage.TRIAGE else set(
                Report.objects.filter(id__in=chunk, status=ReportStatus.FINISHED).values_list("id", flat=True))
            rows = list(ReportEnrichment.objects.select_for_update().filter(report_id__in=finished).values_list("report_id", "stage", "verdicts"))
            moving = [rid for rid, at, verdicts in rows
                      if at in past and (verdict is None or (verdicts or {}).get(verdict[0]) != verdict[1])]
            if moving:
                ReportEnrichment.objects.filter(report_id__in=moving).update(stage=stage, requested_at=now, updated_at=now)
            # No row: a report enriched before this flow existed (or by a rebuild), or one whose
            # arrival has not been run yet (`enrichment_start` then runs its media stage still).
            missing = sorted(finished - {rid for rid, _, _ in rows})
            if missing:
                ReportEnrichment.objects.bulk_create([ReportEnrichment(report_id=r, stage=stage, requested_at=now) for r in missing],
                                                     ignore_conflicts=True)
            queued += moving + missing
        if queued:
            batch = sorted(queued)
            if after_commit:
                transaction.on_commit(lambda: reports_enrich.enqueue(report_ids=batch))
            else:
                enqueue_with_transaction(reports_enrich, report_ids=batch)
    return sorted(queued)


def enrichment_retry_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Queue the failed runs whose delay is over (the periodic upkeep calls this)."""
    from himaya.enrichment.tasks import reports_enrich

    now = now or timezone.now()
    with transaction.atomic():
        due = list(ReportEnrichment.objects.select_for_update(skip_locked=True)
                   .exclude(stage=Stage.DONE).filter(next_attempt_at__lte=now).order_by("next_attempt_at")
                   .values_list("report_id", flat=True)[:limit])
        if not due:
            return 0
        # Not due again until this attempt has had its chance.
        ReportEnrichment.objects.filter(report_id__in=due).update(next_attempt_at=now + timedelta(seconds=RETRY_MAX_SECONDS))
        transaction.on_commit(lambda: reports_enrich.enqueue(report_ids=due))
    return len(due)
