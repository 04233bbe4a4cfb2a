"""An in-memory PDQ index with exact recall at the matching threshold (pure NumPy, no Django).

Multi-index hashing with the general pigeonhole principle (Qin et al., "GPH", 2018):
cut the 256 bits into m pieces and give piece i a radius r_i with
sum(r_i) = t - m + 1. If two hashes are within distance t, some piece i differs in at
most r_i bits — otherwise the distance would be at least sum(r_i + 1) = t + 1. Each
piece has a table: the row ids sorted by that piece's value and the bucket offsets.
A query reads only the buckets within r_i of each of its pieces and checks the
candidates' full distances. Nothing is approximate: every hash within t is returned.

The piece width follows the size: about log2(N) bits (16 to 22), so a bucket holds a
few rows at any N. At 10 M hashes: 12 pieces of 21-22 bits (radius 2 on eight, 1 on
four), about 1,950 bucket reads and 9,000 candidates per query, against 272 reads and
45,000 candidates with 16 pieces of 16 bits.

Memory: the hashes (32 bytes), one uint32 row id per table (4 bytes x m), and the
bucket offsets (uint32, about 4 x 2^bits per table). Building is m argsorts; each
worker process builds its own from the database on first use and when lists change.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
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


@dataclass
class Match:
    query: int  # position of the query in the batch
    row: int  # row of the indexed hash
    distance: int


class PDQIndex:
    def __init__(self, hashes: np.ndarray, *, threshold: int = 31) -> None:
        hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, 32)
        self.threshold = threshold
        self.size = n = len(hashes)
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
        for name in cls._ARRAYS:
            setattr(index, name, np.load(folder / f"{name.strip('_')}.npy", mmap_mode="r" if mmap else None))
        index._flat_order = index._order.reshape(-1)
        return index

    @classmethod
    def from_hex(cls, hashes: Iterable[str], *, threshold: int = 31) -> "PDQIndex":
        return cls(hex_to_array(hashes), threshold=threshold)

    @property
    def nbytes(self) -> int:
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
