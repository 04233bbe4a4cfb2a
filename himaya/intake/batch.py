"""Bulk import in batches (issue 18: 2,000 reports/s, 1 M in under 10 minutes).

One report at a time costs a transaction, a commit and about ten statements per report
plus a queued task. Here the reports of a package are read, parsed and checked
(in worker processes when there are many and more than one core), and each batch of
reports without files is written in one transaction: one multi-row INSERT per table for
the whole batch, one audit event per report (the log is per report), and one queued
task that announces every report of the batch (`report_received`, so the enrichment
flow and every other listener run per report as for any arrival). Reports with files
go through `report_import`, one at a time (their files are streamed into the store).

The result is the same as `report_import` on each report: the same rows, the same
import key (so importing the package again adds nothing, whichever path imported it),
the same audit event.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from himaya.accounts.models import Unit
from himaya.intake import events
from himaya.intake.cybertip import Node, check_report
from himaya.intake.errors import IntakeError
from himaya.intake.services import _dt, enqueue_reports_received, parse_document, projection_rows
from himaya.reports.models import Report, ReportSource, ReportStatus
from himaya.reports.projection import Projection, project_report

BATCH = 500
# Below this many reports, worker processes cost more to start than they save.
PARALLEL_FROM = 400


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


def _prepare_one(args: tuple[bytes, datetime]) -> Prepared | Exception:
    try:
        return prepare(args[0], now=args[1])
    except Exception as exc:  # ImportProblem, or a bug: reported per report, never a lost batch
        return exc


def _prepared(raws: list[bytes], *, now: datetime, workers: int) -> Iterator[Prepared | Exception]:
    if workers <= 1 or len(raws) < PARALLEL_FROM:
        for raw in raws:
            yield _prepare_one((raw, now))
        return
    # The parent writes while the workers parse the next reports. The forked workers never
    # touch the database, and leave with os._exit (no finalizer runs), so the parent's open
    # connection, and the transaction it may be in, stay its own.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(_prepare_one, ((raw, now) for raw in raws), chunksize=64)


def _write(batch: list[tuple[Any, Prepared]], *, unit: Unit, actor: object, origin: str, now: datetime) -> dict[int, int | None]:
    """Write the reports of one batch in one transaction. Index in the batch → new id (None: imported before)."""
    keys = [p.key for _, p in batch]
    known = set(Report.objects.filter(import_key__in=keys).values_list("import_key", flat=True))
    result: dict[int, int | None] = {}
    fresh: list[tuple[int, Any, Prepared]] = []
    for i, (source, p) in enumerate(batch):
        if p.key in known:
            result[i] = None
        else:
            known.add(p.key)  # the same report twice in one package: the second is a duplicate
            fresh.append((i, source, p))
    if not fresh:
        return result
    with transaction.atomic():
        reports = Report.objects.bulk_create([
            Report(
                unit=unit, reporter=None, source=origin, status=ReportStatus.FINISHED, opened_at=now, modified_at=now, finished_at=now,
                raw_xml=p.raw, raw_sha256=hashlib.sha256(p.raw).hexdigest(), document=p.tree.to_json(), import_key=p.key,
                import_label=source.label[:500], external_id=_external_id(source.folder_name),
                incident_type=p.proj.incident_type[:100], incident_at=_dt(p.proj.incident_at), platform=p.proj.platform[:256],
                escalation=p.proj.escalation, batched_reason=p.proj.batched_reason[:50], annotations=p.proj.annotations,
            )
            for _, source, p in fresh
        ])
        projection_rows([(report, p.proj) for report, (_, _, p) in zip(reports, fresh)])
        for report, (i, source, _) in zip(reports, fresh):
            events.report_imported_event(actor=actor, report=report, source=source.label, files=0)
            # bulk_create sends no post_save: the listeners of new reports (statistics) hear of each.
            post_save.send(sender=Report, instance=report, created=True, update_fields=None, raw=False, using=report._state.db)
            result[i] = report.id
        enqueue_reports_received([r.id for r in reports])
    return result


def _external_id(folder_name: str) -> int | None:
    return int(folder_name) if folder_name.isdigit() and len(folder_name) < 19 else None


def reports_import(*, sources: list[Any], unit: Unit, actor: object, origin: str = ReportSource.IMPORT,
                   on_result: Callable[[Any, int | None | Exception], None], workers: int | None = None,
                   batch: int = BATCH) -> None:
    """Import every source; `on_result(source, outcome)` for each in order: the new id,
    None (imported before) or the problem (ImportProblem, OSError, ...)."""
    from himaya.intake.bulk import report_import

    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    for start in range(0, len(sources), batch * 8):
        chunk = sources[start:start + batch * 8]
        now = timezone.now()
        plain: list[tuple[Any, bytes]] = []
        for source in chunk:
            if source.files:
                continue
            try:
                plain.append((source, source.read_report()))
            except Exception as exc:  # unreadable: reported like any other problem
                plain.append((source, exc))  # type: ignore[arg-type]
        readable = [(s, r) for s, r in plain if isinstance(r, bytes)]
        outcomes: dict[int, int | None | Exception] = {id(s): r for s, r in plain if not isinstance(r, bytes)}  # type: ignore[misc]
        pending: list[tuple[Any, Prepared]] = []

        def flush() -> None:
            try:
                written = _write(pending, unit=unit, actor=actor, origin=origin, now=now)
            except IntegrityError:
                # A concurrent import of the same package won a race: one at a time decides.
                for source, _ in pending:
                    outcomes[id(source)] = _single(report_import, source, unit=unit, actor=actor, origin=origin)
            else:
                for i, (source, _) in enumerate(pending):
                    outcomes[id(source)] = written[i]
            pending.clear()

        for (source, _), prepared in zip(readable, _prepared([r for _, r in readable], now=now, workers=workers)):
            if isinstance(prepared, Exception):
                outcomes[id(source)] = prepared
                continue
            pending.append((source, prepared))
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
        for source in chunk:
            if source.files:
                outcomes[id(source)] = _single(report_import, source, unit=unit, actor=actor, origin=origin)
            on_result(source, outcomes[id(source)])


def _single(report_import: Callable[..., int | None], source: Any, **kwargs: Any) -> int | None | Exception:
    try:
        return report_import(source=source, **kwargs)
    except Exception as exc:
        return exc
