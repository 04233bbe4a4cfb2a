"""Bulk import in batches (issue 18: 2,000 reports/s, 1 M in under 10 minutes).

One report at a time costs a transaction, a commit and about ten statements per report
plus a queued task. Here the reports of a package without files are read (those
imported before are left out at once, by their keys), then parsed, checked and turned
into rows (`bulkrows`) in worker processes (when there are many and more than one
core), streamed in order to this process, which writes each batch in one
transaction: one COPY per table on PostgreSQL (one executemany elsewhere), the audit
events of the batch in one write (`audit_record_many`), intake's `reports_stored` sent
once for the batch (what its listeners do on a report's post_save: the statistics mark
the month, the enrichment flow puts each report at its first stage), and one queued
task that announces every report of the batch (`report_received`, so the enrichment
flow runs per report as for any arrival). Reports with files go through
`report_import`, one at a time (their files are streamed into the store).

The result is the same as `report_import` on each report: the same rows, the same
import key (so importing the package again adds nothing, whichever path imported it),
the same audit event. A batch the database refuses is written not at all (its
transaction rolls back) and its reports are reported as failed; importing the package
again adds them.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from himaya.accounts.models import Unit
from himaya.audit.catalogue import AuditAction
from himaya.audit.services import audit_record_many
from himaya.intake import bulkrows, signals
from himaya.intake.cybertip import Node, check_report
from himaya.intake.errors import IntakeError
from himaya.intake.services import enqueue_reports_received, parse_document
from himaya.reports.models import Party, Report, ReportSource, ReportStatus
from himaya.reports.projection import Projection, project_report

BATCH = 500
# Below this many reports, worker processes cost more to start than they save.
PARALLEL_FROM = 400
# Reports per piece of work sent to a worker, and pieces in flight per worker: the
# workers stay ahead of the writer without holding more than a few batches in memory.
STEP = 50
AHEAD = 4


@dataclass
class Prepared:
    """A report read, parsed, checked and projected, ready to be written."""

    raw: bytes
    tree: Node
    proj: Projection
    key: str


def prepare(raw: bytes, *, now: datetime) -> Prepared:
    """report.xml → what is written, or ImportProblem; the same checks as `report_import`."""
    from himaya.intake.bulk import ImportProblem

    try:
        tree = parse_document(raw, expect="report")
    except IntakeError as exc:
        raise ImportProblem(f"report.xml: {exc.detail or exc.code}") from None
    # priorCTReports in a forwarded report name reports of the system it came from.
    violations = check_report(tree, now=now, prior_report_exists=lambda _id: True)
    if violations:
        raise ImportProblem("report.xml: " + "; ".join(f"{v.path}: {v.message}" for v in violations[:10]))
    # The key `report_import` computes for a report without files.
    return Prepared(raw, tree, project_report(tree), hashlib.sha256(raw).hexdigest())


@dataclass(frozen=True)
class _Job:
    unit_id: int
    origin: str
    now: datetime


def build_one(source: Any, job: _Job) -> bulkrows.Built | Exception:
    """Read, parse, check and build the rows of one report; its problem otherwise."""
    try:
        return _build((source.read_report(), source.label, source.folder_name), job)
    except Exception as exc:  # unreadable: reported like any other problem
        return exc


def _build(item: tuple[bytes, str, str], job: _Job) -> bulkrows.Built | Exception:
    raw, label, folder_name = item
    try:
        p = prepare(raw, now=job.now)
        return bulkrows.build(raw=p.raw, tree=p.tree, proj=p.proj, key=p.key, raw_sha256=p.key, unit_id=job.unit_id, origin=job.origin,
                              status=ReportStatus.FINISHED, now=job.now, label=label, external_id=_external_id(folder_name))
    except Exception as exc:  # ImportProblem, or a bug: reported per report, never a lost batch
        return exc


def _work(items: list[tuple[bytes, str, str]], job: _Job) -> list[bulkrows.Built | Exception]:
    return [_build(item, job) for item in items]


def _read(sources: list[Any], *, batch: int, on_result: Callable[[Any, int | None | Exception], None]) -> Iterator[tuple[Any, bytes]]:
    """Each source's report.xml, read here, but those imported before: their keys (the
    SHA-256 of the document) looked up a batch at a time, so that a second import of a
    package spends no parsing on them. Those unreadable and those imported before are
    answered here (`on_result`)."""
    for start in range(0, len(sources), batch):
        chunk: list[tuple[Any, bytes | Exception, str]] = []
        for source in sources[start:start + batch]:
            try:
                raw = source.read_report()
                chunk.append((source, raw, hashlib.sha256(raw).hexdigest()))
            except Exception as exc:
                chunk.append((source, exc, ""))
        keys = [key for _, _, key in chunk if key]
        try:
            known = _imported(keys)
        except DatabaseError:
            known = set()  # the writer looks again, and says what failed
        for source, raw, key in chunk:
            if isinstance(raw, Exception):
                on_result(source, raw)
            elif key in known:
                on_result(source, None)
            else:
                yield source, raw


def _built(items: Iterator[tuple[Any, bytes]], *, job: _Job, workers: int) -> Iterator[tuple[Any, bulkrows.Built | Exception]]:
    """Each report's rows (or problem), in order; in worker processes when `workers` > 1.
    At most `workers * AHEAD` pieces of STEP reports are in flight: the workers stay ahead
    of the writer without holding more than a few batches in memory."""
    if workers <= 1:
        for source, raw in items:
            yield source, _build((raw, source.label, source.folder_name), job)
        return

    def pieces() -> Iterator[list[tuple[Any, bytes]]]:
        piece: list[tuple[Any, bytes]] = []
        for item in items:
            piece.append(item)
            if len(piece) >= STEP:
                yield piece
                piece = []
        if piece:
            yield piece

    # The parent writes while the workers build the next reports. The forked workers never
    # touch the database, and leave with os._exit (no finalizer runs), so the parent's open
    # connection, and the transaction it may be in, stay its own.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        window: deque[tuple[list[Any], Future[list[bulkrows.Built | Exception]]]] = deque()
        todo = pieces()

        def submit() -> bool:
            piece = next(todo, None)
            if piece is None:
                return False
            window.append(([s for s, _ in piece], pool.submit(_work, [(raw, s.label, s.folder_name) for s, raw in piece], job)))
            return True

        while len(window) < workers * AHEAD and submit():
            pass
        while window:
            sources, future = window.popleft()
            done = future.result()
            submit()
            yield from zip(sources, done)


def _imported(keys: list[str]) -> set[str]:
    """Which of these import keys (hex SHA-256) name reports imported before. On PostgreSQL
    in one statement with one parameter: the ORM's IN list compiled and quoted each of a
    batch's 500 keys, twice per batch."""
    if not keys:
        return set()
    if connection.vendor != "postgresql":
        return set(Report.objects.filter(import_key__in=keys).values_list("import_key", flat=True))
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT {q('import_key')} FROM {q(Report._meta.db_table)} WHERE {q('import_key')} = ANY(CAST(%s AS text[]))",
                    ["{" + ",".join(keys) + "}"])
        return {r[0] for r in cur.fetchall()}


def _write(batch: list[tuple[Any, bulkrows.Built]], *, unit: Unit, actor: object, now: datetime) -> dict[int, int | None]:
    """Write the reports of one batch in one transaction. Index in the batch → new id (None: imported before)."""
    keys = [b.key for _, b in batch]
    known = _imported(keys)
    result: dict[int, int | None] = {}
    fresh: list[tuple[int, Any, bulkrows.Built]] = []
    for i, (source, b) in enumerate(batch):
        if b.key in known:
            result[i] = None
        else:
            known.add(b.key)  # the same report twice in one package: the second is a duplicate
            fresh.append((i, source, b))
    if not fresh:
        return result
    with transaction.atomic():
        report_ids = bulkrows.reserve_ids(Report, len(fresh))
        party_ids = iter(bulkrows.reserve_ids(Party, sum(len(b.parties) for _, _, b in fresh)))
        # Parties before the rows naming them, parents before their accounts (one table: in order).
        for table, rows in zip(bulkrows.TABLES, bulkrows.with_ids([b for _, _, b in fresh], report_ids, party_ids)):
            bulkrows.write(table, rows)
        audit_record_many(actor=actor, action=AuditAction.REPORT_IMPORTED, events=[
            ("reports.report", rid, unit.id, {"source": source.label, "files": 0, "sha256": b.key})
            for rid, (_, source, b) in zip(report_ids, fresh)])
        # What a report's post_save tells its listeners, once for the batch (the rows above sent none).
        signals.reports_stored.send(sender=Report, unit_id=unit.id, finished_at=now, report_ids=list(report_ids))
        enqueue_reports_received(report_ids)
    for rid, (i, _, _) in zip(report_ids, fresh):
        result[i] = rid
    return result


def _external_id(folder_name: str) -> int | None:
    return int(folder_name) if folder_name.isdigit() and len(folder_name) < 19 else None


def reports_import(*, sources: list[Any], unit: Unit, actor: object, origin: str = ReportSource.IMPORT,
                   on_result: Callable[[Any, int | None | Exception], None], workers: int | None = None,
                   batch: int | None = None) -> None:
    """Import every source; `on_result(source, outcome)` for each (those without files
    first, in order, as their batches are written; then those with files): the new id,
    None (imported before) or the problem (ImportProblem, OSError, ...)."""
    from himaya.intake.bulk import ImportProblem, report_import

    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    batch = batch or BATCH  # read now: a test sets the module's BATCH
    plain = [s for s in sources if not s.files]
    now = timezone.now()
    job = _Job(unit_id=unit.id, origin=origin, now=now)
    pending: list[tuple[Any, bulkrows.Built]] = []

    def flush() -> None:
        try:
            written = _write(pending, unit=unit, actor=actor, now=now)
        except IntegrityError:
            # A concurrent import of the same package won a race: one at a time decides.
            for source, _ in pending:
                on_result(source, _single(report_import, source, unit=unit, actor=actor, origin=origin))
        except DatabaseError as exc:
            # The whole batch rolled back: nothing of it is stored; a second run adds it.
            for source, _ in pending:
                on_result(source, ImportProblem(f"not stored, the database refused the batch: {str(exc).strip()[:300]}"))
        else:
            for i, (source, _) in enumerate(pending):
                on_result(source, written[i])
        pending.clear()

    if len(plain) < PARALLEL_FROM:
        workers = 1
    for source, built in _built(_read(plain, batch=batch, on_result=on_result), job=job, workers=workers):
        if isinstance(built, Exception):
            on_result(source, built)
            continue
        pending.append((source, built))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    for source in sources:
        if source.files:
            on_result(source, _single(report_import, source, unit=unit, actor=actor, origin=origin))


def _single(report_import: Callable[..., int | None], source: Any, **kwargs: Any) -> int | None | Exception:
    try:
        return report_import(source=source, **kwargs)
    except Exception as exc:
        return exc
