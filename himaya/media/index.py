"""An in-memory PDQ index with exact recall at the matching threshold (pure NumPy, no Django).

Both layouts rest on the general pigeonhole principle (Qin et al., "GPH", 2018): cut
the 256 bits into m pieces and give piece i a radius r_i with sum(r_i + 1) = t + 1. If
two hashes are within distance t, some piece i differs in at most r_i bits — otherwise
the distance would be at least sum(r_i + 1) = t + 1. Candidates are the hashes that
share, within its radius, some piece with the query; each gets its full distance.
Nothing is approximate: every hash within t is returned.

layout="fast" (the default): multi-index hashing. Each piece has a table: the row ids
sorted by that piece's value and the bucket offsets; a query reads only the buckets
within r_i of each of its pieces. The piece width follows the size: about log2(N) bits
(16 to 22), so a bucket holds a few rows at any N. At 10 M hashes: 12 pieces of 21-22
bits (radius 2 on eight, 1 on four), about 1,950 bucket reads and 9,000 candidates per
query, against 272 reads and 45,000 candidates with 16 pieces of 16 bits. Memory: the
hashes (32 bytes), one uint32 row id per table (4 bytes x m), and the bucket offsets
(uint32, about 4 x 2^bits per table): 93 bytes per hash at 10 M. Building is m argsorts.

layout="compact": the hashes alone, 32 bytes per hash at rest, no build. A batch of
queries is answered by the same pigeonhole turned inside out (`_compact_scan`): per
piece, one pass over that piece of every stored hash against a map of the batch's probe
values. One query is a brute force (`_compact_brute`). Quick for batches (a re-match of
stored files against a list, the 8 dihedral hashes of a file, the frames of a video),
slow for a lone query. Why no layout is both small and quick for one query: any table
that lists rows by a piece value costs about log2(N) bits per row (Elias-Fano: 2 + the
piece's width), 12 tables about 35 bytes per hash at 10 M on top of the hashes; fewer,
wider tables need radii of 4-5 per piece and tens of thousands of probes per query.

Each worker process builds its own from the database on first use and when lists
change, or maps a saved one (`save`/`load`); see himaya.media.services.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np


def hex_to_array(hashes: Iterable[str]) -> np.ndarray:
    """(N, 32) uint8 from 64-digit hex strings."""
    joined = "".join(hashes)
    if not joined:
        return np.zeros((0, 32), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex(joined), dtype=np.uint8).reshape(-1, 32)


def _flip_masks(bits: int, radius: int) -> np.ndarray:
    masks = [0]
    for r in range(1, radius + 1):
        for chosen in combinations(range(bits), r):
            m = 0
            for b in chosen:
                m |= 1 << b
            masks.append(m)
    return np.array(masks, dtype=np.int64)


def hamming_brute_force(data: np.ndarray, queries: np.ndarray, threshold: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The floor: every query against every hash. Returns (row ids, distances) per query."""
    words = np.ascontiguousarray(data).view(np.uint64)
    out = []
    for q in np.ascontiguousarray(queries).view(np.uint64):
        d = np.bitwise_count(words ^ q).sum(axis=1, dtype=np.uint16)
        hit = np.flatnonzero(d <= threshold)
        out.append((hit, d[hit]))
    return out


def plan(size: int, threshold: int) -> list[tuple[int, int, int]]:
    """(first bit, width, radius) per piece; radius -1 means the piece is not probed."""
    width = int(min(22, max(16, np.ceil(np.log2(max(size, 2))))))
    m = max(1, round(256 / width))
    narrow, wide = 256 // m, 256 % m  # `wide` pieces get one more bit
    widths = [narrow + 1] * wide + [narrow] * (m - wide)
    units = threshold + 1  # sum(r_i + 1) = t + 1
    radii = [-1 + units // m] * m
    # The extra radius goes to the narrowest pieces: fewer flip masks there.
    for i in sorted(range(m), key=lambda k: widths[k])[: units % m]:
        radii[i] += 1
    out, first = [], 0
    for w, r in zip(widths, radii):
        out.append((first, w, min(r, w)))
        first += w
    return out


def _pieces(hashes: np.ndarray, pieces: list[tuple[int, int, int]]) -> np.ndarray:
    """(n, m) piece values (uint32) from (n, 32) hash bytes; bit 0 is the most significant bit of byte 0."""
    padded = np.zeros((len(hashes), 35), dtype=np.uint32)  # a piece (<= 25 bits from any bit offset) spans at most 4 bytes
    padded[:, :32] = hashes
    out = np.empty((len(hashes), len(pieces)), dtype=np.uint32)
    for i, (first, width, _) in enumerate(pieces):
        byte = first // 8
        word = (padded[:, byte] << 24) | (padded[:, byte + 1] << 16) | (padded[:, byte + 2] << 8) | padded[:, byte + 3]
        out[:, i] = (word >> np.uint32(32 - first % 8 - width)) & np.uint32((1 << width) - 1)
    return out


# ---------------------------------------------------------------- the compact layout
#
# At rest: the hashes and nothing else, as four contiguous columns of 64-bit words
# (32 bytes per hash). A batch of queries is answered by the same pigeonhole as the
# tables, turned inside out: per piece, the batch's probe values (each query's piece
# with every flip mask within the piece's radius) go into a map of 2^width slots, and
# one pass over that piece of every stored hash (a shift, a mask, a gather from the
# map) yields the (row, query) pairs that share a probed value; only those pairs get a
# full distance. No sort of the stored hashes, no per-row tables: what a batch pays is
# one pass per piece (amortised over the batch) plus its candidates, as in the tables.
# A small batch is cheaper as a brute force over two words, then the other two for
# the few rows within the threshold on the first 128 bits.

# Nanoseconds per unit on the bench machine (2-vCPU EPYC, NumPy 2.4); they only pick a
# plan and a path, never a result.
_NS_PROBE, _NS_PAIR, _NS_SCAN, _NS_BRUTE = 60.0, 50.0, 3.0, 4.5
_CHUNK = 1 << 16  # rows per step of a pass: its temporaries stay in cache
_BATCH = (256, 4096)  # queries per pass, about size / 512 within these bounds: its probe arrays stay small beside the hashes


def _ball(bits: int, radius: int) -> int:
    return sum(comb(bits, k) for k in range(radius + 1)) if radius >= 0 else 0


def compact_plan(size: int, threshold: int, batch: int = 1000) -> list[tuple[int, int, int]]:
    """(first bit, width, radius) per piece for the compact layout; radius -1: not probed.

    Pieces never straddle a 64-bit word (bit b is bit b % 64 of word b // 64, in the
    machine's order — queries are read the same way). Each word is cut in 3 or 4; the
    radii (general pigeonhole: sum(r_i + 1) = t + 1) are chosen by a small knapsack
    that minimises the estimated time of a batch: per probed piece one pass over the
    stored hashes, and per query its probes and its expected candidates.
    """
    units = threshold + 1
    best: tuple[float, list[tuple[int, int, int]]] | None = None
    for parts in (3, 4):
        widths = [64 // parts + (1 if j < 64 % parts else 0) for j in range(parts)] * 4
        inf = float("inf")
        cost = [0.0] + [inf] * units
        picks = []
        for w in widths:
            new, pick = [inf] * (units + 1), [0] * (units + 1)
            for used in range(units + 1):
                if cost[used] == inf:
                    continue
                for u in range(min(w + 1, units - used) + 1):  # u = radius + 1; 0 = not probed
                    c = cost[used]
                    if u:
                        c += batch * _ball(w, u - 1) * (_NS_PROBE + _NS_PAIR * size / 2**w) + size * _NS_SCAN
                    if c < new[used + u]:
                        new[used + u], pick[used + u] = c, u
            cost = new
            picks.append(pick)
        if cost[units] == inf:  # threshold beyond what these pieces can cover
            continue
        radii, left = [], units
        for pick in reversed(picks):
            radii.append(pick[left] - 1)
            left -= pick[left]
        radii.reverse()
        pieces, first = [], 0
        for w, r in zip(widths, radii):
            pieces.append((first, w, r))
            first += w
        if best is None or cost[units] < best[0]:
            best = (cost[units], pieces)
    if best is None:  # a threshold past what the pieces can cover (> 267): no piece probed, a brute force
        return [(64 * k, 64, -1) for k in range(4)]
    return best[1]


def _piece_word(first: int, width: int) -> tuple[int, int, int]:
    """(word, shift, mask) of a compact piece: value = (word >> shift) & mask."""
    return first // 64, first % 64, (1 << width) - 1


def _compact_search(cols: np.ndarray, pieces: list[tuple[int, int, int]], threshold: int,
                    queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = cols.shape[1]
    # The same hash asked twice (a re-match of stored copies of one file) is searched once.
    distinct, inverse = np.unique(queries.view(np.dtype((np.void, 32))).ravel(), return_inverse=True)
    if len(distinct) < len(queries):
        u, r, d = _compact_search(cols, pieces, threshold, distinct.view(np.uint8).reshape(-1, 32))
        # u is sorted: the matches of distinct query j are u_start[j]:u_start[j + 1]. Query i gets
        # those of inverse[i], copied in query order, so nothing needs sorting.
        u_start = np.searchsorted(u, np.arange(len(distinct) + 1))
        del u
        inverse = inverse.ravel()
        lengths = (u_start[1:] - u_start[:-1])[inverse]
        ends = np.cumsum(lengths)
        total = int(ends[-1])
        src = np.repeat(u_start[:-1][inverse] - (ends - lengths), lengths)
        src += np.arange(total, dtype=np.int64)
        q = np.repeat(np.arange(len(queries), dtype=np.int64), lengths)
        return q, r[src], d[src]
    qcols = np.ascontiguousarray(queries.view(np.uint64).T)  # (4, Q)
    probed = [p for p in pieces if p[2] >= 0]
    # Matches travel packed, (query in its batch * N + row) << 9 | distance, one int64 each:
    # sorted in place, and unpacked into the three int64 answers only at the end. A batch
    # with millions of matches (queries into big families) costs about 32-40 bytes per
    # match at its peak, 24 of them the answer itself.
    packed = []
    batch = min(max(n // 512, _BATCH[0]), _BATCH[1])
    for start in range(0, len(queries), batch):
        qb = qcols[:, start:start + batch]
        per_query = sum(_ball(w, r) * (_NS_PROBE + _NS_PAIR * n / 2**w) for _, w, r in probed)
        scan = len(probed) * n * _NS_SCAN + qb.shape[1] * per_query
        if not probed or qb.shape[1] * n * _NS_BRUTE <= scan:
            found = _compact_brute(cols, qb, threshold)
        else:
            found = _compact_scan(cols, probed, threshold, qb)
        found.sort()
        packed.append(found)
    total = sum(len(f) for f in packed)
    q, r, d = (np.empty(total, dtype=np.int64) for _ in range(3))
    at = 0
    for i, found in enumerate(packed):
        k = len(found)
        np.bitwise_and(found, 511, out=d[at:at + k])
        np.right_shift(found, 9, out=found)
        np.floor_divide(found, n, out=q[at:at + k])
        np.subtract(found, q[at:at + k] * n, out=r[at:at + k])
        q[at:at + k] += i * batch
        packed[i] = None
        at += k
    return q, r, d


def _pack(qs: np.ndarray, rows: np.ndarray, dist: np.ndarray, n: int) -> np.ndarray:
    """(query * n + row) << 9 | distance, as int64: a query within its batch (< 4,096), a distance <= 256, n < 2^41."""
    out = qs.astype(np.int64)
    out *= n
    out += rows
    out <<= 9
    out |= dist
    return out


def _packed(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _compact_brute(cols: np.ndarray, qcols: np.ndarray, threshold: int) -> np.ndarray:
    """Every (query, row) within the threshold, packed: the first two words of every row, the last two of the few left."""
    n, nq = cols.shape[1], qcols.shape[1]
    chunk = max(1024, _CHUNK // max(1, nq))
    out = []
    c0w, c1w, c2w, c3w = cols
    for c0 in range(0, n, chunk):
        a, b = c0w[c0:c0 + chunk], c1w[c0:c0 + chunk]
        d = np.bitwise_count(a[None, :] ^ qcols[0][:, None])
        d += np.bitwise_count(b[None, :] ^ qcols[1][:, None])
        qi, ri = np.nonzero(d <= threshold)
        if len(qi) == 0:
            continue
        rows = ri + c0
        dist = d[qi, ri].astype(np.int64)
        dist += np.bitwise_count(c2w[rows] ^ qcols[2][qi])
        dist += np.bitwise_count(c3w[rows] ^ qcols[3][qi])
        keep = dist <= threshold
        out.append(_pack(qi[keep], rows[keep], dist[keep], n))
    return _packed(out)


def _compact_scan(cols: np.ndarray, probed: list[tuple[int, int, int]], threshold: int,
                  qcols: np.ndarray) -> np.ndarray:
    """The batched pigeonhole scan (see above); a pair reached through several pieces is reported by the first.

    Per piece: the batch's probe values sorted and grouped (value -> a run of query ids),
    a byte map of the probed values (2^width bytes: a gather from it stays in cache,
    where an int32 slot map of 16 MB would miss the TLB on every row), and a slot map
    read only for the rows that hit. The pass writes into preallocated buffers: on this
    VM a fresh 2 MB temporary per step costs more in page faults than the arithmetic.
    """
    n = cols.shape[1]
    icols = cols.view(np.int64)  # the same bits; int64 shifts and indices avoid casts
    iq = qcols.view(np.int64)
    widest = 1 << max(w for _, w, _ in probed)
    hit_map = np.zeros(widest, dtype=np.bool_)
    slot = np.full(widest, -1, dtype=np.int32)
    chunk = min(_CHUNK, max(n, 1))
    v_buf, hit_buf = np.empty(chunk, dtype=np.int64), np.empty(chunk, dtype=np.bool_)
    out = []
    for piece, (first, width, radius) in enumerate(probed):
        word, shift, mask = _piece_word(first, width)
        # The batch's probes, grouped by value: value -> a run of query ids. One int64 per
        # probe, value << 13 | query (a batch holds at most 4,096 queries), sorted in place.
        flips = _flip_masks(width, radius)
        probes = ((iq[word] >> shift) & mask)[:, None] ^ flips[None, :]  # (Q, P) int64
        probes <<= 13
        probes |= np.arange(len(probes), dtype=np.int64)[:, None]
        probes = probes.ravel()
        probes.sort()
        probe_query = (probes & 8191).astype(np.int32)
        probes >>= 13
        values = probes.astype(np.int32)
        del probes
        firsts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]])).astype(np.int32)
        runs = np.diff(np.append(firsts, np.int32(len(values))))
        distinct = values[firsts]
        del values
        hit_map[distinct] = True
        slot[distinct] = np.arange(len(firsts), dtype=np.int32)
        # verified first: this piece's word and its neighbour (128 bits), then the other two
        w1 = word ^ 1
        w2, w3 = [k for k in range(4) if k not in (word, w1)]
        col = icols[word]
        for c0 in range(0, n, chunk):
            x = col[c0:c0 + chunk]
            k = len(x)
            v, h = v_buf[:k], hit_buf[:k]
            np.right_shift(x, shift, out=v)
            np.bitwise_and(v, mask, out=v)
            np.take(hit_map, v, out=h, mode="clip")
            hit = np.flatnonzero(h)
            if len(hit) == 0:
                continue
            s = np.take(slot, v[hit], mode="clip")
            # Level j pairs each hit row with the j-th query of its value's run: most runs
            # hold one query, so the levels shrink fast and nothing is expanded.
            rows, level = hit, 0
            while len(rows):
                if level < 4:
                    qs = probe_query[np.take(firsts, s) + level]
                else:  # long runs (queries alike in this piece): expand what is left at once
                    cnt = np.take(runs, s) - level
                    ends = np.cumsum(cnt)
                    starts = np.repeat(np.take(firsts, s) + level - (ends - cnt), cnt)
                    rows = np.repeat(rows, cnt)
                    qs = probe_query[starts + np.arange(len(rows))]
                    s = None
                d = np.bitwise_count(cols[word, c0:c0 + k][rows] ^ qcols[word][qs])
                d += np.bitwise_count(cols[w1, c0:c0 + k][rows] ^ qcols[w1][qs])
                near = np.flatnonzero(d <= threshold)
                if len(near):
                    r_near, q_near = rows[near], qs[near]
                    dist = d[near].astype(np.int64)
                    dist += np.bitwise_count(cols[w2, c0:c0 + k][r_near] ^ qcols[w2][q_near])
                    dist += np.bitwise_count(cols[w3, c0:c0 + k][r_near] ^ qcols[w3][q_near])
                    keep = np.flatnonzero(dist <= threshold)
                    if len(keep) and piece:  # reported by the first piece that reaches it, once
                        keep = keep[~_reached_before(cols, qcols, probed[:piece], r_near[keep] + c0, q_near[keep])]
                    out.append(_pack(q_near[keep], r_near[keep] + c0, dist[keep], n))
                if s is None:
                    break
                level += 1
                more = np.flatnonzero(np.take(runs, s) > level)
                rows, s = rows[more], s[more]
        hit_map[distinct] = False
        slot[distinct] = -1
    return _packed(out)


def _reached_before(cols: np.ndarray, qcols: np.ndarray, earlier: list[tuple[int, int, int]], rows: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Whether an earlier piece of the plan is within its radius for each (row, query) pair: that piece reported it."""
    seen = np.zeros(len(rows), dtype=np.bool_)
    for word in {f // 64 for f, _, _ in earlier}:
        x = cols[word][rows] ^ qcols[word][qs]
        for first, width, radius in earlier:
            if first // 64 == word:
                _, shift, mask = _piece_word(first, width)
                seen |= np.bitwise_count((x >> shift) & mask) <= radius
    return seen


@dataclass
class Match:
    query: int  # position of the query in the batch
    row: int  # row of the indexed hash
    distance: int


LAYOUTS = ("fast", "compact")


class PDQIndex:
    """Every indexed hash within `threshold` bits of a query, exactly.

    layout="fast" (the default): multi-index hashing tables, quick for single queries,
    about 93 bytes per hash at 10 M. layout="compact": the hashes alone (32 bytes per
    hash), searched by a batched scan; see `_CompactSearch`. Both answer the same.
    """

    def __init__(self, hashes: np.ndarray, *, threshold: int = 31, layout: str = "fast") -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
        hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, 32)
        self.threshold = threshold
        self.layout = layout
        self.size = n = len(hashes)
        if layout == "compact":
            self.pieces = compact_plan(n, threshold)
            # (4, N): one contiguous row per 64-bit word, so a scan of one word reads only it
            self._cols = np.ascontiguousarray(hashes.view(np.uint64).T)
            return
        self._words = hashes.view(np.uint64)  # (N, 4) for popcount distance
        self.pieces = plan(n, threshold)
        probed = [i for i, (_, _, r) in enumerate(self.pieces) if r >= 0]
        values = np.empty((n, len(self.pieces)), dtype=np.uint32)
        for start in range(0, n, 1 << 20):  # bounded temporary memory
            values[start:start + (1 << 20)] = _pieces(hashes[start:start + (1 << 20)], self.pieces)
        self._order = np.empty((len(probed), n), dtype=np.uint32)
        offsets, self._offset_base = [], []
        probe_table, probe_mask, base = [], [], 0
        for t, i in enumerate(probed):
            _, width, radius = self.pieces[i]
            column = values[:, i]
            self._order[t] = np.argsort(column, kind="stable")
            counts = np.bincount(column, minlength=1 << width)
            offsets.append(np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32 if n < 2**32 else np.int64))
            self._offset_base.append(base)
            base += (1 << width) + 1
            masks = _flip_masks(width, radius)
            probe_table.append(np.full(len(masks), t, dtype=np.int64))
            probe_mask.append(masks)
        del values
        self._probed = np.array(probed, dtype=np.int64)
        self._offsets = np.concatenate(offsets) if offsets else np.zeros(1, dtype=np.uint32)
        self._offset_base = np.array(self._offset_base, dtype=np.int64)
        self._probe_table = np.concatenate(probe_table) if probe_table else np.zeros(0, dtype=np.int64)
        self._probe_mask = np.concatenate(probe_mask) if probe_mask else np.zeros(0, dtype=np.int64)
        self._flat_order = self._order.reshape(-1)

    _ARRAYS = ("_words", "_order", "_offsets", "_offset_base", "_probed", "_probe_table", "_probe_mask")

    def save(self, folder: Path) -> None:
        """Write the arrays as .npy files, so other processes can map them instead of building."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.layout == "compact":
            np.save(folder / "cols.npy", self._cols)
            np.save(folder / "plan.npy", np.array([self.threshold, self.size, *np.array(self.pieces).ravel()], dtype=np.int64))
            (folder / "layout.txt").write_text("compact\n")
            return
        (folder / "layout.txt").write_text("fast\n")
        for name in self._ARRAYS:
            np.save(folder / f"{name.strip('_')}.npy", getattr(self, name))
        np.save(folder / "plan.npy", np.array([self.threshold, self.size, *np.array(self.pieces).ravel()], dtype=np.int64))

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> "PDQIndex":
        """Map a saved index read-only: worker processes share its pages through the OS cache."""
        index = cls.__new__(cls)
        header = np.load(folder / "plan.npy")
        index.threshold, index.size = int(header[0]), int(header[1])
        index.pieces = [tuple(int(v) for v in p) for p in header[2:].reshape(-1, 3)]
        layout_file = folder / "layout.txt"  # absent in folders written before there were layouts
        index.layout = layout_file.read_text().strip() if layout_file.exists() else "fast"
        if index.layout == "compact":
            index._cols = np.load(folder / "cols.npy", mmap_mode="r" if mmap else None)
            return index
        for name in cls._ARRAYS:
            setattr(index, name, np.load(folder / f"{name.strip('_')}.npy", mmap_mode="r" if mmap else None))
        index._flat_order = index._order.reshape(-1)
        return index

    @classmethod
    def from_hex(cls, hashes: Iterable[str], *, threshold: int = 31, layout: str = "fast") -> "PDQIndex":
        return cls(hex_to_array(hashes), threshold=threshold, layout=layout)

    @property
    def nbytes(self) -> int:
        """Bytes held at rest (the arrays a saved index maps), not the transient memory of a search."""
        if self.layout == "compact":
            return self._cols.nbytes
        return self._words.nbytes + self._order.nbytes + self._offsets.nbytes

    def search_arrays(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query positions, rows, distances) of every indexed hash within the threshold of each query.

        Per query: bucket bounds for every (piece, flip mask) at once, one gather of the
        candidates' row ids, then their full distances. The candidates are sorted first
        so the gather of their hashes walks memory in order — it is latency-bound — and
        a row reached through several pieces is reported once.
        """
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, 32)
        empty = np.zeros(0, dtype=np.int64)
        if self.size == 0 or len(queries) == 0:
            return empty, empty, empty
        if self.layout == "compact":
            return _compact_search(self._cols, self.pieces, self.threshold, queries)
        out_q, out_r, out_d = [], [], []
        q_values = _pieces(queries, self.pieces)[:, self._probed].astype(np.int64)  # (Q, probed)
        slots = self._offset_base[self._probe_table]
        table_base = self._probe_table * self.size
        for i, query in enumerate(queries):
            probes = slots + (q_values[i][self._probe_table] ^ self._probe_mask)
            starts = self._offsets[probes].astype(np.int64)
            lengths = self._offsets[probes + 1].astype(np.int64) - starts
            total = int(lengths.sum())
            if total == 0:
                continue
            ends = np.cumsum(lengths)
            positions = np.repeat(starts + table_base - (ends - lengths), lengths) + np.arange(total, dtype=np.int64)
            rows = np.sort(self._flat_order[positions])
            counts = np.bitwise_count(self._words[rows] ^ query.view(np.uint64))
            d = counts[:, 0] + counts[:, 1] + counts[:, 2] + counts[:, 3]
            keep = d <= self.threshold
            if keep.any():
                hit_rows, first = np.unique(rows[keep], return_index=True)
                out_q.append(np.full(len(hit_rows), i, dtype=np.int64))
                out_r.append(hit_rows.astype(np.int64))
                out_d.append(d[keep][first].astype(np.int64))
        if not out_q:
            return empty, empty, empty
        return np.concatenate(out_q), np.concatenate(out_r), np.concatenate(out_d)

    def search(self, queries: np.ndarray) -> list[Match]:
        q, r, d = self.search_arrays(queries)
        return [Match(int(a), int(b), int(c)) for a, b, c in zip(q, r, d)]

    def search_hex(self, queries: Iterable[str]) -> list[Match]:
        return self.search(hex_to_array(queries))
