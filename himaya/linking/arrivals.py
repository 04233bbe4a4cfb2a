"""Linking of many arriving reports at once: what `services.report_rows_link` does for
one report, done for a batch of reports linked for the first time, with a fixed number
of statements per batch rather than per report (SPEC §5: arrival to queue keeps up with
intake).

The result is the one the reports would have had linked one after the other in the
order of their ids, as the incremental path and the rebuild agree on it:

* every report names its identifiers in the index, and each key's statistics count
  the batch's reports (one read and one upsert of the keys for the batch);
* a report links to the newest LINKS_PER_KEY other reports naming each of its strong
  identifiers — the reports stored before the batch, and the batch's reports with a
  smaller id (those it would have found already linked); a link between two reports of
  the batch is made once, by the later one;
* whether an identifier is too weak to link is decided with the keys' statistics after
  the whole batch is counted, as the rebuild decides it (one after the other, the links
  an earlier report of the batch made through a key a later one turned weak would be
  undone again at once); the links older reports made through keys the batch turned
  weak are undone as `services._links_drop_keys` does, and their clusters recomputed;
* clusters are joined once for the batch (a union of the batch's merging links and the
  clusters they reach), each named by the smallest report id among them.

Only reports never linked before take this path (no index entry, no linkage): a report
linked again (a changed file verdict) keeps the one-report path, which undoes what it
linked before. Pure parts are in `clusters` and `extract`; this module reads and writes.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from himaya.linking.clusters import components, link_merges, pair, separated_pairs
from himaya.linking.extract import (
    LINKS_PER_KEY, Entry, Shared, extract, identifier_strength, link_strength,
)
from himaya.linking.models import IdentifierEntry, IdentifierKey, ReportLink, ReportLinkage
from himaya.linking.services import (
    LinkResult, ReportRows, _jurisdiction, _links_drop_keys, _update_keys, _lock, _previously_reported, _rows_raw_identifiers, _unit_clusters,
    clusters_recompute, home_country,
)
from himaya.reports.models import Identifier, IpCaptureEvent, Party, Report, ReportFile


def rows_insert(model: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """New rows of one table from plain tuples (`columns` by attribute name): on PostgreSQL
    one `INSERT … SELECT … FROM json_to_recordset` (intake's writer: each value prepared by
    its field as the ORM would, the rows sent as one JSON parameter — the ORM's bulk_create
    sends arrays that psycopg dumps value by value in Python, most of a batch's cost);
    elsewhere the ORM's bulk_create."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        from himaya.intake.services import _insert_rows

        _insert_rows(model, columns, rows)
    else:
        model.objects.bulk_create([model(**dict(zip(columns, row))) for row in rows], batch_size=2000)


def reports_rows(report_ids: list[int]) -> dict[int, ReportRows]:
    """`services.report_rows` of many reports: five statements for the batch (the reports
    without their submitted XML, their parties, identifiers, proxy flags and files)."""
    ids = sorted(set(report_ids))
    reports = {r.id: r for r in Report.objects.defer("raw_xml").filter(id__in=ids)}
    parties: dict[int, list[Any]] = defaultdict(list)
    for rid, *rest in Party.objects.filter(report_id__in=ids).order_by("id").values_list("report_id", "id", "role", "platform", "parent_id", "age"):
        parties[rid].append(tuple(rest))
    identifiers: dict[int, list[Any]] = defaultdict(list)
    for rid, *rest in (Identifier.objects.filter(report_id__in=ids).order_by("id")
                       .values_list("report_id", "party_id", "file_id", "kind", "value", "qualifier", "path")):
        identifiers[rid].append(tuple(rest))
    proxies: dict[int, set[Any]] = defaultdict(set)
    for rid, fid, path in IpCaptureEvent.objects.filter(report_id__in=ids, possible_proxy=True).values_list("report_id", "file_id", "path"):
        proxies[rid].add((fid, path))
    files: dict[int, list[ReportFile]] = defaultdict(list)
    for f in ReportFile.objects.filter(report_id__in=ids).defer("details_raw").order_by("report_id", "position"):
        files[f.report_id].append(f)
    from himaya.media.selectors import files_media_summaries

    files_media_summaries([f for fs in files.values() for f in fs])  # their verdicts, asked by linking and triage: two statements
    return {rid: ReportRows(report=reports[rid], parties=parties[rid], identifiers=identifiers[rid], proxies=proxies[rid], files=files[rid])
            for rid in ids if rid in reports}


def never_linked(report_ids: list[int]) -> set[int]:
    """The reports of these that were never linked (no index entry and no linkage): the
    ones `reports_rows_link` takes."""
    ids = set(report_ids)
    linked = set(ReportLinkage.objects.filter(report_id__in=ids).values_list("report_id", flat=True))
    linked |= set(IdentifierEntry.objects.filter(report_id__in=ids).values_list("report_id", flat=True).distinct())
    return ids - linked


@dataclass
class ClusterGrowth:
    """A cluster that existed before the batch and that the batch made bigger: its
    members from before (the ones whose scores may change) and, per unit, its size in
    reports before and after."""

    cluster_id: int
    clusters_joined: int  # clusters of before that are now this one (+1 when it was renamed)
    members_before: list[int] = field(default_factory=list)
    unit_sizes: dict[int | None, tuple[int, int]] = field(default_factory=dict)


@dataclass
class BatchLinked:
    results: dict[int, LinkResult]
    growth: list[ClusterGrowth]


def _keys_update(entries_of: dict[int, list[Entry]]) -> tuple[dict[str, IdentifierKey], list[IdentifierKey]]:
    """`services._update_keys` for the whole batch, its reports counted in id order: one
    read and one upsert. Returns the keys and those that were strong before the batch and
    are weak after it (the links made through them before must go)."""
    reports_naming: dict[str, int] = defaultdict(int)
    for rid in sorted(entries_of):
        for key in {e.key for e in entries_of[rid]}:
            reports_naming[key] += 1
    return _update_keys([e for rid in sorted(entries_of) for e in entries_of[rid]], added=reports_naming)


def _sharing_many(limits: dict[str, int]) -> dict[str, list[tuple[int, str]]]:
    """key → (report id, role) of the newest `limits[key]` entries naming it not weakly,
    newest first (the batch's own entries included: the caller leaves out the ones a
    report would not have seen)."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    if not limits:
        return out
    keys = sorted(limits)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT k.key, e.report_id, e.role FROM unnest(%s::varchar[], %s::int[]) AS k(key, lim) CROSS JOIN LATERAL "
                f"(SELECT report_id, role FROM {IdentifierEntry._meta.db_table} WHERE key = k.key AND weak = '' "
                "ORDER BY report_id DESC LIMIT k.lim) AS e",
                [keys, [limits[k] for k in keys]],
            )
            rows = cur.fetchall()
        rows.sort(key=lambda row: -row[1])
    else:
        base = IdentifierEntry.objects.filter(weak="").order_by("-report_id").values_list("key", "report_id", "role")
        rows = [row for key in keys for row in base.filter(key=key)[:limits[key]]]
    for key, other_id, role in rows:
        out[key].append((other_id, role))
    return out


@transaction.atomic(savepoint=False)
def reports_rows_link(*, rows: list[ReportRows]) -> BatchLinked:
    """Link these reports, never linked before, together (see the module's text). Joins
    the caller's transaction. Returns each report's `LinkResult` and the clusters of
    before that grew."""
    order = sorted(rows, key=lambda r: r.report.id)
    if not order:
        return BatchLinked({}, [])
    batch = {r.report.id: r for r in order}
    region = home_country()
    entries_of = {rid: extract(_rows_raw_identifiers(r), region=region) for rid, r in batch.items()}
    _lock()
    now = timezone.now()
    rows_insert(IdentifierEntry, ("report_id", "kind", "key", "display", "role", "account", "weak"),
                [(rid, e.kind, e.key, e.display[:300], e.role, e.account, e.weak) for rid, es in entries_of.items() for e in es])
    keys, turned_weak = _keys_update(entries_of)
    if turned_weak:
        # Links that reports of before made through a key the batch turned weak are undone,
        # and the clusters they held together recomputed, before the batch joins any.
        split = _links_drop_keys(turned_weak, exclude_report=0)
        if split:
            clusters_recompute(cluster_ids=split)

    notes_of: dict[int, list[dict[str, Any]]] = {}
    linkable_of: dict[int, list[Entry]] = {}
    batch_entries: dict[str, int] = defaultdict(int)  # a key's strong entries in the batch
    for rid, es in entries_of.items():
        notes, linkable = [], []
        for e in es:
            if not e.weak:
                batch_entries[e.key] += 1
            weak = e.weak or keys[e.key].weak
            if weak:
                notes.append({"kind": e.kind, "value": e.display, "weak": weak, "reports": keys[e.key].reports})
            else:
                linkable.append(e)
        notes_of[rid], linkable_of[rid] = notes, linkable
    wanted = {e.key for es in linkable_of.values() for e in es}
    sharing = _sharing_many({k: LINKS_PER_KEY + batch_entries[k] for k in wanted})
    separated = separated_pairs(list(batch))

    links_of: dict[int, dict[int, dict[str, Any]]] = {}
    for rid in batch:
        shared: dict[int, list[Shared]] = defaultdict(list)
        for e in linkable_of[rid]:
            # What this report would have found linked one after the other: every report
            # of before, and the batch's reports with a smaller id.
            found = [(o, role) for o, role in sharing.get(e.key, ()) if o != rid and not (o in batch and o > rid)][:LINKS_PER_KEY]
            for other_id, other_role in found:
                if not any(s.kind == e.kind and s.display == e.display for s in shared[other_id]):
                    shared[other_id].append(Shared(e.kind, e.display, e.role, other_role))
        links: dict[int, dict[str, Any]] = {}
        for other_id, items in shared.items():
            strength = link_strength(items)
            via = [{"kind": s.kind, "value": s.display, "strength": round(identifier_strength(s), 3)} for s in items]
            links[other_id] = {"strength": strength, "merges": link_merges(strength, rid, other_id, separated), "via": via}
        links_of[rid] = links
    rows_insert(ReportLink, ("low_id", "high_id", "strength", "merges", "via", "created_at"),
                [(*pair(rid, o), link["strength"], link["merges"], link["via"], now) for rid, links in links_of.items() for o, link in links.items()])

    # Union: the batch's reports, and the clusters of before their merging links reach.
    outside = sorted({o for links in links_of.values() for o in links if o not in batch})
    cluster_of: dict[int, int] = dict(ReportLinkage.objects.filter(report_id__in=outside).values_list("report_id", "cluster_id")) if outside else {}
    unit_of: dict[int, int | None] = dict(Report.objects.filter(id__in=outside).values_list("id", "unit_id")) if outside else {}
    before_clusters = set(cluster_of.values())
    nodes: set[int] = set(batch) | before_clusters
    edges: list[tuple[int, int]] = []
    for rid, links in links_of.items():
        for o, link in links.items():
            if link["merges"]:
                # A linked report not yet linked itself is its own cluster.
                target = o if o in batch else cluster_of.get(o, o)
                nodes.add(target)
                edges.append((rid, target))
    final = components(nodes, edges)
    joined: dict[int, list[int]] = defaultdict(list)  # final cluster → clusters of before in it
    for c in sorted(before_clusters):
        joined[final[c]].append(c)
    for cid, olds in joined.items():
        renamed = [c for c in olds if c != cid]
        if renamed:
            ReportLinkage.objects.filter(cluster_id__in=renamed).update(cluster_id=cid)
    touched = sorted({final[rid] for rid in batch})
    members: dict[int, list[tuple[int, int | None, int | None]]] = defaultdict(list)
    for rid, cid, unit_id, ucid in (ReportLinkage.objects.filter(cluster_id__in=touched)
                                    .values_list("report_id", "cluster_id", "report__unit_id", "unit_cluster_id")):
        members[cid].append((rid, unit_id, ucid))
    for rid in batch:
        members[final[rid]].append((rid, batch[rid].report.unit_id, None))

    linkages: list[ReportLinkage] = []
    results: dict[int, LinkResult] = {}
    stale_all: dict[int, list[int]] = defaultdict(list)
    growth: list[ClusterGrowth] = []
    smallest_of: dict[int, dict[int | None, int]] = {}
    for cid in touched:
        smallest, stale = _unit_clusters(members[cid])
        smallest_of[cid] = smallest
        for value, rids in stale.items():
            stale_all[value] += [r for r in rids if r not in batch]
        before = [(rid, unit_id) for rid, unit_id, _ in members[cid] if rid not in batch]
        if before:
            sizes: dict[int | None, tuple[int, int]] = {}
            for unit_id in {u for _, u, _ in members[cid]}:
                sizes[unit_id] = (sum(1 for _, u in before if u == unit_id), sum(1 for _, u, _ in members[cid] if u == unit_id))
            olds = joined.get(cid, [])
            # A cluster of before renamed (a report of the batch has a smaller id) changed too.
            growth.append(ClusterGrowth(cid, len(olds) + int(cid not in olds), [rid for rid, _ in before], sizes))
    for value, rids in stale_all.items():
        if rids:
            ReportLinkage.objects.filter(report_id__in=rids).update(unit_cluster_id=value)
    known_units = {rid: unit for cid in touched for rid, unit, _ in members[cid]} | unit_of
    for rid, r in batch.items():
        report, cid = r.report, final[rid]
        j = _jurisdiction(report, entries_of[rid])
        same_person = {o: link for o, link in links_of[rid].items() if pair(rid, o) not in separated}
        linkage = ReportLinkage(
            report=report, cluster_id=cid, unit_cluster_id=smallest_of[cid][report.unit_id], country=j["country"] or "",
            region=(j["region"] or "")[:100], decision=j["decision"], evidence=j["evidence"],
            previously_reported=_previously_reported(report, same_person, unit_of=known_units), notes=notes_of[rid], linked_at=now,
        )
        linkages.append(linkage)
        size = sum(1 for _, u, _ in members[cid] if u == report.unit_id)
        merged = sorted(set(joined.get(cid, [])) | ({rid} if rid != cid else set()) - {cid})
        results[rid] = LinkResult(rid, cid, merged, len(links_of[rid]), linkage=linkage, unit_cluster_size=size, entries=entries_of[rid])
    columns = ("report_id", "cluster_id", "unit_cluster_id", "country", "region", "decision", "evidence", "previously_reported", "notes", "linked_at")
    rows_insert(ReportLinkage, columns, [tuple(getattr(lk, c) for c in columns) for lk in linkages])
    for linkage in linkages:
        linkage._state.adding = False
    return BatchLinked(results, growth)

