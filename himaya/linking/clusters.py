"""Clusters as the connected components of merging links (SPEC §3.3).

A cluster is named by the smallest report id among its members. Clusters grow
as reports arrive, and split when the links holding them together stop merging:
a key turned weak (a shared IP, a viral file), a report deleted, or a person
deciding that two reports are not the same person. A split is recomputed over
the members of the affected clusters only (services.clusters_recompute), with
the pure functions here.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from himaya.linking.extract import MERGE_THRESHOLD


def components(members: Iterable[int], edges: Iterable[tuple[int, int]]) -> dict[int, int]:
    """report id → the smallest report id of its connected component. Edges with
    an end outside `members` are ignored: a merging link never leaves its cluster."""
    parent = {m: m for m in members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a not in parent or b not in parent:
            continue
        ra, rb = find(a), find(b)
        if ra != rb:
            # The smaller root wins, so every root is its component's smallest id.
            parent[max(ra, rb)] = min(ra, rb)
    return {m: find(m) for m in parent}


def groups(assignment: Mapping[int, int]) -> dict[int, frozenset[int]]:
    """cluster id → its members."""
    out: dict[int, set[int]] = defaultdict(set)
    for rid, cid in assignment.items():
        out[cid].add(rid)
    return {cid: frozenset(rids) for cid, rids in out.items()}


def changed_members(before: Mapping[int, int], after: Mapping[int, int]) -> set[int]:
    """Reports whose cluster is not what it was: another set of reports (its size
    and history feed triage) or another id (what users see and filter on)."""
    old, new = groups(before), groups(after)
    out = {rid for rid in after if rid not in before or before[rid] != after[rid] or old[before[rid]] != new[after[rid]]}
    return out | {rid for rid in before if rid not in after}


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def link_merges(strength: float, low: int, high: int, separated: set[tuple[int, int]] | frozenset[tuple[int, int]]) -> bool:
    """Whether a link merges its two reports' clusters: strong enough, and no
    person decided they are not the same person."""
    return strength >= MERGE_THRESHOLD and pair(low, high) not in separated


def combined_strength(strengths: Iterable[float]) -> float:
    """1 − Π(1 − sᵢ), as extract.link_strength, from the strengths a link stores."""
    miss = 1.0
    for s in strengths:
        miss *= 1.0 - s
    return round(1.0 - miss, 3)


def separated_pairs(report_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    """(low, high) report ids that a person separated and nobody undid: these
    pairs never merge, in the incremental path and in the rebuild. Restricted to
    pairs touching `report_ids` when given."""
    from django.db.models import Q

    from himaya.linking.models import LinkSeparation

    qs = LinkSeparation.objects.filter(undone_at__isnull=True)
    if report_ids is not None:
        ids = list(report_ids)
        qs = qs.filter(Q(low_id__in=ids) | Q(high_id__in=ids))
    return {(lo, hi) for lo, hi in qs.values_list("low_id", "high_id")}
