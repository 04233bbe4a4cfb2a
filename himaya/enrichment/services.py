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

Under load, a worker's run takes the other waiting reports with it (`reports_claim`'s
top-up): arrivals never linked before are linked and triaged together
(`_arrivals_together`: `linking.arrivals`, `triage.services.reports_triage_linked`), and
reports sent back to triage are triaged together (`_retriage_together`), each batch in
a fixed number of statements — what lets the flow keep up with intake (SPEC §5). A
batch that fails as a whole is run report by report, which records each one's failure.
On the database queue arrivals have no task of their own: every `himaya worker` takes
the waiting rows itself (`arrivals_drain`).

A failing stage records its error and is retried with a growing delay
(`enrichment_retry_due`, from the periodic upkeep). A run that was lost without
recording anything — its worker killed mid-task, its task failed while the database
restarted, its arrival never queued — is found by the same upkeep once it has been
pending for HIMAYA_ENRICHMENT_STALE_SECONDS and queued again (runs are idempotent).
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from himaya.core.tasks import enqueue_with_transaction
from himaya.enrichment.models import ORDER, ReportEnrichment, Stage
from himaya.linking.services import report_load, report_rows, report_rows_link
from himaya.reports.models import Report, ReportStatus
from himaya.triage.services import cluster_growth_matters, report_triage, report_triage_linked

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 30
RETRY_MAX_SECONDS = 3600
ERROR_CHARS = 2000
# A pending run neither done nor failed after this long was lost (a killed worker, a task
# that failed before it could record why, an arrival whose queueing died with its web
# machine): it is queued again. A run merely waiting in a long queue gets one extra no-op run.
STALE_SECONDS = float(os.environ.get("HIMAYA_ENRICHMENT_STALE_SECONDS", "900"))
# How far back a finished report without a row counts as a lost arrival (older ones were
# enriched before this flow kept rows, or by a rebuild).
LOST_ARRIVAL_WINDOW = timedelta(days=2)
# A worker takes at most this many waiting reports at once (`reports_claim`), and holds
# them this long: a worker that dies mid-batch leaves them to the retry upkeep after it.
# (HIMAYA_ENRICHMENT_LEASE_SECONDS: shorter for a test that kills workers.)
BATCH = 100
LEASE_SECONDS = float(os.environ.get("HIMAYA_ENRICHMENT_LEASE_SECONDS", "300"))


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** max(0, attempts - 1)))


def enrichment_start(*, report_id: int, now: datetime | None = None) -> ReportEnrichment:
    """The report's row, created at the first stage if it has none (a report enriched before
    this flow existed). A row a request made before the arrival ran still gets its media stage.
    (The arrival itself takes `report_arrived`, which creates the row in its own transaction.)"""
    row, created = ReportEnrichment.objects.get_or_create(report_id=report_id, defaults={"requested_at": now or timezone.now()})
    if not created and row.media_runs == 0 and row.stage != Stage.MEDIA:
        ReportEnrichment.objects.filter(report_id=report_id, media_runs=0).update(stage=Stage.MEDIA)
        row.stage = Stage.MEDIA
    return row


def report_arrived(*, report_id: int) -> ReportEnrichment | None:
    """The report arrived (finished, imported, from the portal or a partner): its whole flow,
    alone and at once — the path of an arrival without a waiting row (an arrival queued
    before the rows were written at finish) or of one taken alone by its worker.

    The report's rows are read once, for its media stage and for linking and triage. The
    enrichment row is inserted in the transaction that links and triages it and saved once at
    its end (two statements): a run killed before that commit leaves no row, and the arrival
    task, which the queue runs again, starts over. An arrival announced twice finds the row
    done and changes nothing; a row a request made before the arrival ran (a file's verdict)
    is linked and triaged here, with its media stage. Never raises for a stage's failure."""
    try:
        report = report_load(report_id)
    except Report.DoesNotExist:
        return None  # deleted meanwhile
    if report.status != ReportStatus.FINISHED:
        return None
    stage: str = Stage.MEDIA
    try:
        rows = report_rows(report)
        failed = _media_stage({report_id: report.source}, files={report_id: rows.files})
        if report_id in failed:
            raise failed[report_id]
        stage = Stage.LINK
        return _link_and_triage(report_id=report_id, media=True, rows=rows, arrival=True)
    except Exception as exc:  # any stage's failure: recorded, shown, retried; the worker goes on
        log.exception("enrichment of report %s failed at stage %s", report_id, stage)
        return _failure_record(report_id=report_id, stage=stage, exc=exc)


def report_reenrich(*, report_id: int, stage: str = Stage.LINK) -> ReportEnrichment | None:
    """Run the report's flow again from `stage` whatever its state (an operator's re-run, a
    test's): a report without a row takes the arrival's path (from the media stage)."""
    past = [s for s, rank in ORDER.items() if rank > ORDER[Stage(stage)]]
    now = timezone.now()
    moved = ReportEnrichment.objects.filter(report_id=report_id, stage__in=past).update(
        stage=stage, requested_at=now, updated_at=now, next_attempt_at=None)
    if not moved and not ReportEnrichment.objects.filter(report_id=report_id).exists():
        return report_arrived(report_id=report_id)
    return report_enrich(report_id=report_id)


def report_enrich(*, report_id: int, row: ReportEnrichment | None = None) -> ReportEnrichment | None:
    """Run the report's flow from its pending stage to the end (a batch of one; `row` is
    accepted for the callers of old and not needed). Never raises for a stage's failure:
    the failure is recorded on the row and retried later."""
    return reports_enrich_batch(report_ids=[report_id], top_up=False).get(report_id)


def reports_claim(*, report_ids: Iterable[int], top_up: int = 0, now: datetime | None = None) -> tuple[list[ReportEnrichment], set[int]]:
    """Take the rows of these reports that wait (not done, not held), plus up to `top_up`
    other waiting rows (the oldest requests first), for this worker: in one short
    transaction, the rows another worker is taking at that moment skipped (SKIP LOCKED on
    PostgreSQL), each taken row leased (`next_attempt_at` = now + LEASE) so that no other
    worker takes it, and a worker that dies mid-batch leaves it to the retry upkeep once the
    lease is over. Returns the taken rows and the ids that have no row at all (or were held)."""
    ids = sorted({int(i) for i in report_ids})
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _claim_postgresql(ids, top_up=top_up, now=now)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    with transaction.atomic():
        found = list(ReportEnrichment.objects.select_for_update(skip_locked=True).filter(report_id__in=ids)) if ids else []
        taken = [r for r in found if r.stage != Stage.DONE and (r.next_attempt_at is None or r.next_attempt_at <= now)]
        if top_up > 0:
            taken += list(ReportEnrichment.objects.select_for_update(skip_locked=True).exclude(stage=Stage.DONE).filter(due)
                          .exclude(report_id__in=ids).order_by("requested_at")[:top_up])
        if taken:
            ReportEnrichment.objects.filter(report_id__in=[r.report_id for r in taken]).update(
                next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    return taken, set(ids) - {r.report_id for r in found}


_CLAIM_SQL: dict[str, tuple[str, list[str]]] = {}


def _claim_postgresql(ids: list[int], *, top_up: int, now: datetime) -> tuple[list[ReportEnrichment], set[int]]:
    """`reports_claim` in one statement (it runs once per arrival: the ORM's three took a
    third of a batched arrival's CPU): the rows of `ids` not held by another worker, the
    due ones among them and up to `top_up` other due rows (oldest requests first) leased.
    Returns the taken rows and the ids without a row (or held)."""
    if "sql" not in _CLAIM_SQL:
        t = connection.ops.quote_name(ReportEnrichment._meta.db_table)
        names = [f.column for f in ReportEnrichment._meta.concrete_fields]
        cols = ", ".join(connection.ops.quote_name(n) for n in names)
        due = "(next_attempt_at IS NULL OR next_attempt_at <= %(now)s)"
        _CLAIM_SQL["sql"] = (
            f"WITH found AS (SELECT report_id, stage, next_attempt_at FROM {t} WHERE report_id = ANY(%(ids)s) FOR UPDATE SKIP LOCKED), "
            f"more AS (SELECT report_id FROM {t} WHERE stage <> 'done' AND {due} AND NOT (report_id = ANY(%(ids)s)) "
            f"ORDER BY requested_at LIMIT %(top_up)s FOR UPDATE SKIP LOCKED), "
            f"taken AS (SELECT report_id FROM found WHERE stage <> 'done' AND {due} UNION ALL SELECT report_id FROM more), "
            f"up AS (UPDATE {t} SET next_attempt_at = %(lease)s WHERE report_id IN (SELECT report_id FROM taken) RETURNING {cols}) "
            f"SELECT true, {cols} FROM up UNION ALL SELECT false, report_id{', NULL' * (len(names) - 1)} "
            f"FROM found WHERE report_id NOT IN (SELECT report_id FROM taken)", names)
    sql, names = _CLAIM_SQL["sql"]
    params = {"ids": ids, "now": now, "top_up": max(0, top_up), "lease": now + timedelta(seconds=LEASE_SECONDS)}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    taken: list[ReportEnrichment] = []
    found: set[int] = set()
    for was_taken, *values in rows:
        found.add(int(values[0]))
        if was_taken:
            data = dict(zip(names, values))
            if isinstance(data["verdicts"], str):
                data["verdicts"] = json.loads(data["verdicts"])
            row = ReportEnrichment(**data)
            row._state.adding = False
            taken.append(row)
    return taken, set(ids) - found


def reports_enrich_batch(*, report_ids: Iterable[int], top_up: bool = True) -> dict[int, ReportEnrichment | None]:
    """Run the flow of many reports in one go (the runs a change asked for, the retries, a
    backlog): claimed together (`reports_claim`, topped up to BATCH with other waiting rows
    when `top_up`), their media stage in one pass (their contents and their verdicts read in
    one query each), then each linked and triaged in a transaction of its own — a report
    that fails records its error on its row and the others go on. A report named without a
    row (never announced to this flow) takes the arrival's path. Returns each report's row."""
    ids = sorted({int(i) for i in report_ids})
    out: dict[int, ReportEnrichment | None] = {}
    for start in range(0, max(1, len(ids)), BATCH):
        chunk = ids[start:start + BATCH]
        taken, missing = reports_claim(report_ids=chunk, top_up=BATCH - len(chunk) if top_up else 0)
        for report_id in sorted(missing):
            out[report_id] = report_arrived(report_id=report_id)
        at_media = [r.report_id for r in taken if r.stage == Stage.MEDIA]
        failed: dict[int, BaseException] = {}
        if at_media:
            try:
                sources = dict(Report.objects.filter(id__in=at_media).values_list("id", "source"))
                failed = _media_stage(sources)
            except Exception as exc:  # the batch's reads failed: every report of it waits for its retry
                failed = {rid: exc for rid in at_media}
        arrivals = [r for r in taken if r.stage == Stage.MEDIA and r.report_id not in failed]
        if len(arrivals) >= 2:
            out.update(_arrivals_together(arrivals))
        at_triage = [r for r in taken if r.stage == Stage.TRIAGE]
        if len(at_triage) >= 2:
            out.update(_retriage_together(at_triage))
        for row in taken:
            rid = row.report_id
            if rid in out:
                continue
            if rid in failed:
                log.error("enrichment of report %s failed at stage media: %s", rid, failed[rid])
                out[rid] = _failure_record(report_id=rid, stage=Stage.MEDIA, exc=failed[rid])
                continue
            stage = Stage.LINK if row.stage == Stage.MEDIA else row.stage
            try:
                out[rid] = _link_and_triage(report_id=rid, media=row.stage == Stage.MEDIA)
            except Exception as exc:  # this report's failure: recorded, retried; the batch goes on
                log.exception("enrichment of report %s failed at stage %s", rid, stage)
                out[rid] = _failure_record(report_id=rid, stage=stage, exc=exc)
        for rid in chunk:
            if rid not in out:  # done already, held by another worker, or waiting for its retry
                out[rid] = ReportEnrichment.objects.filter(report_id=rid).first()
    return out


def _arrivals_together(taken: list[ReportEnrichment]) -> dict[int, ReportEnrichment]:
    """Link and triage together the claimed reports that arrived and were never linked
    (their media stage done): one transaction, a fixed number of statements for the batch
    (`linking.arrivals`, `triage.services.reports_triage_linked`) — what keeps the flow up
    with intake (SPEC §5). Their rows are locked first, as one report's run locks its row,
    and saved done together at the end; the clusters of before that grew and whose scores
    may change are sent back to triage in one statement. Returns the rows done; a report
    linked before (or a batch that failed as a whole) is left to the one-report path."""
    from himaya.linking.arrivals import never_linked, reports_rows, reports_rows_link
    from himaya.triage.services import cluster_growth_weight_changes, reports_triage_linked

    ids = sorted(r.report_id for r in taken)
    try:
        with transaction.atomic():
            rows_of = {r.report_id: r for r in ReportEnrichment.objects.select_for_update().filter(report_id__in=ids, stage=Stage.MEDIA).order_by("report_id")}
            fresh = never_linked(sorted(rows_of))
            read = [r for rid, r in sorted(reports_rows(sorted(fresh)).items()) if r.report.status == ReportStatus.FINISHED]
            if len(read) < 2:
                return {}
            linked = reports_rows_link(rows=read)
            processed = reports_triage_linked(rows=read, links=linked.results)
            ruleset = next(iter(processed.values())).ruleset
            now = timezone.now()
            grown = [g.cluster_id for g in linked.growth
                     if cluster_growth_weight_changes(clusters_joined=g.clusters_joined, unit_sizes=g.unit_sizes, ruleset=ruleset)]
            if grown:
                # Before the batch's rows are done: only the members of before are moved back.
                _clusters_retriage(cluster_ids=grown, now=now)
            done: list[ReportEnrichment] = []
            by_verdicts: dict[str, list[int]] = {}
            for r in read:
                row = rows_of[r.report.id]
                row.media_runs += 1
                row.link_runs += 1
                row.triage_runs += 1
                row.verdicts = _verdicts(r.files)
                row.stage, row.error, row.failed_stage, row.attempts, row.next_attempt_at = Stage.DONE, "", "", 0, None
                row.done_at = row.updated_at = now
                done.append(row)
                if row.verdicts:
                    by_verdicts.setdefault(json.dumps(row.verdicts, sort_keys=True), []).append(row.report_id)
            # One statement for the batch (and one per set of file verdicts): the ORM's
            # bulk_update builds a CASE per field and row, which cost more than the linking.
            done_ids = [row.report_id for row in done]
            ReportEnrichment.objects.filter(report_id__in=done_ids).update(
                stage=Stage.DONE, error="", failed_stage="", attempts=0, next_attempt_at=None, media_runs=F("media_runs") + 1,
                link_runs=F("link_runs") + 1, triage_runs=F("triage_runs") + 1, done_at=now, updated_at=now)
            for verdicts, rids in by_verdicts.items():
                ReportEnrichment.objects.filter(report_id__in=rids).update(verdicts=json.loads(verdicts))
    except Exception:  # the batch's failure: each of its reports takes the one-report path, which records its own
        log.exception("enrichment of %d arrivals together failed; each is run on its own", len(ids))
        return {}
    return {row.report_id: row for row in done}


def _retriage_together(taken: list[ReportEnrichment]) -> dict[int, ReportEnrichment]:
    """Triage again together the claimed reports whose cluster changed (stage `triage`):
    their rows locked, `triage.services.reports_triage` for all of them, their rows done
    in one statement. Returns the rows done; a batch that failed as a whole is left to the
    one-report path."""
    from himaya.triage.services import reports_triage

    ids = sorted(r.report_id for r in taken)
    now = timezone.now()
    try:
        with transaction.atomic():
            rows = list(ReportEnrichment.objects.select_for_update().filter(report_id__in=ids, stage=Stage.TRIAGE).order_by("report_id"))
            mine = [r.report_id for r in rows]
            if len(mine) < 2:
                return {}
            reports_triage(report_ids=mine, now=now)
            ReportEnrichment.objects.filter(report_id__in=mine).update(
                stage=Stage.DONE, error="", failed_stage="", attempts=0, next_attempt_at=None, triage_runs=F("triage_runs") + 1,
                done_at=now, updated_at=now)
    except Exception:  # the batch's failure: each of its reports takes the one-report path, which records its own
        log.exception("triage of %d reports together failed; each is run on its own", len(ids))
        return {}
    for row in rows:
        row.stage, row.error, row.failed_stage, row.attempts, row.next_attempt_at = Stage.DONE, "", "", 0, None
        row.triage_runs += 1
        row.done_at = row.updated_at = now
    return {row.report_id: row for row in rows}


def _media_stage(sources: dict[int, str], *, files: dict[int, list[Any]] | None = None) -> dict[int, BaseException]:
    """Hash and match the contents of these reports' files that are not yet (a content
    already hashed and matched, the same file in an earlier report, is left as it is), and
    match the pictures hashed on a phone of the portal's reports — looked for only in
    reports that came through the portal (`sources`: report id → source), never with a
    query for the others. `files`: the reports' file rows when the caller read them already.
    Returns the reports whose media stage failed, with the error; the others are done."""
    from himaya.media.models import HashState, MediaState
    from himaya.media.services import media_hash_blob
    from himaya.reports.models import ReportFile, ReportSource

    if files is not None:
        pairs = [(rid, f.blob_id) for rid, fs in files.items() for f in fs if f.blob_id]
    else:
        pairs = list(ReportFile.objects.filter(report_id__in=list(sources), blob__isnull=False).values_list("report_id", "blob_id"))
    addresses = sorted({a for _, a in pairs})
    failed: dict[int, BaseException] = {}
    if addresses:
        settled = set(MediaState.objects.filter(blob_id__in=addresses, matched_at__isnull=False).exclude(state=HashState.PENDING)
                      .values_list("blob_id", flat=True))
        for address in addresses:
            if address not in settled:
                try:
                    media_hash_blob(address=address)
                except Exception as exc:
                    for rid, a in pairs:
                        if a == address:
                            failed.setdefault(rid, exc)
    for rid, source in sources.items():
        if source == ReportSource.PORTAL and rid not in failed:
            from himaya.portal.services import device_hashes_match

            try:
                device_hashes_match(report_id=rid)
            except Exception as exc:
                failed[rid] = exc
    return failed


def _row_insert(row: ReportEnrichment) -> bool:
    """INSERT the row unless the report has one (ON CONFLICT DO NOTHING): True if it was
    inserted — then this transaction holds it until it commits."""
    fields = ReportEnrichment._meta.concrete_fields
    qn = connection.ops.quote_name
    values = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in fields]
    sql = (f"INSERT INTO {qn(ReportEnrichment._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({qn('report_id')}) DO NOTHING RETURNING {qn('report_id')}")
    with connection.cursor() as cur:
        cur.execute(sql, values)
        inserted = cur.fetchone() is not None
    if inserted:
        row._state.adding = False
    return inserted


def _cluster_retriage(*, cluster_id: int, report_id: int, now: datetime) -> list[int]:
    """The other members of a cluster that grew go back to triage (those done; one not yet
    there is left to its pending run; a member without a row gets one at triage) — in one
    statement — and one run is queued for them in this transaction."""
    from himaya.enrichment.tasks import reports_enrich
    from himaya.linking.models import ReportLinkage

    qn = connection.ops.quote_name
    table, linkage = qn(ReportEnrichment._meta.db_table), qn(ReportLinkage._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql = (f"INSERT INTO {table} (report_id, stage, error, failed_stage, attempts, next_attempt_at, media_runs, link_runs, "
           f"triage_runs, verdicts, requested_at, done_at, updated_at) "
           f"SELECT report_id, %s, '', '', 0, NULL, 0, 0, 0, '{{}}', %s, NULL, %s FROM {linkage} WHERE cluster_id = %s AND report_id <> %s "
           f"ON CONFLICT (report_id) DO UPDATE SET stage = excluded.stage, requested_at = excluded.requested_at, "
           f"updated_at = excluded.updated_at, next_attempt_at = NULL WHERE {table}.stage = %s RETURNING report_id")
    with connection.cursor() as cur:
        cur.execute(sql, [str(Stage.TRIAGE), stamp, stamp, cluster_id, report_id, str(Stage.DONE)])
        queued = sorted(int(r[0]) for r in cur.fetchall())
    if queued:
        enqueue_with_transaction(reports_enrich, report_ids=queued)
    return queued


def _clusters_retriage(*, cluster_ids: list[int], now: datetime) -> list[int]:
    """`_cluster_retriage` of several clusters at once (a batch of arrivals grew them): their
    members that are done go back to triage, in one statement, and one run is queued."""
    from himaya.enrichment.tasks import reports_enrich
    from himaya.linking.models import ReportLinkage

    qn = connection.ops.quote_name
    table, linkage = qn(ReportEnrichment._meta.db_table), qn(ReportLinkage._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    ids = sorted(set(cluster_ids))
    sql = (f"INSERT INTO {table} (report_id, stage, error, failed_stage, attempts, next_attempt_at, media_runs, link_runs, "
           f"triage_runs, verdicts, requested_at, done_at, updated_at) "
           f"SELECT report_id, %s, '', '', 0, NULL, 0, 0, 0, '{{}}', %s, NULL, %s FROM {linkage} WHERE cluster_id IN ({', '.join(['%s'] * len(ids))}) "
           f"ON CONFLICT (report_id) DO UPDATE SET stage = excluded.stage, requested_at = excluded.requested_at, "
           f"updated_at = excluded.updated_at, next_attempt_at = NULL WHERE {table}.stage = %s RETURNING report_id")
    with connection.cursor() as cur:
        cur.execute(sql, [str(Stage.TRIAGE), stamp, stamp, *ids, str(Stage.DONE)])
        queued = sorted(int(r[0]) for r in cur.fetchall())
    if queued:
        enqueue_with_transaction(reports_enrich, report_ids=queued)
    return queued


# The task queue whose workers take arrivals from their waiting rows (`arrivals_drain`, run
# by every `himaya worker`): with it an arrival needs no task of its own — on the database
# queue a task is a row written at finish and three statements more in a worker, which
# cost more than the arrival's batched enrichment. Redis workers drain too, but arrivals
# keep their job there (a cheap write outside the database, and the unit of work whose
# recovery from a killed machine tests/scaleout proves); the in-process queues of tests
# and development (immediate, dummy) have no worker and keep the task.
_DRAINED_BY_WORKERS = ("django_tasks_db.DatabaseBackend",)


def arrivals_in_workers_charge() -> bool:
    from django.conf import settings

    return str(settings.TASKS.get("default", {}).get("BACKEND", "")) in _DRAINED_BY_WORKERS


def arrivals_drain(*, batches: int = 20) -> int:
    """Run what waits (arrivals, the runs a change asked for, retries due), a claimed batch at
    a time, until nothing is left or `batches` were run: what each `himaya worker` does
    every half second, so that an arrival needs no queued task of its own (its waiting row,
    written at finish, is its place in the queue). Returns the reports run."""
    done = 0
    for _ in range(batches):
        if not ReportEnrichment.objects.exclude(stage=Stage.DONE).filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())).exists():
            break
        out = reports_enrich_batch(report_ids=[], top_up=True)
        if not out:
            break
        done += len(out)
    return done


_ARRIVALS_SQL: dict[str, tuple[str, list[tuple[Any, Any]]]] = {}
_NOW = object()


def arrivals_note(*, report_ids: Iterable[int], now: datetime | None = None) -> None:
    """The arrivals' rows, waiting at the first stage, written in the transaction that
    stored or finished the reports (intake's `reports_arriving` and `reports_stored`): a
    worker's run takes many waiting arrivals at once and links them together. On
    PostgreSQL one `INSERT … SELECT … FROM unnest(ids)`, every other column its field's
    default prepared by the field (a model instance and a compiled value per column and
    report were most of a bulk import batch's writing); elsewhere the ORM's bulk_create."""
    ids = sorted({int(i) for i in report_ids})
    if not ids:
        return
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        ReportEnrichment.objects.bulk_create([ReportEnrichment(report_id=r, stage=Stage.MEDIA, requested_at=now) for r in ids],
                                             ignore_conflicts=True, batch_size=1000)
        return
    if "sql" not in _ARRIVALS_SQL:  # made once per process: it runs in every finish
        meta, q = ReportEnrichment._meta, connection.ops.quote_name
        columns, values, fixed = [], [], []
        for f in meta.concrete_fields:
            columns.append(q(f.column))
            if f.attname == "report_id":
                values.append("r")
            else:
                values.append(f"CAST(%s AS {f.cast_db_type(connection)})")
                # _NOW: the moment of the call (prepared by its field then).
                fixed.append((f, _NOW) if f.attname in ("requested_at", "updated_at") else
                             (f, f.get_db_prep_save(Stage.MEDIA if f.attname == "stage" else f.get_default(), connection)))
        _ARRIVALS_SQL["sql"] = (f"INSERT INTO {q(meta.db_table)} ({', '.join(columns)}) SELECT {', '.join(values)} "
                                "FROM unnest(CAST(%s AS bigint[])) AS r ON CONFLICT DO NOTHING", fixed)
    sql, fixed = _ARRIVALS_SQL["sql"]
    moment = fixed[[f.attname for f, _ in fixed].index("requested_at")][0].get_db_prep_save(now, connection)
    params = [moment if value is _NOW else value for _, value in fixed]
    with connection.cursor() as cur:
        cur.execute(sql, [*params, "{" + ",".join(map(str, ids)) + "}"])


def _link_and_triage(*, report_id: int, media: bool, rows: Any = None, arrival: bool = False) -> ReportEnrichment | None:
    """Link then triage (or triage alone when only the cluster changed) in one
    transaction, the report's rows read and decrypted once. `arrival`: the row is inserted
    here if the report has none (`report_arrived`)."""
    growth: tuple[int, int] | None = None
    now = timezone.now()
    with transaction.atomic():
        row = ReportEnrichment(report_id=report_id, stage=Stage.MEDIA, requested_at=now) if arrival else None
        if row is None or not _row_insert(row):
            # The row lock orders this run against a request arriving meanwhile: the request
            # waits, then finds the report done and queues a run of its own.
            row = ReportEnrichment.objects.select_for_update().filter(report_id=report_id).first()
            if row is None:
                return None
            if arrival and row.media_runs == 0 and row.stage != Stage.MEDIA:
                row.stage = Stage.LINK  # asked for before its arrival ran: linked here, with its media stage
        if row.stage == Stage.MEDIA and media:
            row.stage = Stage.LINK
        if row.stage == Stage.LINK:
            rows = rows if rows is not None else report_rows(report_load(report_id))
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
            _cluster_retriage(cluster_id=growth[0], report_id=growth[1], now=now)
    return row


def _verdicts(files: Iterable[Any]) -> dict[str, str]:
    from himaya.media.selectors import file_media_summary

    # The selector caches its answer on the file: linking and triage asked it already.
    return {f.blob_id: str(file_media_summary(f).get("status") or "") for f in files if f.blob_id}


def _failure_record(*, report_id: int, stage: str, exc: BaseException) -> ReportEnrichment | None:
    now = timezone.now()
    with transaction.atomic():
        row = ReportEnrichment.objects.select_for_update().filter(report_id=report_id).first()
        if row is None:  # an arrival that failed: its row is written now, with the failure
            if not Report.objects.filter(id=report_id).exists():
                return None
            row = ReportEnrichment(report_id=report_id, stage=Stage.MEDIA, requested_at=now)
        if row.stage == Stage.MEDIA and stage != Stage.MEDIA:
            row.stage, row.media_runs = Stage.LINK, row.media_runs + 1  # the files were done: resume at linking
        row.attempts += 1
        row.error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        row.failed_stage = stage
        row.next_attempt_at = now + retry_delay(row.attempts)
        row.save()
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
            rows = list(ReportEnrichment.objects.select_for_update().filter(report_id__in=finished).order_by("report_id")
                        .values_list("report_id", "stage", "verdicts"))
            moving = [rid for rid, at, verdicts in rows
                      if at in past and (verdict is None or (verdicts or {}).get(verdict[0]) != verdict[1])]
            if moving:
                ReportEnrichment.objects.filter(report_id__in=moving).update(stage=stage, requested_at=now, updated_at=now, next_attempt_at=None)
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
    """Queue the failed runs whose delay is over, and the runs a worker took and never
    finished (it died mid-batch: its lease is over) — the periodic upkeep calls this. The
    rows queued are due at once (`next_attempt_at` cleared), so the run's claim takes them."""
    from himaya.enrichment.tasks import reports_enrich

    now = now or timezone.now()
    with transaction.atomic():
        _lost_runs_due(now=now, limit=limit)
        due = list(ReportEnrichment.objects.select_for_update(skip_locked=True)
                   .exclude(stage=Stage.DONE).filter(next_attempt_at__lte=now).order_by("next_attempt_at")
                   .values_list("report_id", flat=True)[:limit])
        if not due:
            return 0
        ReportEnrichment.objects.filter(report_id__in=due).update(next_attempt_at=None)
        transaction.on_commit(lambda: reports_enrich.enqueue(report_ids=due))
    return len(due)


def _lost_runs_due(*, now: datetime, limit: int) -> None:
    """Make the runs lost without a trace due now: a row pending for STALE_SECONDS that no
    worker holds and that recorded no failure (its queued run went with a killed worker or
    a lost Redis), and a finished report of the last LOST_ARRIVAL_WINDOW with no row at all
    (its arrival task failed while the database was down, or was never queued)."""
    stale_before = now - timedelta(seconds=STALE_SECONDS)
    lost = list(Report.objects.filter(status=ReportStatus.FINISHED, finished_at__lt=stale_before,
                                      finished_at__gte=now - LOST_ARRIVAL_WINDOW, enrichment__isnull=True)
                .values_list("id", flat=True)[:limit])
    if lost:
        log.warning("%d finished report(s) were never enriched (their arrival was lost); queued", len(lost))
        ReportEnrichment.objects.bulk_create([ReportEnrichment(report_id=rid, requested_at=now, next_attempt_at=now) for rid in lost],
                                             ignore_conflicts=True)
    ReportEnrichment.objects.exclude(stage=Stage.DONE).filter(next_attempt_at__isnull=True, updated_at__lt=stale_before).update(
        next_attempt_at=now)
