"""Writes of the identifier graph: index a report, link it, grow its cluster,
locate it (SPEC §3.3, §3.4).

`report_link` is the incremental path (one report, as it arrives);
`linking_rebuild` recomputes everything from the report tables. Both are
idempotent, and agree: when a key turns weak after it linked reports, or a
report is deleted, or a person separates two reports ("not the same person"),
the links it made are undone and the clusters concerned are recomputed
(`clusters_recompute`, over their members only) — which may split them.
On PostgreSQL, linking of concurrent reports is serialised by an advisory lock
so that two workers never grow or split the same cluster at once.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from himaya.accounts.permissions import Action, Kind, check, get_for
from himaya.linking import events
from himaya.linking.clusters import changed_members, combined_strength, components, link_merges, pair, separated_pairs
from himaya.linking.document import estimated_locations, prior_reports
from himaya.linking.extract import (
    ACCOUNT_KINDS, ACCOUNTS_KEPT, LINKS_PER_KEY, MERGE_THRESHOLD, Entry, KeyStats, RawIdentifier, Shared,
    extract, identifier_strength, key_weakness, link_strength,
)
from himaya.linking.geo import locate_ip, ranges_path
from himaya.linking.jurisdiction import Clue, decide
from himaya.linking.models import IdentifierEntry, IdentifierKey, LinkSeparation, ReportLink, ReportLinkage
from himaya.linking.normalize import phone_country
from himaya.linking.signals import clusters_changed
from himaya.reports.models import Identifier, IpCaptureEvent, Party, Report, ReportFile

_LOCK_KEY = 0x4C494E4B  # "LINK"
VIRAL_FILE_ANNOTATIONS = ("viral", "potentialMeme")
LOCATION_ROLES = ("reported", "victim", "recipient", "associated")


def ranges_file() -> Path:
    return ranges_path(settings.HIMAYA_HOME)


def home_country() -> str:
    return getattr(settings, "HIMAYA_COUNTRY", "PS")


def _file_is_viral(rf: ReportFile, batched: bool) -> bool:
    if batched or any(a in VIRAL_FILE_ANNOTATIONS for a in (rf.annotations or [])):
        return True
    from himaya.media.selectors import file_media_summary

    return file_media_summary(rf).get("status") == "viral"


def raw_identifiers(
    *, report_platform: str, batched: bool, parties: dict[int, tuple[str, str, int | None]],
    identifiers: list[tuple[int | None, int | None, str, str, str, str]], proxies: set[tuple[int | None, str]],
    files: list[tuple[int, str, bool]],
) -> list[RawIdentifier]:
    """Rows of one report → RawIdentifier. parties: id → (role, platform, parent id);
    identifiers: (party id, file id, kind, value, qualifier, path); proxies: (file id, path)
    of ipCaptureEvents flagged possibleProxy; files: (id, sha256, viral)."""
    viral = {fid: v for fid, _, v in files}

    def platform_of(party_id: int | None) -> str:
        seen = 0
        while party_id is not None and seen < 10:
            role, platform, parent = parties[party_id]
            if platform:
                return platform
            party_id, seen = parent, seen + 1
        return report_platform

    out: list[RawIdentifier] = []
    for party_id, file_id, kind, value, qualifier, path in identifiers:
        role = parties[party_id][0] if party_id in parties else ""
        out.append(RawIdentifier(
            kind=kind, value=value, qualifier=qualifier, role=role, party=party_id, platform=platform_of(party_id if party_id in parties else None),
            possible_proxy=((file_id, path) in proxies) if kind == "ip" else None,
            viral_file=viral.get(file_id, False) if file_id else batched,
        ))
    for fid, sha256, is_viral in files:
        out.append(RawIdentifier(kind="file_hash", value=sha256, viral_file=is_viral))
    return out


@dataclass
class ReportRows:
    """One report's own rows, read once by the incremental path and shared by
    linking and triage: the document is decrypted once, and each file's media
    verdict is asked once (the selector caches it on the file)."""

    report: Report
    parties: list[tuple[int, str, str, int | None, int | None]]  # id, role, platform, parent id, age
    identifiers: list[tuple[int | None, int | None, str, str, str, str]]  # party id, file id, kind, value, qualifier, path
    proxies: set[tuple[int | None, str]]  # (file id, path) of ipCaptureEvents flagged possibleProxy
    files: list[ReportFile]  # by position


def report_load(report_id: int) -> Report:
    """The report as linking and triage read it: without the submitted XML, the
    largest column, which neither reads (it is decrypted on every load)."""
    return Report.objects.defer("raw_xml").get(id=report_id)


def report_rows(report: Report) -> ReportRows:
    return ReportRows(
        report=report,
        parties=list(Party.objects.filter(report=report).values_list("id", "role", "platform", "parent_id", "age")),
        identifiers=list(Identifier.objects.filter(report=report).values_list("party_id", "file_id", "kind", "value", "qualifier", "path")),
        proxies=set(IpCaptureEvent.objects.filter(report=report, possible_proxy=True).values_list("file_id", "path")),
        files=list(ReportFile.objects.filter(report=report).defer("details_raw").order_by("position")),
    )


def _rows_raw_identifiers(rows: ReportRows) -> list[RawIdentifier]:
    batched = bool(rows.report.batched_reason)
    return raw_identifiers(
        report_platform=rows.report.platform, batched=batched, parties={p[0]: (p[1], p[2], p[3]) for p in rows.parties},
        identifiers=rows.identifiers, proxies=rows.proxies, files=[(f.id, f.sha256, _file_is_viral(f, batched)) for f in rows.files],
    )


@dataclass
class LinkResult:
    report_id: int
    cluster_id: int
    merged_clusters: list[int]  # other clusters folded into this one
    links: int
    # What triage reads of the report's linking, known here without reading it back.
    linkage: ReportLinkage | None = None
    unit_cluster_size: int = 1  # reports of its own unit in its cluster, itself included
    entries: list[Entry] = field(default_factory=list)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _update_keys(entries: list[Entry], *, added: dict[str, int]) -> tuple[dict[str, IdentifierKey], list[IdentifierKey]]:
    """The keys' statistics with these entries counted (`added`: the reports each key
    gains — one report's new keys, or a batch's); also the keys that turned weak just
    now (the links already made through them must go)."""
    by_key: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_key[e.key].append(e)
    existing = {k.key: k for k in IdentifierKey.objects.filter(key__in=list(by_key))}
    changed: list[IdentifierKey] = []
    turned_weak: list[IdentifierKey] = []
    for key, es in by_key.items():
        k = existing.get(key)
        if k is None:
            k = IdentifierKey(key=key, kind=es[0].kind, reports=0, accounts=[], viral=False)
            existing[key] = k
        was_weak = k.weak
        before = (k.reports, list(k.accounts), k.viral, k.weak)
        k.reports += added.get(key, 0)
        accounts = list(k.accounts)
        for e in es:
            if e.account and e.account not in accounts and len(accounts) < ACCOUNTS_KEPT:
                accounts.append(e.account)
        k.accounts = accounts
        k.viral = k.viral or any(e.weak == "viral_file" for e in es)
        k.weak = key_weakness(k.kind, KeyStats(reports=k.reports, accounts=set(accounts), viral=k.viral))
        if k.weak and not was_weak and k.pk is not None:
            turned_weak.append(k)
        if k.pk is None or (k.reports, k.accounts, k.viral, k.weak) != before:
            changed.append(k)
    if changed:
        # New and changed keys in one statement (an upsert on the key) rather than one per key.
        IdentifierKey.objects.bulk_create(
            [IdentifierKey(key=k.key, kind=k.kind, reports=k.reports, accounts=k.accounts, viral=k.viral, weak=k.weak) for k in changed],
            update_conflicts=True, unique_fields=["key"], update_fields=["reports", "accounts", "viral", "weak"],
        )
    return existing, turned_weak


def _sharing(keys: list[str], *, report_id: int) -> dict[str, list[tuple[int, str]]]:
    """key → (report id, role) of the newest LINKS_PER_KEY other reports naming it
    not weakly, newest first."""
    rows: list[tuple[str, int, str]]
    if connection.vendor == "postgresql" and keys:
        # One statement for all keys, each an index scan that stops at the limit.
        # Written in SQL: composing the same from one ORM query per key cost more
        # CPU than the statements saved (the incremental path's latency, SPEC §5).
        with connection.cursor() as cur:
            cur.execute(
                "SELECT k.key, e.report_id, e.role FROM unnest(%s::varchar[]) AS k(key) CROSS JOIN LATERAL "
                f"(SELECT report_id, role FROM {IdentifierEntry._meta.db_table} WHERE key = k.key AND report_id <> %s AND weak = '' "
                "ORDER BY report_id DESC LIMIT %s) AS e",
                [keys, report_id, LINKS_PER_KEY],
            )
            rows = cur.fetchall()
        # Each key's rows newest first whatever order the join gave them (a stable sort keeps ties as they came).
        rows.sort(key=lambda row: -row[1])
    else:
        base = (IdentifierEntry.objects.exclude(report_id=report_id).exclude(weak__gt="").order_by("-report_id")
                .values_list("key", "report_id", "role"))
        rows = [row for key in keys for row in base.filter(key=key)[:LINKS_PER_KEY]]
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for key, other_id, role in rows:
        out[key].append((other_id, role))
    return out


def _links_drop_keys(keys: list[IdentifierKey], *, exclude_report: int) -> set[int]:
    """Links made through keys that turned weak since: that identifier leaves
    their evidence, their strength is recomputed, a link left with nothing is
    deleted. Returns the clusters that lost a merging link (they may split).
    The reports naming the key also note it as too weak to link."""
    touched: set[int] = set()
    for k in keys:
        rows = list(IdentifierEntry.objects.filter(key=k.key).values_list("report_id", "display"))
        rids = sorted({r for r, _ in rows})
        displays = {d for _, d in rows}
        if len(rids) < 2:
            continue
        links = list(ReportLink.objects.filter(low_id__in=rids, high_id__in=rids))
        separated = separated_pairs(rids) if links else set()
        lost: list[int] = []
        for link in links:
            via = [v for v in link.via if not (v["kind"] == k.kind and v["value"][:300] in displays)]
            if len(via) == len(link.via):
                continue
            if link.merges:
                lost.append(link.low_id)
            if not via:
                link.delete()
                continue
            link.via = via
            link.strength = combined_strength(v["strength"] for v in via)
            link.merges = link_merges(link.strength, link.low_id, link.high_id, separated)
            link.save(update_fields=["via", "strength", "merges"])
        if lost:
            touched |= set(ReportLinkage.objects.filter(report_id__in=lost).values_list("cluster_id", flat=True))
        for linkage in ReportLinkage.objects.filter(report_id__in=rids).exclude(report_id=exclude_report).only("report_id", "notes"):
            mine = [d for r, d in rows if r == linkage.report_id]
            notes = [n for n in linkage.notes if not (n.get("kind") == k.kind and n.get("value", "")[:300] in displays)]
            notes += [{"kind": k.kind, "value": d, "weak": k.weak, "reports": k.reports} for d in mine]
            if notes != linkage.notes:
                ReportLinkage.objects.filter(report_id=linkage.report_id).update(notes=notes)
    return touched


def _jurisdiction(report: Report, entries: list[Entry]) -> dict[str, Any]:
    clues: list[Clue] = []
    for loc in estimated_locations(report.document or {}):
        if loc.role in LOCATION_ROLES:
            clues.append(Clue("estimated_location", loc.country, loc.region or loc.city, ", ".join(x for x in (loc.city, loc.region, loc.country) if x), loc.role))
    rf = ranges_file()
    for e in entries:
        if e.role not in LOCATION_ROLES and e.role != "":
            continue
        if e.kind == "phone":
            country = phone_country(e.display)
            if country:
                clues.append(Clue("phone", country, "", e.display, e.role))
        elif e.kind == "ip" and e.weak != "possible_proxy":
            place = locate_ip(e.display, ranges_file=rf)
            if place:
                clues.append(Clue("ip", place.country, place.region, e.display, e.role))
    return decide(clues, home=home_country())


def prior_references(report: Report) -> list[dict[str, Any]]:
    """The report's priorCTReports, each with the stored report of its own unit it
    names if any: another unit's report is as unknown here as a missing one (need-to-know).
    Every reference counts, known or not: the provider wrote it."""
    out: list[dict[str, Any]] = []
    for role, ref in prior_reports(report.document or {}):
        known = None
        if ref.isdigit() and len(ref) < 19:
            known = (Report.objects.filter(Q(id=int(ref)) | Q(external_id=int(ref)), unit_id=report.unit_id).exclude(id=report.id)
                     .values_list("id", flat=True).first())
        out.append({"id": known, "reference": ref, "via": "priorCTReports"})
    return out


def _previously_reported(report: Report, links: dict[int, dict[str, Any]], *, prior: list[dict[str, Any]] | None = None,
                         unit_of: dict[int, int | None] | None = None) -> list[dict[str, Any]]:
    """`unit_of`: the units of reports known already (the cluster's members); others are read."""
    out = prior_references(report) if prior is None else list(prior)
    # Only the unit's own earlier reports: another unit's report is never counted in
    # this one's reasons ("previously reported 3 times"), as the rebuild decides it.
    units = dict(unit_of or {})
    unknown = [other for other in links if other < report.id and other not in units]
    if unknown:
        units.update(Report.objects.filter(id__in=unknown).values_list("id", "unit_id"))
    return out + previously_linked(report.id, {other: link for other, link in links.items() if units.get(other) == report.unit_id})


def previously_linked(report_id: int, links: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier reports about the same account or device."""
    out: list[dict[str, Any]] = []
    for other, link in sorted(links.items()):
        if other < report_id:
            entry = previously_linked_entry(other, link["via"])
            if entry:
                out.append(entry)
    return out


def previously_linked_entry(other: int, via: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An earlier linked report as "previously reported", when the link is a shared account or device."""
    account_via = [v for v in via if v["kind"] in ACCOUNT_KINDS + ("device",) and v["strength"] >= MERGE_THRESHOLD]
    if not account_via:
        return None
    return {"id": other, "reference": str(other), "via": ", ".join(f"{v['kind']}: {v['value']}" for v in account_via[:3])}


def _unit_clusters(members: list[tuple[int, int | None, int | None]]) -> tuple[dict[int | None, int], dict[int, list[int]]]:
    """members: (report id, unit id, unit cluster id now) of one cluster → per unit,
    its smallest report id there; and the reports whose unit cluster id is not that."""
    smallest: dict[int | None, int] = {}
    for rid, unit_id, _ in members:
        smallest[unit_id] = min(rid, smallest.get(unit_id, rid))
    stale: dict[int, list[int]] = defaultdict(list)
    for rid, unit_id, current in members:
        if current != smallest[unit_id]:
            stale[smallest[unit_id]].append(rid)
    return smallest, stale


def unit_clusters_refresh(*, cluster_id: int) -> None:
    """Per unit, the smallest report id of that unit in the cluster (what the unit sees)."""
    members = list(ReportLinkage.objects.filter(cluster_id=cluster_id).values_list("report_id", "report__unit_id", "unit_cluster_id"))
    _, stale = _unit_clusters(members)
    for value, rids in stale.items():  # usually only the new report
        ReportLinkage.objects.filter(report_id__in=rids).update(unit_cluster_id=value)


def clusters_recompute(*, cluster_ids: set[int] | list[int], shrunk: bool = False) -> list[int]:
    """The given clusters become the connected components of their merging links
    (a bounded recomputation: their members only, never the whole graph). Each
    part takes the smallest report id of its members; its per-unit ids are
    refreshed. Returns the reports whose cluster changed, and announces them
    (`clusters_changed`) so that they are triaged again. `shrunk`: the clusters
    lost a member already (a deleted report), so every member changed."""
    ids = set(cluster_ids)
    if not ids:
        return []
    before = dict(ReportLinkage.objects.filter(cluster_id__in=ids).values_list("report_id", "cluster_id"))
    if not before:
        return []
    edges = (ReportLink.objects.filter(merges=True, low__linkage__cluster_id__in=ids).values_list("low_id", "high_id"))
    after = components(before, edges)
    changed = set(before) if shrunk else changed_members(before, after)
    if not changed:
        return []
    moved: dict[int, list[int]] = defaultdict(list)
    for rid, cid in after.items():
        if before[rid] != cid:
            moved[cid].append(rid)
    for cid, rids in moved.items():
        ReportLinkage.objects.filter(report_id__in=rids).update(cluster_id=cid)
    for cid in sorted({after[rid] for rid in changed if rid in after}):
        unit_clusters_refresh(cluster_id=cid)
    changed_ids = sorted(changed)
    clusters_changed.send(sender=ReportLinkage, report_ids=changed_ids)
    return changed_ids


@transaction.atomic
def report_link(*, report_id: int) -> LinkResult:
    return report_rows_link(rows=report_rows(report_load(report_id)))


@transaction.atomic(savepoint=False)
def report_rows_link(*, rows: ReportRows) -> LinkResult:
    """`report_link` of rows already read (the incremental path reads them once
    for linking and triage). Joins the caller's transaction."""
    report = rows.report
    entries = extract(_rows_raw_identifiers(rows), region=home_country())
    _lock()
    old = set(IdentifierEntry.objects.filter(report=report).values_list("key", flat=True))
    if old:
        IdentifierEntry.objects.filter(report=report).delete()
    IdentifierEntry.objects.bulk_create([
        IdentifierEntry(report=report, kind=e.kind, key=e.key, display=e.display[:300], role=e.role, account=e.account, weak=e.weak)
        for e in entries
    ])
    keys, turned_weak = _update_keys(entries, added=dict.fromkeys({e.key for e in entries} - old, 1))
    # Keys this report made weak: what earlier reports linked through them is
    # undone, as if the key had been known weak from the start (as the rebuild sees it).
    split = _links_drop_keys(turned_weak, exclude_report=report.id) if turned_weak else set()

    # Other reports naming the same strong identifiers.
    notes: list[dict[str, Any]] = []
    linkable: list[Entry] = []
    for e in entries:
        weak = e.weak or keys[e.key].weak
        if weak:
            notes.append({"kind": e.kind, "value": e.display, "weak": weak, "reports": keys[e.key].reports})
        else:
            linkable.append(e)
    sharing = _sharing(list(dict.fromkeys(e.key for e in linkable)), report_id=report.id)
    shared: dict[int, list[Shared]] = defaultdict(list)
    for e in linkable:
        for other_id, other_role in sharing.get(e.key, ()):
            if not any(s.kind == e.kind and s.display == e.display for s in shared[other_id]):
                shared[other_id].append(Shared(e.kind, e.display, e.role, other_role))
    separated = separated_pairs([report.id])
    links: dict[int, dict[str, Any]] = {}
    for other_id, items in shared.items():
        strength = link_strength(items)
        via = [{"kind": s.kind, "value": s.display, "strength": round(identifier_strength(s), 3)} for s in items]
        links[other_id] = {"strength": strength, "merges": link_merges(strength, report.id, other_id, separated), "via": via}
    low_high = [pair(report.id, o) for o in links]
    mine_links = ReportLink.objects.filter(Q(low=report) | Q(high=report))
    # Links are made through entries only: a report that had none (one arriving) has none.
    before = list(mine_links.values_list("low_id", "high_id", "merges")) if old else []
    merged_before = {hi if lo == report.id else lo for lo, hi, merges in before if merges}
    if before:
        mine_links.delete()
    ReportLink.objects.bulk_create([
        ReportLink(low_id=lo, high_id=hi, strength=links[hi if lo == report.id else lo]["strength"],
                   merges=links[hi if lo == report.id else lo]["merges"], via=links[hi if lo == report.id else lo]["via"])
        for lo, hi in low_high
    ])

    # Union: this report's cluster and every cluster it merges with become one,
    # named by the smallest report id among them.
    merging = [o for o, link in links.items() if link["merges"]]
    current = dict(ReportLinkage.objects.filter(report_id__in=[report.id, *merging]).values_list("report_id", "cluster_id"))
    mine = current.pop(report.id, None)
    theirs = set(current.values())
    theirs |= {o for o in merging}  # a linked report not yet linked itself is its own cluster
    clusters = theirs | {mine if mine is not None else report.id}
    cluster_id = min(clusters)
    others = sorted(clusters - {cluster_id})
    if len(clusters) > 1:
        ReportLinkage.objects.filter(cluster_id__in=list(clusters)).update(cluster_id=cluster_id)
    j = _jurisdiction(report, entries)
    # Reports a person holds to be someone else are not this one's history.
    same_person = {o: link for o, link in links.items() if pair(report.id, o) not in separated}
    # The cluster's other members, to give this report its unit cluster id as it
    # is written (unit_clusters_refresh, without reading this report back).
    members = list(ReportLinkage.objects.filter(cluster_id=cluster_id).exclude(report=report).values_list("report_id", "report__unit_id", "unit_cluster_id"))
    smallest, stale = _unit_clusters([*members, (report.id, report.unit_id, None)])
    linkage = ReportLinkage(
        report=report, cluster_id=cluster_id, unit_cluster_id=smallest[report.unit_id], country=j["country"] or "", region=(j["region"] or "")[:100],
        decision=j["decision"], evidence=j["evidence"], previously_reported=_previously_reported(report, same_person, unit_of={rid: unit for rid, unit, _ in members}), notes=notes,
        linked_at=timezone.now(),
    )
    if mine is None:
        linkage.save(force_insert=True)
    else:
        linkage.save(force_update=True)
    for value, rids in stale.items():
        rids = [rid for rid in rids if rid != report.id]  # written above
        if rids:
            ReportLinkage.objects.filter(report_id__in=rids).update(unit_cluster_id=value)
    unit_cluster_size = sum(1 for _, unit_id, _ in members if unit_id == report.unit_id) + 1
    if merged_before - set(merging):
        split.add(cluster_id)  # linked again, this report no longer merges with some: its cluster may split
    if split:
        clusters_recompute(cluster_ids=split | {cluster_id})
        cluster_id, unit_cluster_id = ReportLinkage.objects.filter(report=report).values_list("cluster_id", "unit_cluster_id").get()
        linkage.cluster_id, linkage.unit_cluster_id = cluster_id, unit_cluster_id
        unit_cluster_size = ReportLinkage.objects.filter(unit_cluster_id=unit_cluster_id).count()
        others = [c for c in others if c != cluster_id]
    return LinkResult(report.id, cluster_id, others, len(links), linkage=linkage, unit_cluster_size=unit_cluster_size, entries=entries)


@dataclass
class Departure:
    """What a report held in the graph, captured before its rows go."""

    report_id: int
    cluster_id: int | None
    keys: list[str]
    linked: list[int]


def report_departure(*, report_id: int) -> Departure:
    """Call before a report's rows are deleted (pre_delete)."""
    links = ReportLink.objects.filter(Q(low_id=report_id) | Q(high_id=report_id)).values_list("low_id", "high_id")
    return Departure(
        report_id=report_id,
        cluster_id=ReportLinkage.objects.filter(report_id=report_id).values_list("cluster_id", flat=True).first(),
        keys=sorted(set(IdentifierEntry.objects.filter(report_id=report_id).values_list("key", flat=True))),
        linked=sorted({hi if lo == report_id else lo for lo, hi in links}),
    )


@transaction.atomic
def report_departed(*, departure: Departure) -> list[int]:
    """After a report was deleted (its entries, links and linkage went with it):
    the cluster it held together splits, the statistics of the keys it named are
    counted again — a key that was weak only because of it (one account too many
    behind an IP) links the reports naming it again — and the reports linked to it
    no longer call it "previously reported". Returns the reports whose cluster changed."""
    _lock()
    gone = departure.report_id
    relink: set[int] = set()
    for key in IdentifierKey.objects.filter(key__in=departure.keys):
        stats = IdentifierEntry.objects.filter(key=key.key).aggregate(n=Count("report_id", distinct=True))
        if not stats["n"]:
            key.delete()
            continue
        accounts: list[str] = []
        for account in IdentifierEntry.objects.filter(key=key.key).exclude(account="").order_by("report_id").values_list("account", flat=True).iterator():
            if account not in accounts:
                accounts.append(account)
                if len(accounts) >= ACCOUNTS_KEPT:
                    break
        viral = IdentifierEntry.objects.filter(key=key.key, weak="viral_file").exists()
        weak = key_weakness(key.kind, KeyStats(reports=stats["n"], accounts=set(accounts), viral=viral))
        if key.weak and not weak:
            relink |= set(IdentifierEntry.objects.filter(key=key.key).values_list("report_id", flat=True))
        key.reports, key.accounts, key.viral, key.weak = stats["n"], accounts, viral, weak
        key.save(update_fields=["reports", "accounts", "viral", "weak"])
    for linkage in ReportLinkage.objects.filter(report_id__in=departure.linked).only("report_id", "previously_reported"):
        kept = [({**p, "id": None} if p.get("via") == "priorCTReports" else None) if p.get("id") == gone else p
                for p in linkage.previously_reported]
        kept = [p for p in kept if p is not None]
        if kept != linkage.previously_reported:
            ReportLinkage.objects.filter(report_id=linkage.report_id).update(previously_reported=kept)
    changed: set[int] = set()
    if departure.cluster_id is not None:
        changed |= set(clusters_recompute(cluster_ids=[departure.cluster_id], shrunk=True))
    if relink:
        # Their links are back, and the merges through them: the clusters they join change.
        for rid in sorted(relink):
            report_link(report_id=rid)
        joined = set(ReportLinkage.objects.filter(report_id__in=relink).values_list("cluster_id", flat=True))
        rejoined = set(ReportLinkage.objects.filter(cluster_id__in=joined).values_list("report_id", flat=True))
        clusters_changed.send(sender=ReportLinkage, report_ids=sorted(rejoined))
        changed |= rejoined
    return sorted(changed)


def _previously_set(*, high_id: int, low_id: int, via: list[dict[str, Any]] | None) -> None:
    """The later report's "previously reported" entry for the earlier one: gone
    while a person holds them to be different people (via None), back when undone."""
    linkage = ReportLinkage.objects.filter(report_id=high_id).only("report_id", "previously_reported").first()
    if linkage is None:
        return
    entries = [p for p in linkage.previously_reported if not (p.get("id") == low_id and p.get("via") != "priorCTReports")]
    entry = previously_linked_entry(low_id, via) if via is not None else None
    if entry:
        prior = [p for p in entries if p.get("via") == "priorCTReports"]
        entries = prior + sorted([p for p in entries if p.get("via") != "priorCTReports"] + [entry], key=lambda p: p["id"])
    if entries != linkage.previously_reported:
        ReportLinkage.objects.filter(report_id=high_id).update(previously_reported=entries)


def _pair_check(actor: Any, low_id: int, high_id: int) -> None:
    """Both reports are the actor's unit's (else 404, as if they did not exist),
    and the actor's role may change links (else 403): the one table."""
    for rid in {low_id, high_id}:
        get_for(Report.objects.only("id", "unit_id"), actor, Action.VIEW, id=rid)
    check(actor, Action.CHANGE, Kind.LINK)


@transaction.atomic
def link_separate(*, actor: Any, report_id: int, other_id: int, reason: str) -> LinkSeparation:
    """A person decides two linked reports are not the same person: the link
    stays, shown as separated, and never merges again; their cluster may split."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a separation needs a reason")
    lo, hi = pair(int(report_id), int(other_id))
    _pair_check(actor, lo, hi)
    if lo == hi:
        raise ValueError("a report is the same as itself")
    _lock()
    link = ReportLink.objects.select_for_update().filter(low_id=lo, high_id=hi).first()
    if link is None:
        raise ValueError("these reports are not linked")
    if LinkSeparation.objects.filter(low_id=lo, high_id=hi, undone_at__isnull=True).exists():
        raise ValueError("already separated")
    sep = LinkSeparation.objects.create(low_id=lo, high_id=hi, reason=reason, created_by=actor, created_at=timezone.now())
    was_merging = link.merges
    if link.merges:
        link.merges = False
        link.save(update_fields=["merges"])
    _previously_set(high_id=hi, low_id=lo, via=None)
    low = Report.objects.only("id", "unit_id").get(id=lo)
    events.link_separated_event(actor=actor, low=low, high_id=hi, strength=link.strength, merged=was_merging, reason=reason)
    if was_merging:
        clusters_recompute(cluster_ids=set(ReportLinkage.objects.filter(report_id__in=[lo, hi]).values_list("cluster_id", flat=True)))
    return sep


@transaction.atomic
def link_separation_undo(*, actor: Any, separation_id: int) -> LinkSeparation:
    """The separation is withdrawn (kept, marked undone): the link merges again
    if it is strong enough, joining the two clusters."""
    sep = LinkSeparation.objects.filter(id=separation_id).first()
    if sep is None:
        raise Http404("no such separation")
    _pair_check(actor, sep.low_id, sep.high_id)
    _lock()
    sep = LinkSeparation.objects.select_for_update().get(id=separation_id)
    if sep.undone_at is not None:
        raise ValueError("already undone")
    sep.undone_at, sep.undone_by = timezone.now(), actor
    sep.save(update_fields=["undone_at", "undone_by"])
    link = ReportLink.objects.select_for_update().filter(low_id=sep.low_id, high_id=sep.high_id).first()
    merges = bool(link and link_merges(link.strength, sep.low_id, sep.high_id, separated_pairs([sep.low_id])))
    low = Report.objects.only("id", "unit_id").get(id=sep.low_id)
    events.link_separation_undone_event(actor=actor, low=low, high_id=sep.high_id, merges=merges, reason=sep.reason)
    if link is not None:
        _previously_set(high_id=sep.high_id, low_id=sep.low_id, via=link.via)
    if link is not None and merges and not link.merges:
        link.merges = True
        link.save(update_fields=["merges"])
        clusters_recompute(cluster_ids=set(ReportLinkage.objects.filter(report_id__in=[sep.low_id, sep.high_id]).values_list("cluster_id", flat=True)))
    return sep
