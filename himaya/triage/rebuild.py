"""Triage of every stored report from scratch, in bulk. The same facts and rules
as `report_triage`, loaded a chunk at a time; people's overrides and reviews are
kept. Media statuses are read through the media selector per file only when the
media capability says it has any (`file_media_summary` is a stub before that)."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from himaya.audit.services import audit_record
from himaya.linking.bulkwrite import analyze, write_rows
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


def _triage_chunk(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    """The ReportTriage rows of one chunk of report ids (run in a worker)."""
    ctx = _CONTEXT
    now, kept, cluster_sizes = ctx["now"], ctx["kept"], ctx["cluster_sizes"]
    reports = list(Report.objects.filter(id__range=bounds, status=ReportStatus.FINISHED).order_by("id").only(
        "id", "unit_id", "incident_type", "escalation", "annotations", "batched_reason", "document", "incident_at", "finished_at", "opened_at"))
    files = defaultdict(list)
    rfs = list(ReportFile.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).order_by("report_id", "position").only(
        "id", "report_id", "blob_id", "annotations", "details_document", "publicly_available", "sha256", "file_id"))
    statuses = _statuses([f.blob_id for f in rfs if f.blob_id]) if ctx["media_status"] else {}
    for f in rfs:
        files[f.report_id].append(file_facts(f, statuses.get(f.blob_id, "pending")))
    parties = defaultdict(list)
    for rid, role, age in Party.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).values_list("report_id", "role", "age"):
        parties[rid].append((role, age))
    incidents = defaultdict(list)
    for rid, kind, content, info in IncidentDetail.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).values_list("report_id", "kind", "content", "additional_info"):
        incidents[rid].append((kind, content, info))
    linkages = {lk.report_id: lk for lk in ReportLinkage.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).only(
        "report_id", "unit_cluster_id", "decision", "country", "previously_reported")}
    actionable = dict(IdentifierEntry.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1], role__in=("reported", "associated"), weak="")
                      .values_list("report_id").annotate(n=Count("id")).values_list("report_id", "n"))
    rows = []
    for report in reports:
        lk = linkages.get(report.id)
        facts = facts_from(report, files=files[report.id], parties=parties[report.id], incidents=incidents[report.id], linkage=lk,
                           cluster_size=cluster_sizes.get(lk.unit_cluster_id, 1) if lk else 1, actionable=actionable.get(report.id, 0), now=now)
        v = evaluate(facts, ctx["ruleset"])
        keep = kept.get(report.id, {})
        effective = keep.get("override_priority") or v.priority
        rows.append((report.id, report.unit_id, report.finished_at or report.opened_at, v.priority, v.score, [r.as_dict() for r in v.reasons], v.classification,
                     ctx["version"], now, effective, due_for(report, effective, ctx["targets"]), keep.get("override_priority") or "",
                     keep.get("override_classification"), keep.get("override_reason") or "", keep.get("override_by_id"), keep.get("override_at"),
                     keep.get("reviewed_at"), keep.get("reviewed_by_id")))
    return rows


def triage_rebuild(*, progress: Callable[[str, int], None] | None = None, media_status: bool = True) -> dict[str, int]:
    say = progress or (lambda stage, n: None)
    version, ruleset = ruleset_active()
    now = timezone.now()
    tiers: Counter[str] = Counter()
    with transaction.atomic():
        kept = {row[0]: dict(zip(KEEP, row[1:])) for row in ReportTriage.objects.exclude(override_priority="", override_classification=None, reviewed_at=None)
                .values_list("report_id", *KEEP)}
        ReportTriage.objects.all()._raw_delete(ReportTriage.objects.db)
        ids = list(Report.objects.filter(status=ReportStatus.FINISHED).order_by("id").values_list("id", flat=True))
        _CONTEXT.clear()
        _CONTEXT.update(now=now, kept=kept, version=version, ruleset=ruleset, targets=ruleset.get("service_targets") or {}, media_status=media_status,
                        cluster_sizes=Counter(ReportLinkage.objects.values_list("unit_cluster_id", flat=True).iterator(chunk_size=20000)))
        done = 0
        try:
            chunks = [(ids[i], ids[min(i + CHUNK, len(ids)) - 1]) for i in range(0, len(ids), CHUNK)]
            for rows in map_chunks(_triage_chunk, chunks, workers=workers_for(len(ids))):
                write_rows(ReportTriage, COLUMNS, rows)
                tiers.update(r[9] for r in rows)
                done += len(rows)
                say("triage", done)
        finally:
            _CONTEXT.clear()
        audit_record(actor=None, action="triage.rebuilt", data={"reports": done, "ruleset": version, "tiers": dict(tiers)})
    say("committed", done)
    analyze(ReportTriage)
    return {"reports": done, **{k: tiers[k] for k in ("P1", "P2", "P3", "P4")}}
