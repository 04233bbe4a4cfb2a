"""Triage of every stored report from scratch, in bulk. The same facts and rules
as `report_triage`, loaded a chunk at a time; people's overrides and reviews are
kept. Written beside the old table and swapped in at the end (PostgreSQL;
bulkwrite.rebuilt_tables): the queue is read as it was until then. Media statuses are read through the media selector per file only when the
media capability says it has any (`file_media_summary` is a stub before that)."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Count, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from himaya.linking.bulkwrite import analyze, copy_json, copy_nullable, copy_text, rebuild_begin, rebuild_clear, rebuilt_tables, swap_in
from himaya.linking.models import IdentifierEntry, ReportLinkage
from himaya.linking.parallel import map_chunks, workers_for
from himaya.linking.rebuild import ClusterFacts, LinkedReport, linking_rebuild
from himaya.reports.models import IncidentDetail, Party, Report, ReportFile, ReportStatus
from himaya.triage.events import triage_rebuilt_event
from himaya.triage.models import ReportTriage
from himaya.triage.rules import Facts, FileFacts, Partial, Verdict, evaluate, evaluate_finish, evaluate_partial_packed
from himaya.triage.services import ACTIONABLE_ROLES, due_for, facts_from, file_facts, ruleset_active

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


class _Setting(NamedTuple):
    """What every report's triage in one rebuild shares (reaches the workers through fork)."""

    now: datetime
    kept: dict[int, dict[str, Any]]  # people's overrides and reviews, by report
    version: int
    ruleset: dict[str, Any]
    media_status: bool

    @property
    def targets(self) -> dict[str, Any]:
        return self.ruleset.get("service_targets") or {}


def _setting(*, media_status: bool) -> _Setting:
    """Read in the rebuild's transaction, once the table takes no more writes."""
    version, ruleset = ruleset_active()
    kept = {row[0]: dict(zip(KEEP, row[1:])) for row in ReportTriage.objects.exclude(override_priority="", override_classification=None, reviewed_at=None)
            .values_list("report_id", *KEEP)}
    return _Setting(timezone.now(), kept, version, ruleset, media_status)


# The report's times are read as text and parsed by datetime.fromisoformat: Django's
# loader of timestamptz values is pure Python, and a million reports' three times
# cost a rebuild's workers about 18 CPU-seconds through it.
_TIMES = ("incident_at", "finished_at", "opened_at")
assert _ReportRow._fields[6:] == ("document", *_TIMES)  # (_read builds the rows by position)
_TEXT = "as_text_"
_TIMES_AS_TEXT = {f"{_TEXT}{f}": Cast(f, TextField()) for f in _TIMES}


def _parse_time(text: str | None) -> datetime | None:
    """The database's text of a stored time → an aware datetime: PostgreSQL's
    ("2026-11-23 10:00:00.5+00") carries its offset, SQLite's is in UTC (USE_TZ)."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


ReportFacts = tuple[_ReportRow, list[FileFacts], list[tuple[str, int | None]], list[tuple[str, str, str]]]


def _read(bounds: tuple[int, int], setting: _Setting, documents: dict[int, dict[str, Any]] | None = None) -> list[ReportFacts]:
    """The rows the facts come from, for one chunk of report ids (documents given
    when the caller has already decrypted them)."""
    in_chunk = {"report_id__gte": bounds[0], "report_id__lte": bounds[1]}
    finished = Report.objects.filter(id__range=bounds, status=ReportStatus.FINISHED).order_by("id").annotate(**_TIMES_AS_TEXT)
    fields = [f for f in _ReportRow._fields if documents is None or f != "document"]
    rows = finished.values_list(*(f"{_TEXT}{f}" if f in _TIMES else f for f in fields))
    reports = []
    for r in rows:  # (by position: _ReportRow ends with the document and the times)
        if documents is None:
            reports.append(_ReportRow(*r[:7], _parse_time(r[7]), _parse_time(r[8]), _parse_time(r[9])))
        else:
            reports.append(_ReportRow(*r[:6], documents.get(r[0]) or {}, _parse_time(r[6]), _parse_time(r[7]), _parse_time(r[8])))
    rfs = [_FileRow(*r) for r in ReportFile.objects.filter(**in_chunk).order_by("report_id", "position").values_list(*_FileRow._fields)]
    statuses = _statuses([f.blob_id for f in rfs if f.blob_id]) if setting.media_status else {}
    files = defaultdict(list)
    for f in rfs:
        files[f.report_id].append(file_facts(f, statuses.get(f.blob_id, "pending")))  # type: ignore[arg-type]
    parties = defaultdict(list)
    for rid, role, age in Party.objects.filter(**in_chunk).values_list("report_id", "role", "age"):
        parties[rid].append((role, age))
    incidents = defaultdict(list)
    for rid, kind, content, info in IncidentDetail.objects.filter(**in_chunk).values_list("report_id", "kind", "content", "additional_info"):
        incidents[rid].append((kind, content, info))
    return [(r, files[r.id], parties[r.id], incidents[r.id]) for r in reports]


class _Moment(NamedTuple):  # what due_for reads of a report
    finished_at: datetime | None
    opened_at: datetime


def _row(setting: _Setting, rid: int, unit_id: int, moment: _Moment, v: Verdict) -> tuple[Any, ...]:
    keep = setting.kept.get(rid, {})
    effective = keep.get("override_priority") or v.priority
    return (rid, unit_id, moment.finished_at or moment.opened_at, v.priority, v.score, [r.as_dict() for r in v.reasons], v.classification,
            setting.version, setting.now, effective, due_for(moment, effective, setting.targets), keep.get("override_priority") or "",  # type: ignore[arg-type]
            keep.get("override_classification"), keep.get("override_reason") or "", keep.get("override_by_id"), keep.get("override_at"),
            keep.get("reviewed_at"), keep.get("reviewed_by_id"))


def _line(row: tuple[Any, ...]) -> str:
    """A row of _row as a line of COPY text (PostgreSQL): psycopg's per-row
    formatting cost about three times as much, for a million rows."""
    (rid, unit_id, received_at, priority, score, reasons, classification, version, computed_at, effective, due_at, override_priority,
     override_classification, override_reason, override_by_id, override_at, reviewed_at, reviewed_by_id) = row
    return (f"{rid}\t{unit_id}\t{received_at.isoformat()}\t{priority}\t{score}\t{copy_json(reasons)}\t{copy_json(classification)}\t"
            f"{version}\t{computed_at.isoformat()}\t{effective}\t{due_at.isoformat()}\t{override_priority}\t{copy_json(override_classification)}\t"
            f"{copy_text(override_reason)}\t{copy_nullable(override_by_id)}\t{copy_nullable(override_at)}\t{copy_nullable(reviewed_at)}\t"
            f"{copy_nullable(reviewed_by_id)}\n")


def _triage_chunk(bounds: tuple[int, int]) -> list[tuple[Any, ...]]:
    """The ReportTriage rows of one chunk of report ids (run in a worker)."""
    setting: _Setting = _CONTEXT["setting"]
    cluster_sizes = _CONTEXT["cluster_sizes"]
    in_chunk = {"report_id__gte": bounds[0], "report_id__lte": bounds[1]}
    linkages = {r[0]: _LinkageRow(*r) for r in ReportLinkage.objects.filter(**in_chunk).values_list(*_LinkageRow._fields)}
    actionable = dict(IdentifierEntry.objects.filter(**in_chunk, role__in=ACTIONABLE_ROLES, weak="")
                      .values_list("report_id").annotate(n=Count("id")).values_list("report_id", "n"))
    rows = []
    for report, files, parties, incidents in _read(bounds, setting):
        lk = linkages.get(report.id)
        facts = facts_from(report, files=files, parties=parties, incidents=incidents, linkage=lk,  # type: ignore[arg-type]
                           cluster_size=cluster_sizes.get(lk.unit_cluster_id, 1) if lk else 1, actionable=actionable.get(report.id, 0), now=setting.now)
        rows.append(_row(setting, report.id, report.unit_id, _Moment(report.finished_at, report.opened_at), evaluate(facts, setting.ruleset)))
    return rows


class TriageAlong:
    """Triage done along the linking rebuild (linking.rebuild.Along): each report's
    own rules are evaluated when linking reads it — its document decrypted once —
    and the cluster's rules when the clusters are known. The same rows as
    `triage_rebuild` after `linking_rebuild`, in one pass."""

    models = (ReportTriage,)
    columns = COLUMNS

    def __init__(self, *, media_status: bool = True) -> None:
        self.media_status = media_status
        self.setting: _Setting | None = None
        self.tiers: Counter[str] = Counter()

    def begin(self) -> None:
        self.setting = _setting(media_status=self.media_status)

    def read(self, bounds: tuple[int, int], reports: dict[int, LinkedReport]) -> dict[int, Any]:
        setting = self.setting
        assert setting is not None
        out = {}
        for report, files, parties, incidents in _read(bounds, setting, {rid: r.document for rid, r in reports.items()}):
            linked = reports.get(report.id)
            if linked is None:  # finished after linking read the chunk: the incremental path takes it
                continue
            j = linked.jurisdiction
            actionable = sum(1 for _, _, _, role, _, weak in linked.entries if role in ACTIONABLE_ROLES and not weak)
            facts = facts_from(report, files=files, parties=parties, incidents=incidents,  # type: ignore[arg-type]
                               linkage=_LinkageRow(report.id, 0, j["decision"], j["country"] or "", []),  # type: ignore[arg-type]
                               cluster_size=1, actionable=actionable, now=setting.now)
            # Plain values only: a million of these are pickled to the parent and back. Of
            # its times only the one due_for and the row read (received), as ISO text:
            # pickling two aware datetimes cost more than the rest of the payload.
            received = report.finished_at or report.opened_at
            out[report.id] = (report.unit_id, received.isoformat(), evaluate_partial_packed(facts, setting.ruleset))
        return out

    def row(self, rid: int, payload: Any, cluster: ClusterFacts) -> tuple[Any, ...]:
        setting = self.setting
        assert setting is not None
        unit_id, received, partial = payload
        verdict = evaluate_finish(Partial.unpacked(partial), Facts(cluster_size=cluster.size, previously_reported=cluster.previously_reported), setting.ruleset)
        at = datetime.fromisoformat(received)
        row = _row(setting, rid, unit_id, _Moment(at, at), verdict)  # (finished_at or opened_at: the same moment)
        self.tiers[row[9]] += 1
        return row

    line = staticmethod(_line)

    def tally(self) -> Counter[str]:
        return self.tiers

    def finish(self, rows: int, tallies: list[Any]) -> dict[str, int]:
        setting = self.setting
        assert setting is not None
        tiers: Counter[str] = Counter()
        for t in tallies:
            tiers.update(t)
        triage_rebuilt_event(reports=rows, ruleset=setting.version, tiers=tiers)
        return {"reports": rows, **{k: tiers[k] for k in ("P1", "P2", "P3", "P4")}}


def rebuild_all(*, progress: Callable[[str, int], None] | None = None, media_status: bool = True) -> tuple[dict[str, Any], dict[str, int]]:
    """Linking and triage of every report from scratch, in one pass (`himaya linking rebuild`)."""
    out = linking_rebuild(progress=progress, along=TriageAlong(media_status=media_status))  # (its tables analysed there)
    return out, out.pop("along")


def triage_rebuild(*, progress: Callable[[str, int], None] | None = None, media_status: bool = True) -> dict[str, int]:
    say = progress or (lambda stage, n: None)
    tiers: Counter[str] = Counter()
    with rebuilt_tables(ReportTriage) as tables, transaction.atomic():
        rebuild_begin(tables)  # from here, overrides and reviews wait for the new table: none is lost
        setting = _setting(media_status=media_status)
        rebuild_clear(tables)
        ids = list(Report.objects.filter(status=ReportStatus.FINISHED).order_by("id").values_list("id", flat=True))
        _CONTEXT.clear()
        _CONTEXT.update(setting=setting, cluster_sizes=Counter(ReportLinkage.objects.values_list("unit_cluster_id", flat=True).iterator(chunk_size=20000)))
        done = 0
        try:
            chunks = [(ids[i], ids[min(i + CHUNK, len(ids)) - 1]) for i in range(0, len(ids), CHUNK)]
            for rows in map_chunks(_triage_chunk, chunks, workers=workers_for(len(ids))):
                tables.write(ReportTriage, COLUMNS, rows, line=_line)
                tiers.update(r[9] for r in rows)
                done += len(rows)
                say("triage", done)
        finally:
            _CONTEXT.clear()
        swap_in(tables)
        say("indexed", done)
        triage_rebuilt_event(reports=done, ruleset=setting.version, tiers=tiers)
    say("committed", done)
    analyze(ReportTriage)
    return {"reports": done, **{k: tiers[k] for k in ("P1", "P2", "P3", "P4")}}
