"""Writes of the identifier graph: index a report, link it, grow its cluster,
locate it (SPEC §3.3, §3.4).

`report_link` is the incremental path (one report, as it arrives);
`linking_rebuild` recomputes everything from the report tables. Both are
idempotent. On PostgreSQL, linking of concurrent reports is serialised by an
advisory lock so that two workers never grow the same cluster at once.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from himaya.linking.document import estimated_locations, prior_reports
from himaya.linking.extract import (
    ACCOUNT_KINDS, IP_SHARED_ACCOUNTS, LINKS_PER_KEY, MERGE_THRESHOLD, Entry, KeyStats, RawIdentifier, Shared,
    extract, identifier_strength, key_weakness, link_strength,
)
from himaya.linking.geo import locate_ip, ranges_path
from himaya.linking.jurisdiction import Clue, decide
from himaya.linking.models import IdentifierEntry, IdentifierKey, ReportLink, ReportLinkage
from himaya.linking.normalize import phone_country
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


def report_raw_identifiers(report: Report) -> list[RawIdentifier]:
    batched = bool(report.batched_reason)
    return raw_identifiers(
        report_platform=report.platform, batched=batched,
        parties={p[0]: (p[1], p[2], p[3]) for p in Party.objects.filter(report=report).values_list("id", "role", "platform", "parent_id")},
        identifiers=list(Identifier.objects.filter(report=report).values_list("party_id", "file_id", "kind", "value", "qualifier", "path")),
        proxies=set(IpCaptureEvent.objects.filter(report=report, possible_proxy=True).values_list("file_id", "path")),
        files=[(f.id, f.sha256, _file_is_viral(f, batched)) for f in ReportFile.objects.filter(report=report)],
    )


@dataclass
class LinkResult:
    report_id: int
    cluster_id: int
    merged_clusters: list[int]  # other clusters folded into this one
    links: int


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _update_keys(entries: list[Entry], *, new_keys: set[str]) -> dict[str, IdentifierKey]:
    by_key: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_key[e.key].append(e)
    existing = {k.key: k for k in IdentifierKey.objects.filter(key__in=list(by_key))}
    changed: list[IdentifierKey] = []
    for key, es in by_key.items():
        k = existing.get(key)
        if k is None:
            k = IdentifierKey(key=key, kind=es[0].kind, reports=0, accounts=[], viral=False)
            existing[key] = k
        if key in new_keys:
            k.reports += 1
        accounts = list(k.accounts)
        for e in es:
            if e.account and e.account not in accounts and len(accounts) <= IP_SHARED_ACCOUNTS:
                accounts.append(e.account)
        k.accounts = accounts
        k.viral = k.viral or any(e.weak == "viral_file" for e in es)
        k.weak = key_weakness(k.kind, KeyStats(reports=k.reports, accounts=set(accounts), viral=k.viral))
        changed.append(k)
    for k in changed:
        k.save()
    return existing


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
    """The report's priorCTReports, each with the stored report it names if any."""
    out: list[dict[str, Any]] = []
    for role, ref in prior_reports(report.document or {}):
        known = None
        if ref.isdigit() and len(ref) < 19:
            known = Report.objects.filter(Q(id=int(ref)) | Q(external_id=int(ref))).exclude(id=report.id).values_list("id", flat=True).first()
        out.append({"id": known, "reference": ref, "via": "priorCTReports"})
    return out


def _previously_reported(report: Report, links: dict[int, dict[str, Any]], *, prior: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    out = prior_references(report) if prior is None else list(prior)
    return out + previously_linked(report.id, links)


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


def unit_clusters_refresh(*, cluster_id: int) -> None:
    """Per unit, the smallest report id of that unit in the cluster (what the unit sees)."""
    members = list(ReportLinkage.objects.filter(cluster_id=cluster_id).values_list("report_id", "report__unit_id", "unit_cluster_id"))
    smallest: dict[int | None, int] = {}
    for rid, unit_id, _ in members:
        smallest[unit_id] = min(rid, smallest.get(unit_id, rid))
    stale: dict[int, list[int]] = defaultdict(list)
    for rid, unit_id, current in members:
        if current != smallest[unit_id]:
            stale[smallest[unit_id]].append(rid)
    for value, rids in stale.items():  # usually only the new report
        ReportLinkage.objects.filter(report_id__in=rids).update(unit_cluster_id=value)


@transaction.atomic
def report_link(*, report_id: int) -> LinkResult:
    _lock()
    report = Report.objects.get(id=report_id)
    entries = extract(report_raw_identifiers(report), region=home_country())
    old = set(IdentifierEntry.objects.filter(report=report).values_list("key", flat=True))
    IdentifierEntry.objects.filter(report=report).delete()
    IdentifierEntry.objects.bulk_create([
        IdentifierEntry(report=report, kind=e.kind, key=e.key, display=e.display[:300], role=e.role, account=e.account, weak=e.weak)
        for e in entries
    ])
    keys = _update_keys(entries, new_keys={e.key for e in entries} - old)

    # Other reports naming the same strong identifiers.
    notes: list[dict[str, Any]] = []
    linkable: list[Entry] = []
    for e in entries:
        weak = e.weak or keys[e.key].weak
        if weak:
            notes.append({"kind": e.kind, "value": e.display, "weak": weak, "reports": keys[e.key].reports})
        else:
            linkable.append(e)
    shared: dict[int, list[Shared]] = defaultdict(list)
    for e in linkable:
        others = (IdentifierEntry.objects.filter(key=e.key).exclude(report_id=report.id).exclude(weak__gt="")
                  .order_by("-report_id").values_list("report_id", "role")[:LINKS_PER_KEY])
        for other_id, other_role in others:
            if not any(s.kind == e.kind and s.display == e.display for s in shared[other_id]):
                shared[other_id].append(Shared(e.kind, e.display, e.role, other_role))
    links: dict[int, dict[str, Any]] = {}
    for other_id, items in shared.items():
        strength = link_strength(items)
        via = [{"kind": s.kind, "value": s.display, "strength": round(identifier_strength(s), 3)} for s in items]
        links[other_id] = {"strength": strength, "merges": strength >= MERGE_THRESHOLD, "via": via}
    low_high = [(min(report.id, o), max(report.id, o)) for o in links]
    ReportLink.objects.filter(Q(low=report) | Q(high=report)).delete()
    ReportLink.objects.bulk_create([
        ReportLink(low_id=lo, high_id=hi, strength=links[hi if lo == report.id else lo]["strength"],
                   merges=links[hi if lo == report.id else lo]["merges"], via=links[hi if lo == report.id else lo]["via"])
        for lo, hi in low_high
    ])

    # Union: this report's cluster and every cluster it merges with become one,
    # named by the smallest report id among them.
    mine = ReportLinkage.objects.filter(report=report).values_list("cluster_id", flat=True).first()
    merging = [o for o, link in links.items() if link["merges"]]
    theirs = set(ReportLinkage.objects.filter(report_id__in=merging).values_list("cluster_id", flat=True))
    theirs |= {o for o in merging}  # a linked report not yet linked itself is its own cluster
    clusters = theirs | {mine if mine is not None else report.id}
    cluster_id = min(clusters)
    others = sorted(clusters - {cluster_id})
    if len(clusters) > 1:
        ReportLinkage.objects.filter(cluster_id__in=list(clusters)).update(cluster_id=cluster_id)
    j = _jurisdiction(report, entries)
    ReportLinkage.objects.update_or_create(report=report, defaults={
        "cluster_id": cluster_id, "country": j["country"] or "", "region": (j["region"] or "")[:100], "decision": j["decision"],
        "evidence": j["evidence"], "previously_reported": _previously_reported(report, links), "notes": notes,
        "linked_at": timezone.now(),
    })
    unit_clusters_refresh(cluster_id=cluster_id)
    return LinkResult(report.id, cluster_id, others, len(links))
