"""Writes of triage: compute a report's tier, override it, review it, and
publish a new rule set (SPEC §3.5). Rules themselves are pure (rules.py); this
module gathers the facts from the database and stores the verdict."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from himaya.accounts.permissions import Action, Kind, check, get_for, restrict
from himaya.linking.models import IdentifierEntry, ReportLinkage
from himaya.linking.services import LinkResult, ReportRows, report_load
from himaya.reports.models import IncidentDetail, Party, Report, ReportFile, ReportStatus
from himaya.triage import events
from himaya.triage.defaults import DEFAULT_RULESET
from himaya.triage.models import ReportTriage, RuleSet, TriageOverride
from himaya.triage.rules import TIERS, Facts, FileFacts, evaluate

_ruleset_cache: dict[str, Any] = {"version": None, "data": None}


def ruleset_active() -> tuple[int, dict[str, Any]]:
    """(version, data) of the newest rule set; the built-in defaults before the migration ran."""
    version = RuleSet.objects.aggregate(v=Max("version"))["v"]
    if version is None:
        return 0, DEFAULT_RULESET
    if _ruleset_cache["version"] != version:
        rs = RuleSet.objects.get(version=version)
        _ruleset_cache.update(version=version, data=rs.as_data())
    return version, _ruleset_cache["data"]  # type: ignore[return-value]


def _has_exif(details: Any) -> bool:
    if not isinstance(details, dict):
        return False
    for c in details.get("c", []):
        if c.get("t") == "details" and (c.get("a") or {}).get("type", "").upper() == "EXIF":
            return True
    return False


def _doc_texts(document: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for c in (document or {}).get("c", []):
        if c.get("t") == "additionalInfo" and c.get("x"):
            out.append(("additionalInfo", c["x"]))
    return out


def facts_from(
    report: Report, *, files: list[FileFacts], parties: list[tuple[str, int | None]], incidents: list[tuple[str, str, str]],
    linkage: ReportLinkage | None, cluster_size: int, actionable: int, now: datetime,
) -> Facts:
    """Facts from rows already loaded (one report at a time or in bulk)."""
    texts: list[tuple[str, str]] = []
    if report.escalation:
        texts.append(("escalateToHighPriority", report.escalation))
    for kind, content, info in incidents:
        if content:
            texts.append((f"{kind}/content", content))
        if info:
            texts.append((f"{kind}/additionalInfo", info))
    texts += _doc_texts(report.document)
    moment = report.incident_at or report.finished_at or report.opened_at
    return Facts(
        incident_type=report.incident_type, escalation=report.escalation, annotations=list(report.annotations or []),
        batched_reason=report.batched_reason, files=files,
        victim_ages=[a for r, a in parties if r == "victim" and a is not None],
        recipient_ages=[a for r, a in parties if r == "recipient" and a is not None],
        has_victim_or_recipient=any(r in ("victim", "recipient") for r, _ in parties),
        texts=texts, cluster_size=cluster_size,
        previously_reported=len(linkage.previously_reported) if linkage else 0,
        age_days=(now - moment).total_seconds() / 86400 if moment else None,
        jurisdiction=linkage.decision if linkage else "unknown", jurisdiction_country=linkage.country if linkage else "",
        actionable_identifiers=actionable,
    )


def file_facts(f: ReportFile, status: str) -> FileFacts:
    return FileFacts(annotations=list(f.annotations or []), status=status or "pending", exif=_has_exif(f.details_document),
                     publicly_available=f.publicly_available)


ACTIONABLE_ROLES = ("reported", "associated")


def report_facts(report: Report, *, now: datetime | None = None) -> Facts:
    from himaya.media.selectors import file_media_summary

    linkage = ReportLinkage.objects.filter(report=report).first()
    return facts_from(
        report,
        files=[file_facts(f, file_media_summary(f).get("status")) for f in ReportFile.objects.filter(report=report).defer("details_raw").order_by("position")],
        parties=list(Party.objects.filter(report=report).values_list("role", "age")),
        incidents=list(IncidentDetail.objects.filter(report=report).values_list("kind", "content", "additional_info")),
        linkage=linkage,
        cluster_size=ReportLinkage.objects.filter(unit_cluster_id=linkage.unit_cluster_id).count() if linkage else 1,
        actionable=IdentifierEntry.objects.filter(report=report, role__in=ACTIONABLE_ROLES, weak="").count(),
        now=now or timezone.now(),
    )


def due_for(report: Report, tier: str, targets: dict[str, Any]) -> datetime:
    start = report.finished_at or report.opened_at
    return start + timedelta(minutes=int(targets.get(tier, 7 * 24 * 60)))


@transaction.atomic
def report_triage(*, report_id: int, now: datetime | None = None) -> ReportTriage:
    """(Re)compute one report's tier. An override stays in force; the computed
    tier beneath it is still updated and shown."""
    now = now or timezone.now()
    report = report_load(report_id)
    version, ruleset = ruleset_active()
    return _verdict_store(report, report_facts(report, now=now), version=version, ruleset=ruleset, now=now)


def _verdict_store(report: Report, facts: Facts, *, version: int, ruleset: dict[str, Any], now: datetime) -> ReportTriage:
    verdict = evaluate(facts, ruleset)
    current = ReportTriage.objects.select_for_update().filter(report=report).first()
    effective = (current.override_priority if current and current.override_priority else "") or verdict.priority
    fields = dict(
        unit_id=report.unit_id, received_at=report.finished_at or report.opened_at, priority=verdict.priority, score=verdict.score, reasons=[r.as_dict() for r in verdict.reasons],
        classification=verdict.classification, ruleset_version=version, computed_at=now,
        effective_priority=effective, due_at=due_for(report, effective, ruleset.get("service_targets") or {}),
    )
    if current is None:
        triage = ReportTriage.objects.create(report=report, **fields)
    else:
        before = current.effective_priority
        for k, v in fields.items():
            setattr(current, k, v)
        current.save()
        triage = current
        if before != effective:
            events.priority_changed_event(report=report, before=before, after=effective, ruleset=version)
    return triage


@dataclass
class Processed:
    link: LinkResult
    triage: ReportTriage
    ruleset: dict[str, Any]  # the rule set it was triaged with


@transaction.atomic
def report_triage_linked(*, rows: ReportRows, link: LinkResult) -> Processed:
    """Triage one report just linked, from the rows linking read and what it found (the
    linkage, the cluster size, the actionable identifiers), so nothing is read back or
    decrypted twice. Joins the caller's transaction (the enrichment flow links and
    triages a report in one)."""
    from himaya.media.selectors import file_media_summary

    incidents = list(IncidentDetail.objects.filter(report=rows.report).values_list("kind", "content", "additional_info"))
    version, ruleset = ruleset_active()
    now = timezone.now()
    facts = facts_from(
        rows.report,
        files=[file_facts(f, file_media_summary(f).get("status")) for f in rows.files],
        parties=[(role, age) for _, role, _, _, age in rows.parties],
        incidents=incidents, linkage=link.linkage, cluster_size=link.unit_cluster_size,
        actionable=sum(1 for e in link.entries if e.role in ACTIONABLE_ROLES and not e.weak), now=now,
    )
    return Processed(link, _verdict_store(rows.report, facts, version=version, ruleset=ruleset, now=now), ruleset)


@transaction.atomic(savepoint=False)
def reports_triage_linked(*, rows: list[ReportRows], links: dict[int, LinkResult]) -> dict[int, Processed]:
    """`report_triage_linked` of many reports linked together (`linking.arrivals`): their
    incident details read in one statement, the new verdicts written in one, and
    `reports_triaged` sent for the batch (bulk writes send no post_save). A report that
    has a verdict already (an override, say) is stored as one report would be. Joins the
    caller's transaction."""
    from collections import defaultdict

    from himaya.linking.arrivals import rows_insert
    from himaya.media.selectors import file_media_summary, files_media_summaries
    from himaya.triage.signals import reports_triaged

    ids = [r.report.id for r in rows]
    files_media_summaries([f for r in rows for f in r.files])
    incidents: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for rid, kind, content, info in (IncidentDetail.objects.filter(report_id__in=ids).order_by("id")
                                     .values_list("report_id", "kind", "content", "additional_info")):
        incidents[rid].append((kind, content, info))
    version, ruleset = ruleset_active()
    now = timezone.now()
    current = set(ReportTriage.objects.filter(report_id__in=ids).values_list("report_id", flat=True))
    targets = ruleset.get("service_targets") or {}
    out: dict[int, Processed] = {}
    new: list[ReportTriage] = []
    for r in rows:
        report, link = r.report, links[r.report.id]
        facts = facts_from(
            report, files=[file_facts(f, file_media_summary(f).get("status")) for f in r.files],
            parties=[(role, age) for _, role, _, _, age in r.parties], incidents=incidents[report.id], linkage=link.linkage,
            cluster_size=link.unit_cluster_size, actionable=sum(1 for e in link.entries if e.role in ACTIONABLE_ROLES and not e.weak), now=now,
        )
        if report.id in current:
            out[report.id] = Processed(link, _verdict_store(report, facts, version=version, ruleset=ruleset, now=now), ruleset)
            continue
        verdict = evaluate(facts, ruleset)
        triage = ReportTriage(
            report=report, unit_id=report.unit_id, received_at=report.finished_at or report.opened_at, priority=verdict.priority,
            score=verdict.score, reasons=[x.as_dict() for x in verdict.reasons], classification=verdict.classification,
            ruleset_version=version, computed_at=now, effective_priority=verdict.priority,
            due_at=due_for(report, verdict.priority, targets),
        )
        new.append(triage)
        out[report.id] = Processed(link, triage, ruleset)
    columns = ("report_id", "unit_id", "received_at", "priority", "score", "reasons", "classification", "ruleset_version", "computed_at",
               "effective_priority", "due_at", "override_priority", "override_reason")
    rows_insert(ReportTriage, columns, [tuple(getattr(t, c) for c in columns) for t in new])
    for t in new:
        t._state.adding = False
    reports_triaged.send(sender=ReportTriage, report_ids=ids)
    return out


@transaction.atomic(savepoint=False)
def reports_triage(*, report_ids: list[int], now: datetime | None = None) -> dict[int, ReportTriage]:
    """`report_triage` of many reports (the members of clusters that grew, sent back to
    triage together): their facts read set-wise (reports, files and their media, parties,
    incidents, linkages, cluster sizes and actionable identifiers: one statement each),
    the verdicts that changed written in one statement on PostgreSQL, `reports_triaged`
    sent for the batch, and a tier the rules moved recorded as one report's would be.
    Joins the caller's transaction."""
    from collections import defaultdict

    from django.db import connection
    from django.db.models import Count

    from himaya.media.selectors import file_media_summary, files_media_summaries
    from himaya.triage.signals import reports_triaged

    now = now or timezone.now()
    ids = sorted({int(i) for i in report_ids})
    reports = {r.id: r for r in Report.objects.defer("raw_xml").filter(id__in=ids)}
    ids = [i for i in ids if i in reports]
    if not ids:
        return {}
    files: dict[int, list[ReportFile]] = defaultdict(list)
    for f in ReportFile.objects.filter(report_id__in=ids).defer("details_raw").order_by("report_id", "position"):
        files[f.report_id].append(f)
    files_media_summaries([f for fs in files.values() for f in fs])
    parties: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for rid, role, age in Party.objects.filter(report_id__in=ids).order_by("id").values_list("report_id", "role", "age"):
        parties[rid].append((role, age))
    incidents: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for rid, kind, content, info in (IncidentDetail.objects.filter(report_id__in=ids).order_by("id")
                                     .values_list("report_id", "kind", "content", "additional_info")):
        incidents[rid].append((kind, content, info))
    linkages = {lk.report_id: lk for lk in ReportLinkage.objects.filter(report_id__in=ids)}
    sizes = dict(ReportLinkage.objects.filter(unit_cluster_id__in={lk.unit_cluster_id for lk in linkages.values()})
                 .values_list("unit_cluster_id").annotate(n=Count("report_id")).values_list("unit_cluster_id", "n"))
    actionable = dict(IdentifierEntry.objects.filter(report_id__in=ids, role__in=ACTIONABLE_ROLES, weak="")
                      .values_list("report_id").annotate(n=Count("id")).values_list("report_id", "n"))
    current = {t.report_id: t for t in ReportTriage.objects.select_for_update().filter(report_id__in=ids)}
    version, ruleset = ruleset_active()
    targets = ruleset.get("service_targets") or {}
    out: dict[int, ReportTriage] = {}
    changed: list[ReportTriage] = []
    for rid in ids:
        report, linkage = reports[rid], linkages.get(rid)
        facts = facts_from(
            report, files=[file_facts(f, file_media_summary(f).get("status")) for f in files[rid]], parties=parties[rid],
            incidents=incidents[rid], linkage=linkage, cluster_size=sizes.get(linkage.unit_cluster_id, 1) if linkage else 1,
            actionable=actionable.get(rid, 0), now=now,
        )
        verdict = evaluate(facts, ruleset)
        triage = current.get(rid)
        if triage is None:
            out[rid] = _verdict_store(report, facts, version=version, ruleset=ruleset, now=now)
            continue
        before = triage.effective_priority
        effective = triage.override_priority or verdict.priority
        triage.unit_id, triage.received_at = report.unit_id, report.finished_at or report.opened_at
        triage.priority, triage.score, triage.reasons = verdict.priority, verdict.score, [x.as_dict() for x in verdict.reasons]
        triage.classification, triage.ruleset_version, triage.computed_at = verdict.classification, version, now
        triage.effective_priority, triage.due_at = effective, due_for(report, effective, targets)
        changed.append(triage)
        out[rid] = triage
        if before != effective:
            events.priority_changed_event(report=report, before=before, after=effective, ruleset=version)
    _verdicts_update(changed, connection.vendor)
    reports_triaged.send(sender=ReportTriage, report_ids=ids)
    return out


_VERDICT_FIELDS = ("unit_id", "received_at", "priority", "score", "reasons", "classification", "ruleset_version", "computed_at",
                   "effective_priority", "due_at")


def _verdicts_update(rows: list[ReportTriage], vendor: str) -> None:
    """Write these verdicts (the fields `_verdict_store` writes): on PostgreSQL one UPDATE
    … FROM json_to_recordset for all of them, each value prepared by its model field."""
    if not rows:
        return
    if vendor != "postgresql":
        for t in rows:
            ReportTriage.objects.filter(report_id=t.report_id).update(**{f: getattr(t, f) for f in _VERDICT_FIELDS})
        return
    import json

    from django.db import connection

    meta = ReportTriage._meta
    fields = [meta.get_field(f) for f in _VERDICT_FIELDS]
    data = []
    for t in rows:
        item: dict[str, Any] = {"report_id": t.report_id}
        for f in fields:
            value = getattr(t, f.attname)
            if f.get_internal_type() == "JSONField":
                item[f.column] = value
            elif isinstance(value, datetime):
                item[f.column] = value.isoformat()
            else:
                item[f.column] = value
        data.append(item)
    qn = connection.ops.quote_name
    types = {"unit_id": "bigint", "received_at": "timestamptz", "priority": "varchar", "score": "integer", "reasons": "jsonb",
             "classification": "jsonb", "ruleset_version": "integer", "computed_at": "timestamptz", "effective_priority": "varchar",
             "due_at": "timestamptz"}
    cols = [f.column for f in fields]
    record = ", ".join(["report_id bigint", *(f"{qn(c)} {types[c]}" for c in cols)])
    sets = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in cols)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {qn(meta.db_table)} AS t SET {sets} FROM json_to_recordset(%s::json) AS v({record}) "
                    f"WHERE t.report_id = v.report_id", [json.dumps(data, default=str)])


def cluster_growth_weight_changes(*, clusters_joined: int, unit_sizes: dict[Any, tuple[int, int]], ruleset: dict[str, Any]) -> bool:
    """`cluster_growth_matters` for a cluster that a batch of arrivals made bigger:
    whether its members of before must be triaged again — clusters were joined (or it
    was renamed), or some unit's size moved the capped repeat-reporting weight.
    `unit_sizes`: per unit, its reports in the cluster before and after."""
    if clusters_joined > 1:
        return True
    spec = next((r for r in ruleset.get("rules", []) if r["rule"] == "repeat_reporting"), None)
    if spec is None or spec.get("enabled") is False:
        return False
    params = spec.get("params") or {}
    per, cap = int(spec.get("weight", 3)), int(params.get("cap", 20))
    return any(min(cap, per * (before - 1)) != min(cap, per * (after - 1)) for before, after in unit_sizes.values() if after != before)


def cluster_growth_matters(result: LinkResult, *, ruleset: dict[str, Any]) -> bool:
    """Whether the other members' scores can change when a report joined their cluster:
    another cluster was folded in, or the cluster is still small enough for its size to
    change the repeat-reporting weight (it is capped). Beyond that, growth changes nothing
    but the count in the evidence, which the panel shows live anyway."""
    joined = len(result.merged_clusters) > 1 or result.merged_clusters != [result.report_id]
    # The weight counts the reports of the report's own unit in the cluster.
    size = result.unit_cluster_size
    return cluster_growth_weight_changes(clusters_joined=2 if joined else 1, unit_sizes={None: (size - 1, size)}, ruleset=ruleset)


@transaction.atomic
def report_triage_override(*, report_id: int, actor: Any, reason: str, priority: str = "", classification: dict[str, Any] | None = None) -> ReportTriage:
    """A person's tier or classification for a report of their unit (404 for another
    unit's, 403 for a role that may not change triage: the one table)."""
    triage = get_for(ReportTriage.objects.select_for_update().select_related("report"), actor, Action.CHANGE, report_id=report_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("an override needs a reason")
    if priority and priority not in TIERS:
        raise ValueError("unknown priority")
    now = timezone.now()
    before_p, before_c = triage.effective_priority, triage.override_classification or triage.classification
    if priority:
        triage.override_priority = priority
        triage.effective_priority = priority
        _, ruleset = ruleset_active()
        triage.due_at = due_for(triage.report, priority, ruleset.get("service_targets") or {})
    if classification is not None:
        triage.override_classification = classification
    triage.override_reason, triage.override_by, triage.override_at = reason, actor, now
    triage.save()
    TriageOverride.objects.create(
        report_id=report_id, actor=actor, at=now, priority_before=before_p, priority_after=triage.effective_priority,
        classification_before=before_c if classification is not None else None, classification_after=classification, reason=reason,
    )
    events.triage_overridden_event(actor=actor, report=triage.report, before=before_p, after=triage.effective_priority,
                                   classification=classification, reason=reason)
    return triage


@transaction.atomic
def report_triage_review(*, report_ids: list[int], actor: Any) -> int:
    """Marks reports as reviewed (the service target is met): those of the actor's
    unit; 403 for a role that may not change triage."""
    check(actor, Action.CHANGE, Kind.TRIAGE)
    now = timezone.now()
    rows = list(restrict(ReportTriage.objects.select_for_update().select_related("report"), actor, Action.CHANGE)
                .filter(report_id__in=report_ids, reviewed_at__isnull=True))
    for t in rows:
        t.reviewed_at, t.reviewed_by = now, actor
        t.save(update_fields=["reviewed_at", "reviewed_by"])
        events.triage_reviewed_event(actor=actor, report=t.report, priority=t.effective_priority, late=t.due_at < now)
    return len(rows)


@transaction.atomic
def ruleset_publish(*, actor: Any, data: dict[str, Any], note: str = "") -> RuleSet:
    """A new version; open reports are re-triaged in the background. The rule set
    is national: only a supervisor of the national unit (or the operator) publishes one."""
    from himaya.triage.validation import ruleset_validate

    check(actor, Action.MANAGE, Kind.RULE_SET)
    clean = ruleset_validate(data)
    version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    rs = RuleSet.objects.create(version=version, note=note, created_by=str(getattr(actor, "username", actor) or "system"), **clean)
    events.ruleset_published_event(actor=actor, ruleset=rs, note=note)
    from himaya.triage.tasks import enqueue_retriage_open

    transaction.on_commit(lambda: enqueue_retriage_open(version))
    return rs


def open_report_ids() -> list[int]:
    return list(Report.objects.filter(status=ReportStatus.FINISHED, closed_at__isnull=True).values_list("id", flat=True))


def retriage_open(*, version: int | None = None) -> int:
    """Re-triage every open report not yet on `version` (idempotent, resumable)."""
    count = 0
    qs = Report.objects.filter(status=ReportStatus.FINISHED, closed_at__isnull=True)
    if version is not None:
        qs = qs.exclude(triage__ruleset_version__gte=version)
    for report_id in qs.values_list("id", flat=True).iterator(chunk_size=2000):
        report_triage(report_id=report_id)
        count += 1
    return count
