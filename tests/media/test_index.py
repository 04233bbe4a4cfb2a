"""The PDQ index returns exactly what a brute force returns within the threshold (pure), in every layout."""
from __future__ import annotations

import numpy as np
import pytest

import himaya.media.index as index_module
from himaya.media.index import LAYOUTS, PDQIndex, compact_plan, hamming_brute_force, hex_to_array, plan
from tests.conftest import REFERENCE, needs_reference

HASHSETS = REFERENCE / "pdq" / "hashsets"


@pytest.fixture(params=["fast", "compact-scan", "compact-brute"])
def layout(request, monkeypatch):
    """Every layout; the compact one through both of its paths (the cost model picks one per batch)."""
    if request.param == "compact-scan":
        monkeypatch.setattr(index_module, "_NS_BRUTE", 1e9)  # the batched pigeonhole scan, even for one query
    elif request.param == "compact-brute":
        monkeypatch.setattr(index_module, "_NS_BRUTE", 0.0)  # the two-stage brute force, even for a big batch
    return request.param.split("-")[0]


def _as_set(index_matches):
    return sorted((m.query, m.row, m.distance) for m in index_matches)


def _brute(data, queries, t):
    return sorted((i, int(r), int(d)) for i, (rows, ds) in enumerate(hamming_brute_force(data, queries, t)) for r, d in zip(rows, ds))


def _flip(hashes, rng, counts, *, span=256):
    """Each hash with exactly counts[i] distinct bits flipped, all among its first `span` bits."""
    bits = np.unpackbits(hashes, axis=1)
    for row, k in zip(bits, counts):
        row[rng.choice(span, int(k), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


@needs_reference
def test_reference_haystack_and_needles(layout):
    haystack = hex_to_array(HASHSETS.joinpath("haystack.txt").read_text().split())
    needles = hex_to_array(HASHSETS.joinpath("needles.txt").read_text().split())
    got = _as_set(PDQIndex(haystack, layout=layout).search(needles))
    assert got == _brute(haystack, needles, 31) and len(got) > 100


@pytest.mark.parametrize("threshold, families", [(0, 50), (15, 50), (31, 50), (47, 50), (31, 4000), (20, 4000)])
def test_exact_recall_on_families_of_near_duplicates(layout, threshold, families):
    # fast: 2,000 hashes use 16 pieces of 16 bits; 160,000 use 14 pieces of 18-19 bits with mixed radii.
    # compact: 12 word-aligned pieces of 21-22 bits or 16 of 16, radii from its cost model.
    rng = np.random.default_rng(threshold)
    roots = rng.integers(0, 256, (families, 32), dtype=np.uint8)
    bits = np.unpackbits(np.repeat(roots, 40, axis=0), axis=1)
    # family members differ from their root by 0..45 random bits: many sit right at the threshold
    flips = rng.integers(0, 46, len(bits))
    bits ^= (rng.random(bits.shape) < flips[:, None] / 256).astype(np.uint8)
    data = np.packbits(bits, axis=1)
    queries = np.concatenate([data[rng.choice(len(data), 30)], roots[:10], rng.integers(0, 256, (10, 32), dtype=np.uint8)])
    assert _as_set(PDQIndex(data, threshold=threshold, layout=layout).search(queries)) == _brute(data, queries, threshold)


@pytest.mark.parametrize("span", [256, 64, 40])
def test_the_threshold_edge_exactly(layout, span):
    """Members exactly 29..34 bits from their root, the flips spread, packed into one word, or into two pieces:
    every one at 31 is found, none at 32 is."""
    rng = np.random.default_rng(span)
    roots = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    counts = np.tile(np.arange(29, 35), 300 * 8 // 6)[: 300 * 8]
    members = _flip(np.repeat(roots, 8, axis=0), rng, counts, span=span)
    noise = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    data = np.concatenate([noise[:10_000], members, noise[10_000:]])
    index = PDQIndex(data, threshold=31, layout=layout)
    got = _as_set(index.search(roots))
    assert got == _brute(data, roots, 31)
    found = {(q, r - 10_000) for q, r, _ in got}
    should = {(i // 8, i) for i in range(len(members)) if counts[i] <= 31}
    assert should <= found and not any(counts[i] > 31 for _, i in found if 0 <= i < len(members))
    assert {d for *_, d in got} >= {29, 30, 31}


def _piece_bits(index, first, width):
    """The positions in np.unpackbits order of a piece's bits, as the index's layout reads them."""
    if index.layout == "fast":  # bit 0 is the most significant bit of byte 0
        return list(range(first, first + width))
    # compact: bit b is bit b % 64 of the machine's 64-bit word b // 64
    little = np.little_endian
    out = []
    for b in range(first, first + width):
        word, bit = divmod(b, 64)
        byte = 8 * word + (bit // 8 if little else 7 - bit // 8)
        out.append(8 * byte + 7 - bit % 8)
    return out


def test_the_pigeonhole_edge_found_through_one_piece_only(layout):
    """Members at distance 31 whose flips fill every piece just past its radius except one (piece j, at
    its radius): only piece j can find each of them. A plan with one radius unit short misses them."""
    rng = np.random.default_rng(11)
    noise = rng.integers(0, 256, (5_000, 32), dtype=np.uint8)
    probe = PDQIndex(noise, threshold=31, layout=layout)  # same size, same plan as below
    pieces = [p for p in probe.pieces if p[2] >= 0]
    roots = rng.integers(0, 256, (len(pieces), 32), dtype=np.uint8)
    members = []
    for j, root in enumerate(roots):
        # every piece one flip past its radius, then piece j brought back by what exceeds 31
        # (one flip, when sum(r_i + 1) = 32 as the pigeonhole needs)
        flips = [r + 1 for _, _, r in pieces]
        excess = sum(flips) - 31
        flips[j] -= max(excess, 0)
        flips[(j + 1) % len(flips)] += max(-excess, 0)  # a plan short of 32 units: all past their radius
        bits = np.unpackbits(root)
        for (first, width, _), k in zip(pieces, flips):
            bits[rng.choice(_piece_bits(probe, first, width), k, replace=False)] ^= 1
        members.append(np.packbits(bits))
    data = np.concatenate([noise[:-len(roots)], np.array(members)])
    assert {int(d) for d in np.bitwise_count(np.array(members).view(np.uint64) ^ roots.view(np.uint64)).sum(axis=1)} == {31}
    got = _as_set(PDQIndex(data, threshold=31, layout=layout).search(roots))
    assert got == _brute(data, roots, 31)
    assert {(q, r) for q, r, _ in got} >= {(j, len(data) - len(roots) + j) for j in range(len(roots))}


def test_duplicate_and_alike_queries_are_each_answered(layout):
    rng = np.random.default_rng(9)
    data = rng.integers(0, 256, (30_000, 32), dtype=np.uint8)
    data[20_000:20_050] = _flip(np.repeat(data[:1], 50, axis=0), rng, np.full(50, 31))
    same = np.repeat(data[:3], 40, axis=0)  # one file stored many times
    alike = _flip(np.repeat(data[:1], 100, axis=0), rng, np.full(100, 2), span=24)  # long runs in a piece
    queries = np.concatenate([same, alike, data[3:40], same[:5]])
    assert _as_set(PDQIndex(data, layout=layout).search(queries)) == _brute(data, queries, 31)


def test_empty_index_answers_nothing(layout):
    empty = PDQIndex(np.zeros((0, 32), dtype=np.uint8), layout=layout)
    assert empty.search(np.zeros((1, 32), dtype=np.uint8)) == []
    assert PDQIndex(np.zeros((3, 32), dtype=np.uint8), layout=layout).search(np.zeros((0, 32), dtype=np.uint8)) == []


def test_a_saved_index_maps_back_and_answers_the_same(tmp_path, layout):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    queries = np.concatenate([data[:20], rng.integers(0, 256, (5, 32), dtype=np.uint8)])
    built = PDQIndex(data, threshold=31, layout=layout)
    built.save(tmp_path / "idx")
    loaded = PDQIndex.load(tmp_path / "idx")
    arrays = loaded._words if layout == "fast" else loaded._cols
    assert isinstance(arrays, np.memmap) and loaded.pieces == built.pieces and loaded.layout == layout
    assert _as_set(loaded.search(queries)) == _as_set(built.search(queries)) == _brute(data, queries, 31)
    assert PDQIndex.load(tmp_path / "idx", mmap=False).search_hex([h.hex() for h in map(bytes, queries)]) == loaded.search(queries)


def test_a_folder_saved_before_layouts_loads_as_fast(tmp_path):
    data = np.random.default_rng(6).integers(0, 256, (500, 32), dtype=np.uint8)
    PDQIndex(data).save(tmp_path / "idx")
    (tmp_path / "idx" / "layout.txt").unlink()
    loaded = PDQIndex.load(tmp_path / "idx")
    assert loaded.layout == "fast" and _as_set(loaded.search(data[:5])) == _brute(data, data[:5], 31)


def test_compact_holds_the_hashes_alone():
    data = np.random.default_rng(7).integers(0, 256, (10_000, 32), dtype=np.uint8)
    assert PDQIndex(data, layout="compact").nbytes == 32 * len(data) < PDQIndex(data).nbytes
    assert LAYOUTS == ("fast", "compact")
    with pytest.raises(ValueError):
        PDQIndex(data, layout="tiny")


@pytest.mark.parametrize("size", [100, 200_000, 10_000_000])
@pytest.mark.parametrize("threshold", [0, 8, 31, 47])
def test_plans_satisfy_the_pigeonhole(size, threshold):
    """sum(r_i + 1) = t + 1 over disjoint pieces (and compact pieces never straddle a 64-bit word)."""
    for pieces in (plan(size, threshold), compact_plan(size, threshold)):
        assert sum(r + 1 for _, _, r in pieces) == threshold + 1
        assert all(0 <= r + 1 <= w + 1 for _, w, r in pieces)
        ends = [f + w for f, w, _ in pieces]
        assert [f for f, _, _ in pieces][1:] == ends[:-1] and ends[-1] <= 256
    assert all(f // 64 == (f + w - 1) // 64 for f, w, _ in compact_plan(size, threshold))
