"""Triage of every stored report from scratch, in bulk. The same facts and rules
as `report_triage`, loaded a chunk at a time; people's overrides and reviews are
kept. Written beside the old table and swapped in at the end (PostgreSQL;
bulkwrite.rebuilt_tables): the queue is read as it was until then. Media statuses are read through the media selector per file only when the
media capability says it has any (`file_media_summary` is a stub before that)."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from himaya.audit.services import audit_record
from himaya.linking.bulkwrite import analyze, rebuild_begin, rebuild_clear, rebuilt_tables, swap_in
from himaya.linking.models import IdentifierEntry, ReportLinkage
from himaya.linking.parallel import map_chunks, workers_for
from himaya.reports.models import IncidentDetail, Party, Report, ReportFile, ReportStatus
from himaya.triage.models import ReportTriage
from himaya.triage.rules import evaluate
from himaya.triage.services import due_for, facts_from, file_facts, ruleset_active

CHUNK = 5000
COLUMNS = ("report_id", "unit_id", "received_at", "priority", "score", "reasons", "classification", "ruleset_version", "computed_at", "effective_priority", "due_at",
           "override_priority", "override_classification", "override_reason", "override_by_id", "override_at", "reviewed_at", "reviewed_by_id")
KEEP = ("override_priority", "override_classification", "override_reason", "override_by_id", "override_at", "reviewed_at", "reviewed_by_id")


def _statuses(blob_ids: list[str]) -> dict[str, str]:
    """Media verdicts of many stored contents in one query (the media capability's
    table; the per-file selector would be one query per file)."""
    if not blob_ids:
        return {}
    try:
        from himaya.media.models import MediaState
    except ImportError:
        return {}
    return dict(MediaState.objects.filter(blob_id__in=blob_ids).values_list("blob_id", "status"))


_CONTEXT: dict[str, Any] = {}  # reaches the workers through fork


class _ReportRow(NamedTuple):
    """The fields of a report the facts need (rows, not model instances: building a
    million instances cost the workers more than the rules)."""

    id: int
    unit_id: int
    incident_type: str
    escalation: str
    annotations: list[str]
    batched_reason: str
    document: dict[str, Any]
    incident_at: datetime | None
    finished_at: datetime | None
    opened_at: datetime


class _FileRow(NamedTuple):
    report_id: int
    blob_id: str | None
    annotations: list[str]
    details_document: dict[str, Any] | None
    publicly_available: bool | None


class _LinkageRow(NamedTuple):
    report_id: int
    unit_cluster_id: int
    decision: str
    country: str
    previously_reported: list[dict[str, Any]]


def _triage_chunk(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    """The ReportTriage rows of one chunk of report ids (run in a worker)."""
    ctx = _CONTEXT
    now, kept, cluster_sizes = ctx["now"], ctx["kept"], ctx["cluster_sizes"]
    in_chunk = {"report_id__gte": bounds[0], "report_id__lte": bounds[1]}
    reports = [_ReportRow(*r) for r in Report.objects.filter(id__range=bounds, status=ReportStatus.FINISHED).order_by("id").values_list(*_ReportRow._fields)]
    rfs = [_FileRow(*r) for r in ReportFile.objects.filter(**in_chunk).order_by("report_id", "position").values_list(*_FileRow._fields)]
    statuses = _statuses([f.blob_id for f in rfs if f.blob_id]) if ctx["media_status"] else {}
    files = defaultdict(list)
    for f in rfs:
        files[f.report_id].append(file_facts(f, statuses.get(f.blob_id, "pending")))  # type: ignore[arg-type]
    parties = defaultdict(list)
    for rid, role, age in Party.objects.filter(**in_chunk).values_list("report_id", "role", "age"):
        parties[rid].append((role, age))
    incidents = defaultdict(list)
    for rid, kind, content, info in IncidentDetail.objects.filter(**in_chunk).values_list("report_id", "kind", "content", "additional_info"):
        incidents[rid].append((kind, content, info))
    linkages = {r[0]: _LinkageRow(*r) for r in ReportLinkage.objects.filter(**in_chunk).values_list(*_LinkageRow._fields)}
    actionable = dict(IdentifierEntry.objects.filter(**in_chunk, role__in=("reported", "associated"), weak="")
                      .values_list("report_id").annotate(n=Count("id")).values_list("report_id", "n"))
    rows = []
    for report in reports:
        lk = linkages.get(report.id)
        facts = facts_from(report, files=files[report.id], parties=parties[report.id], incidents=incidents[report.id], linkage=lk,  # type: ignore[arg-type]
                           cluster_size=cluster_sizes.get(lk.unit_cluster_id, 1) if lk else 1, actionable=actionable.get(report.id, 0), now=now)
        v = evaluate(facts, ctx["ruleset"])
        keep = kept.get(report.id, {})
        effective = keep.get("override_priority") or v.priority
        rows.append((report.id, report.unit_id, report.finished_at or report.opened_at, v.priority, v.score, [r.as_dict() for r in v.reasons], v.classification,
                     ctx["version"], now, effective, due_for(report, effective, ctx["targets"]), keep.get("override_priority") or "",  # type: ignore[arg-type]
                     keep.get("override_classification"), keep.get("override_reason") or "", keep.get("override_by_id"), keep.get("override_at"),
                     keep.get("reviewed_at"), keep.get("reviewed_by_id")))
    return rows


def triage_rebuild(*, progress: Callable[[str, int], None] | None = None, media_status: bool = True) -> dict[str, int]:
    say = progress or (lambda stage, n: None)
    version, ruleset = ruleset_active()
    now = timezone.now()
    tiers: Counter[str] = Counter()
    with rebuilt_tables(ReportTriage) as tables, transaction.atomic():
        rebuild_begin(tables)  # from here, overrides and reviews wait for the new table: none is lost
        kept = {row[0]: dict(zip(KEEP, row[1:])) for row in ReportTriage.objects.exclude(override_priority="", override_classification=None, reviewed_at=None)
                .values_list("report_id", *KEEP)}
        rebuild_clear(tables)
        ids = list(Report.objects.filter(status=ReportStatus.FINISHED).order_by("id").values_list("id", flat=True))
        _CONTEXT.clear()
        _CONTEXT.update(now=now, kept=kept, version=version, ruleset=ruleset, targets=ruleset.get("service_targets") or {}, media_status=media_status,
                        cluster_sizes=Counter(ReportLinkage.objects.values_list("unit_cluster_id", flat=True).iterator(chunk_size=20000)))
        done = 0
        try:
            chunks = [(ids[i], ids[min(i + CHUNK, len(ids)) - 1]) for i in range(0, len(ids), CHUNK)]
            for rows in map_chunks(_triage_chunk, chunks, workers=workers_for(len(ids))):
                tables.write(ReportTriage, COLUMNS, rows)
                tiers.update(r[9] for r in rows)
                done += len(rows)
                say("triage", done)
        finally:
            _CONTEXT.clear()
        swap_in(tables)
        say("indexed", done)
        audit_record(actor=None, action="triage.rebuilt", data={"reports": done, "ruleset": version, "tiers": dict(tiers)})
    say("committed", done)
    analyze(ReportTriage)
    return {"reports": done, **{k: tiers[k] for k in ("P1", "P2", "P3", "P4")}}
