"""Linking of every stored report from scratch, in bulk (SPEC §5: 1 M reports in
< 5 min). Same rules as the incremental path (extract.py), with one difference
that makes it better, not different: every key's statistics are known before the
first link is made, so an IP that turns out shared, or a file that turns out
viral, links nobody — the incremental path can only stop linking from the moment
it learns that.

What depends on one report alone (its entries, its location, its
priorCTReports) is computed by worker processes a range of ids at a time
(parallel.py), which also write the entries; the parent builds the key
statistics and the clusters; the workers, forked again, make the links (a share
of the reports each), the linkage rows, and then each full table's indexes and
statistics, two tables at a time. On PostgreSQL everything is written into new
copies of the tables and swapped in at the end (bulkwrite.rebuilt_tables):
people reading links meanwhile see the old ones. With one process (SQLite, or
fewer than 20 k reports) the parent does it all.
"""
from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from django.db import models, transaction
from django.utils import timezone

from himaya.linking.extract import (
    ACCOUNTS_KEPT, LINKS_PER_KEY, MERGE_THRESHOLD, WEAKENED_KINDS, Entry, KeyStats, Shared, extract, identifier_strength,
    key_weakness,
)
from himaya.linking.bulkwrite import (
    JsonText, RebuiltTables, analyze, copy_json, copy_text, encode_json, rebuild_begin, rebuild_clear, rebuilt_tables, shadow_finish, swap_in,
    write_rows,
)
from himaya.linking.clusters import components, separated_pairs
from himaya.linking.models import IdentifierEntry, IdentifierKey, ReportLink, ReportLinkage
from himaya.linking.parallel import map_chunks, workers_for
from himaya.linking.services import (
    VIRAL_FILE_ANNOTATIONS, _jurisdiction, _lock, home_country, previously_linked_entry, prior_references, raw_identifiers,
)
from himaya.reports.models import Identifier, IpCaptureEvent, Party, Report, ReportFile, ReportStatus

CHUNK = 5000
BATCH = 5000


def _chunks(ids: list[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def _ranges(ids: list[int], n: int) -> list[tuple[int, int]]:
    """Chunks of the sorted ids as (first, last): range scans, not IN lists of thousands."""
    return [(c[0], c[-1]) for c in _chunks(ids, n)]


def _viral_contents(blob_ids: list[str]) -> set[str]:
    """Stored contents the media capability found on a viral/meme list (the
    incremental path asks the same of each file through the media selector)."""
    if not blob_ids:
        return set()
    from himaya.media.models import FileStatus, MediaState

    return set(MediaState.objects.filter(blob_id__in=blob_ids, status=FileStatus.VIRAL).values_list("blob_id", flat=True))


def _entries_for(bounds: tuple[int, int], region: str) -> dict[int, list[Entry]]:
    reports = {r[0]: r[1:] for r in Report.objects.filter(id__range=bounds, status=ReportStatus.FINISHED).values_list("id", "platform", "batched_reason")}
    parties: dict[int, dict[int, tuple[str, str, int | None]]] = defaultdict(dict)
    for pid, rid, role, platform, parent in Party.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).values_list("id", "report_id", "role", "platform", "parent_id"):
        parties[rid][pid] = (role, platform, parent)
    idents: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in Identifier.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).values_list("report_id", "party_id", "file_id", "kind", "value", "qualifier", "path"):
        idents[row[0]].append(row[1:])
    proxies: dict[int, set[tuple[int | None, str]]] = defaultdict(set)
    for rid, fid, path in IpCaptureEvent.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1], possible_proxy=True).values_list("report_id", "file_id", "path"):
        proxies[rid].add((fid, path))
    files: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
    rows = list(ReportFile.objects.filter(report_id__gte=bounds[0], report_id__lte=bounds[1]).values_list("id", "report_id", "sha256", "annotations", "blob_id"))
    viral = _viral_contents([blob for *_, blob in rows if blob])
    for fid, rid, sha, ann, blob in rows:
        if rid in reports:
            files[rid].append((fid, sha, bool(reports[rid][1]) or blob in viral or any(a in VIRAL_FILE_ANNOTATIONS for a in (ann or []))))
    out = {}
    for rid, (platform, batched_reason) in reports.items():
        raw = raw_identifiers(report_platform=platform, batched=bool(batched_reason), parties=parties[rid], identifiers=idents[rid],
                              proxies=proxies[rid], files=files[rid])
        out[rid] = extract(raw, region=region)
    return out


_CONTEXT: dict[str, Any] = {"region": "", "entries_table": None, "along": None}  # reaches the workers through fork

ENTRY_COLUMNS = ("report_id", "kind", "key", "display", "role", "account", "weak")
EntryRow = tuple[str, str, str, str, str, str]  # an Entry's fields in order: kind, key, display, role, account, weak


def _entry_rows(rid: int, es: list[EntryRow]) -> Iterator[tuple[Any, ...]]:
    return ((rid, kind, key, display[:300], role, account, weak) for kind, key, display, role, account, weak in es)


def _entry_line(row: tuple[Any, ...]) -> str:
    # kind, role and weak are this code's own words: nothing to escape in them.
    rid, kind, key, display, role, account, weak = row
    return f"{rid}\t{kind}\t{copy_text(key)}\t{copy_text(display)}\t{role}\t{copy_text(account)}\t{weak}\n"


class Along(Protocol):
    """Work done along the linking rebuild, once per report, by a capability that
    needs what linking learns (triage): it reads each report when linking does
    (the document is decrypted once) and writes its rows when the clusters are
    known. Its tables are swapped in with linking's."""

    models: tuple[type[models.Model], ...]  # its tables, rebuilt beside linking's
    columns: tuple[str, ...]  # of models[0], in the order of row()

    def begin(self) -> None:
        """In the rebuild's transaction, the tables locked: read what must be kept."""

    def read(self, bounds: tuple[int, int], reports: dict[int, "LinkedReport"]) -> dict[int, Any]:
        """In a worker: a payload per report of the chunk (it must pickle)."""

    def row(self, rid: int, payload: Any, cluster: "ClusterFacts") -> tuple[Any, ...]:
        """In a worker: the report's row, now that its cluster is known."""

    def line(self, row: tuple[Any, ...]) -> str:
        """The row as a line of COPY text (bulkwrite.write_rows' `line`)."""

    def tally(self) -> Any:
        """In a worker, after its rows: what it counted (it must pickle)."""

    def finish(self, rows: int, tallies: list[Any]) -> dict[str, int]:
        """In the rebuild's transaction, after the last row: its summary."""


class LinkedReport(NamedTuple):
    """What linking knows of one report when it has read it."""

    document: dict[str, Any]
    entries: list[EntryRow]
    jurisdiction: dict[str, Any]


class ClusterFacts(NamedTuple):
    size: int  # reports of the report's own unit in its cluster (what the unit sees)
    previously_reported: int  # its priorCTReports and the earlier reports about the same account
    decision: str
    country: str


class _Doc(NamedTuple):  # what _jurisdiction and prior_references read of a report
    id: int
    unit_id: int
    document: dict[str, Any]


def _extract_chunk(bounds: tuple[int, int]) -> list[tuple[int, list[EntryRow], dict[str, Any], list[dict[str, Any]], Any]]:
    """A chunk's entries, jurisdiction and priorCTReports: all that depends on
    one report alone (run in a worker; it also writes the entries when given
    a table), and what `along` makes of the report. Entries travel back as plain
    tuples: pickling a million dataclass instances cost the parent more than
    using them; the jurisdiction's evidence travels as JSON text, ready for the
    linkage row."""
    entries = _entries_for(bounds, _CONTEXT["region"])
    out = []
    along: Along | None = _CONTEXT["along"]
    linked: dict[int, LinkedReport] = {}
    for rid, unit_id, document in Report.objects.filter(id__range=bounds, status=ReportStatus.FINISHED).order_by("id").values_list("id", "unit_id", "document"):
        report = _Doc(rid, unit_id, document or {})
        es = entries.get(rid, [])
        j = _jurisdiction(report, es)  # type: ignore[arg-type]
        rows = [(e.kind, e.key, e.display, e.role, e.account, e.weak) for e in es]
        if along is not None:
            linked[rid] = LinkedReport(report.document, rows, j)
        out.append((rid, rows, j, prior_references(report)))  # type: ignore[arg-type]
    extra = along.read(bounds, linked) if along is not None else {}
    for row in out:
        row[2]["evidence"] = encode_json(row[2]["evidence"])  # a plain str across: a str subclass pickles at 10 times the cost
    if _CONTEXT["entries_table"]:
        write_rows(IdentifierEntry, ENTRY_COLUMNS, (row for rid, es, _, _ in out for row in _entry_rows(rid, es)), table=_CONTEXT["entries_table"],
                   line=_entry_line)
    return [(rid, es, j, prior, extra.get(rid)) for rid, es, j, prior in out]


LINK_COLUMNS = ("low_id", "high_id", "strength", "merges", "via", "created_at")
LINKAGE_COLUMNS = ("report_id", "cluster_id", "unit_cluster_id", "country", "region", "decision", "evidence", "previously_reported", "notes", "linked_at")
_LINKING: dict[str, Any] = {}  # what the parent built, read by the workers (forked after it was built)


def link_line_at(now: datetime) -> Callable[[tuple[Any, ...]], str]:
    """A link row (LINK_COLUMNS, all made at `now`) as a line of COPY text: the
    moment is written once, not four million times."""
    at = now.isoformat()

    def line(row: tuple[Any, ...]) -> str:
        lo, hi, strength, merges, via, _ = row
        return f"{lo}\t{hi}\t{strength!r}\t{'t' if merges else 'f'}\t{copy_text(via)}\t{at}\n"
    return line


class _Grade(NamedTuple):
    """What a shared identifier of one kind between two roles weighs, worked out
    once per (kind, role, other role) instead of once per pair."""

    strength: float  # identifier_strength
    alone: float  # the link's strength when it is the only identifier shared
    shown: str  # its strength as the link's evidence writes it (rounded)
    previously: bool  # strong enough an account or device to say "previously reported"


def _grade(kind: str, role: str, other_role: str) -> _Grade:
    x = identifier_strength(Shared(kind, "", role, other_role))
    previously = previously_linked_entry(0, [{"kind": kind, "value": "", "strength": round(x, 3)}]) is not None
    return _Grade(x, round(1.0 - (1.0 - x), 3), repr(round(x, 3)), previously)


def _link_part(part: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, str]], int]:
    """The links whose later report falls in this share (report id mod parts),
    written into `table` (from a worker: a shadow; here: the rebuild's table): a
    pair's every shared key is seen, since every key's postings are read. Returns
    the merging pairs, the "previously reported" entries (later, earlier, via) and
    the number of links.

    The same links as extract.link_strength and services.previously_linked_entry
    make of a pair's `Shared` identifiers, but a million pairs are most of the
    rebuild's work: each shared identifier is a plain (kind, display, grade) tuple,
    its grade looked up by (kind, role, other role), a pair sharing one identifier
    (most of them) takes a short way, and its evidence is JSON text from a cached
    head per identifier."""
    ctx = _LINKING
    parts = ctx["parts"]
    grades: dict[tuple[str, str, str], _Grade] = {}
    shared: dict[tuple[int, int], list[tuple[str, str, _Grade]]] = {}
    pair_of = shared.get
    for kind, rows in ctx["linkable"]:
        for i, (rid, role, display) in enumerate(rows):  # in report order
            if rid % parts != part:
                continue
            for prev, prole, _ in rows[max(0, i - LINKS_PER_KEY):i]:
                if prev != rid:
                    grade = grades.get((kind, role, prole))
                    if grade is None:
                        grade = grades[(kind, role, prole)] = _grade(kind, role, prole)
                    pair = pair_of((prev, rid))
                    if pair is None:
                        shared[(prev, rid)] = [(kind, display, grade)]
                    elif not any(k == kind and d == display for k, d, _ in pair):
                        pair.append((kind, display, grade))
    separated, now, unit_of = ctx["separated"], ctx["now"], ctx["unit_of"]
    merging: list[tuple[int, int]] = []
    previously: list[tuple[int, int, str]] = []
    heads: dict[tuple[str, str], str] = {}

    def via_head(kind: str, display: str) -> str:
        head = heads.get((kind, display))
        if head is None:
            head = heads[(kind, display)] = f'{{"kind": {encode_json(kind)}, "value": {encode_json(display)}, "strength": '
        return head

    earlier_via: dict[tuple[str, str], str] = {}

    def via_alone(kind: str, display: str) -> str:
        # What previously_linked_entry writes as "via" for a link of one shared
        # identifier strong enough to say "previously reported" (grade.previously
        # is its test): asked once per identifier, not once per merging pair.
        via = earlier_via.get((kind, display))
        if via is None:
            entry = previously_linked_entry(0, [{"kind": kind, "value": display, "strength": MERGE_THRESHOLD}])
            assert entry is not None
            via = earlier_via[(kind, display)] = entry["via"]
        return via

    def link_rows() -> Iterator[tuple[Any, ...]]:
        # Streamed into COPY, each pair dropped once written: the links are
        # the largest thing the rebuild makes, never all in memory at once.
        while shared:
            (lo, hi), items = shared.popitem()
            if len(items) == 1:
                kind, display, grade = items[0]
                strength = grade.alone
                via = f"[{via_head(kind, display)}{grade.shown}}}]"
                merges = strength >= MERGE_THRESHOLD and (lo, hi) not in separated
                if merges:
                    merging.append((lo, hi))
                    if grade.previously and unit_of[lo] == unit_of[hi]:  # as below, for one identifier
                        previously.append((hi, lo, via_alone(kind, display)))
                yield (lo, hi, strength, merges, JsonText(via), now)
                continue
            miss = 1.0
            for _, _, grade in items:
                miss *= 1.0 - grade.strength
            strength = round(1.0 - miss, 3)  # link_strength
            via = "[" + ", ".join(f"{via_head(kind, display)}{grade.shown}}}" for kind, display, grade in items) + "]"
            merges = strength >= MERGE_THRESHOLD and (lo, hi) not in separated
            if merges:
                merging.append((lo, hi))
                # Only a merging link can carry an account or device strong enough to say "previously reported";
                # only a report of the same unit is "previously reported" (a unit's reasons never count another's reports).
                if unit_of[lo] == unit_of[hi] and any(grade.previously for _, _, grade in items):
                    earlier = previously_linked_entry(lo, [{"kind": kind, "value": display, "strength": round(grade.strength, 3)}
                                                           for kind, display, grade in items])
                    if earlier:
                        previously.append((hi, lo, earlier["via"]))
            # The same JSON as encoding [{"kind", "value", "strength"}], from a cached head per identifier.
            yield (lo, hi, strength, merges, JsonText(via), now)

    n = write_rows(ReportLink, LINK_COLUMNS, link_rows(), table=ctx["table"], line=link_line_at(now))
    return merging, previously, n


def _linkage_line(row: tuple[Any, ...]) -> str:
    rid, root, unit_cluster_id, country, region, decision, evidence, seen_before, notes, at = row
    return (f"{rid}\t{root}\t{unit_cluster_id}\t{copy_text(country)}\t{copy_text(region)}\t{decision}\t{copy_json(evidence)}\t"
            f"{copy_json(seen_before) if seen_before else '[]'}\t{copy_json(notes) if notes else '[]'}\t{at.isoformat()}\n")


def _linkage_part(part: int) -> tuple[int, Any]:
    """The linkage rows of this share of the reports, and `along`'s, written into
    the tables given (from a worker: shadows; here: the rebuild's tables). Returns
    the number of reports and what `along` counted."""
    ctx = _LINKING
    entries, located, previously, weak_keys, stats = ctx["entries"], ctx["located"], ctx["previously"], ctx["weak_keys"], ctx["stats"]
    root_of, unit_of, unit_cluster, now, parts = ctx["root_of"], ctx["unit_of"], ctx["unit_cluster"], ctx["now"], ctx["parts"]
    along: Along | None = ctx["along"]
    extra, sizes = ctx["extra"], ctx["sizes"]
    mine = [rid for rid in ctx["ids"] if rid % parts == part]
    n = 0
    for chunk in _chunks(mine, CHUNK):
        rows, along_rows = [], []
        for rid in chunk:
            j, prior = located[rid]
            notes = [{"kind": kind, "value": display, "weak": weak or weak_keys[key], "reports": stats[key].reports}
                     for kind, key, display, _, _, weak in entries[rid] if weak or weak_keys[key]]
            root = root_of[rid]
            unit_cluster_id = unit_cluster[(root, unit_of[rid])]
            seen_before = prior + sorted(previously.get(rid, []), key=lambda p: p["id"])
            rows.append((rid, root, unit_cluster_id, j["country"] or "", (j["region"] or "")[:100], j["decision"], JsonText(j["evidence"]), seen_before, notes, now))
            if along is not None and rid in extra:  # (not there: gone meanwhile)
                along_rows.append(along.row(rid, extra[rid], ClusterFacts(sizes[unit_cluster_id], len(seen_before), j["decision"], j["country"] or "")))
        n += write_rows(ReportLinkage, LINKAGE_COLUMNS, rows, table=ctx["table"], line=_linkage_line)
        if along is not None:
            write_rows(along.models[0], along.columns, along_rows, table=ctx["along_table"], line=along.line)
    return n, along.tally() if along is not None else None


KEY_COLUMNS = ("key", "kind", "reports", "accounts", "viral", "weak")


def _key_line(row: tuple[Any, ...]) -> str:
    key, kind, reports, accounts, viral, weak = row
    return f"{copy_text(key)}\t{kind}\t{reports}\t{copy_json(accounts) if accounts else '[]'}\t{'t' if viral else 'f'}\t{weak}\n"


def _write_keys(tables: RebuiltTables, kinds: dict[str, str], stats: dict[str, KeyStats], weak_keys: dict[str, str]) -> None:
    tables.write(IdentifierKey, KEY_COLUMNS, ((k, kinds[k], st.reports, sorted(st.accounts), st.viral, weak_keys[k]) for k, st in stats.items()),
                 line=_key_line)


def _finish_table(model: type[models.Model]) -> type[models.Model]:
    """In a worker, once the rows are all written: a new table's indexes and
    statistics (bulkwrite.shadow_finish); the keys' rows are written here first."""
    ctx = _LINKING
    if model is IdentifierKey:
        _write_keys(ctx["tables"], ctx["kinds"], ctx["stats"], ctx["weak_keys"])
    shadow_finish(ctx["tables"], model)
    return model


def linking_rebuild(*, progress: Callable[[str, int], None] | None = None, along: Along | None = None) -> dict[str, Any]:
    """Everything linking derives, from scratch; with `along`, that work too (its
    summary under "along")."""
    say = progress or (lambda stage, n: None)
    region = home_country()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small containers, none cyclic: full collections only re-walk them
    try:
        with rebuilt_tables(ReportLink, IdentifierEntry, IdentifierKey, ReportLinkage, *(along.models if along else ())) as tables:
            return _rebuild(region, say, tables, along)
    finally:
        _CONTEXT.update(region="", entries_table=None, along=None)
        _LINKING.clear()
        if gc_was_enabled:
            gc.enable()


def _rebuild(region: str, say: Callable[[str, int], None], tables: RebuiltTables, along: Along | None) -> dict[str, Any]:
    with transaction.atomic():
        _lock()
        rebuild_begin(tables)
        if along is not None:
            along.begin()
        rebuild_clear(tables)
        ids = list(Report.objects.filter(status=ReportStatus.FINISHED).order_by("id").values_list("id", flat=True))
        workers = workers_for(len(ids))
        # Workers write their entries into the new table themselves (committed in
        # their own sessions: only a shadow, which nobody reads until the swap).
        workers_write = workers > 1 and tables.shadow
        entries: dict[int, list[EntryRow]] = {}
        located: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        # Key statistics and postings are built as the workers' chunks arrive (in
        # report order), while the workers go on with the next ones.
        stats: dict[str, KeyStats] = defaultdict(KeyStats)
        kinds: dict[str, str] = {}
        postings: dict[str, list[tuple[int, str, str]]] = defaultdict(list)  # key → (report, role, display)
        extra: dict[int, Any] = {}  # what `along` made of each report
        _CONTEXT.update(region=region, entries_table=tables.table(IdentifierEntry) if workers_write else None, along=along)
        for rows in map_chunks(_extract_chunk, _ranges(ids, CHUNK), workers=workers):
            for rid, es, j, prior, more in rows:
                # Kept for the linkage rows' notes; when the workers write the entries,
                # only those that can be weak.
                entries[rid] = es if not workers_write else [e for e in es if e[5] or e[0] in WEAKENED_KINDS]
                located[rid] = (j, prior)
                if along is not None and more is not None:
                    extra[rid] = more
                seen: set[str] = set()
                for kind, key, display, role, account, weak in es:
                    st = stats[key]
                    kinds[key] = kind
                    if key not in seen:
                        st.reports += 1
                        seen.add(key)
                    if account and len(st.accounts) < ACCOUNTS_KEPT:
                        st.accounts.add(account)
                    if weak:
                        st.viral = st.viral or weak == "viral_file"
                    else:
                        postings[key].append((rid, role, display))
            say("extract", len(entries))
        ids = [rid for rid in ids if rid in entries]  # finished meanwhile: the incremental path links it
        weak_keys = {k: key_weakness(kinds[k], st) for k, st in stats.items()}

        # Links, then linkage rows, a share of the reports each (by the later report
        # of a pair, by report): in forked workers that read what the parent built
        # and write into the new tables themselves when there are shadows to write
        # into, else here.
        parts = workers if tables.shadow else 1
        now = timezone.now()
        # Only keys that can link: a worker reads all of them, and reading a
        # Python object writes to it (its reference count), so each worker gets
        # its own copy of every page it reads.
        linkable = [(kinds[key], rows) for key, rows in postings.items() if len(rows) > 1 and not weak_keys[key]]
        del postings
        unit_of = dict(Report.objects.filter(status=ReportStatus.FINISHED).values_list("id", "unit_id").iterator(chunk_size=20000))
        _LINKING.update(linkable=linkable, separated=separated_pairs(), now=now, parts=parts, unit_of=unit_of,
                        table=tables.table(ReportLink))
        merging: list[tuple[int, int]] = []
        previously: dict[int, list[dict[str, Any]]] = defaultdict(list)  # report → earlier reports about the same account
        n_links = 0
        for part_merging, part_previously, n in map_chunks(_link_part, range(parts), workers=parts):
            n_links += n
            merging += part_merging
            for hi, lo, via in part_previously:
                previously[hi].append({"id": lo, "reference": str(lo), "via": via})
            say("links", n_links)
        _LINKING.clear()
        del linkable

        if not workers_write:
            _write_keys(tables, kinds, stats, weak_keys)
            tables.write(IdentifierEntry, ENTRY_COLUMNS, (row for rid in ids for row in _entry_rows(rid, entries[rid])))
            say("written", n_links)

        root_of = components(ids, merging)
        del merging
        unit_cluster: dict[tuple[int, int | None], int] = {}
        for rid in ids:  # ascending: the first seen is the smallest
            unit_cluster.setdefault((root_of[rid], unit_of[rid]), rid)
        sizes = Counter(unit_cluster[(root_of[rid], unit_of[rid])] for rid in ids)
        _LINKING.update(ids=ids, entries=entries, located=located, previously=previously, weak_keys=weak_keys, stats=stats, root_of=root_of,
                        unit_of=unit_of, unit_cluster=unit_cluster, now=now, parts=parts, table=tables.table(ReportLinkage),
                        along=along, along_table=tables.table(along.models[0]) if along else None, extra=extra, sizes=sizes)
        count = 0
        tallies = []
        for n, tally in map_chunks(_linkage_part, range(parts), workers=parts):
            count += n
            tallies.append(tally)
            say("linkage", count)
        _LINKING.clear()
        summary = along.finish(count, tallies) if along is not None else None
        out: dict[str, Any] = {"reports": len(ids), "keys": len(stats), "links": n_links, "clusters": len(set(root_of.values()))}
        if workers_write:
            # Every new table but the keys' is full and committed by the workers'
            # sessions: its indexes and statistics are built there too, two tables
            # at a time (one index build after another used 1.4 of the 2 cores),
            # the keys written first by the worker that takes them.
            _LINKING.update(tables=tables, kinds=kinds, stats=stats, weak_keys=weak_keys)
            jobs = [IdentifierEntry, ReportLink, IdentifierKey, *(along.models if along else ()), ReportLinkage]  # the largest first
            for model in map_chunks(_finish_table, jobs, workers=workers):
                tables.finished.add(model)
                say("indexing", count)
            _LINKING.clear()
        swap_in(tables)
        say("indexed", count)
    say("committed", count)
    analyze(*(m for m in tables.models if m not in tables.finished))
    if summary is not None:
        out["along"] = summary
    return out
