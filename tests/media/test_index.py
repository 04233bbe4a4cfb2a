"""The PDQ index returns exactly what a brute force returns within the threshold (pure)."""
from __future__ import annotations

import numpy as np
import pytest

from himaya.media.index import PDQIndex, hamming_brute_force, hex_to_array
from tests.conftest import REFERENCE

HASHSETS = REFERENCE / "pdq" / "hashsets"


def _as_set(index_matches):
    return sorted((m.query, m.row, m.distance) for m in index_matches)


def _brute(data, queries, t):
    return sorted((i, int(r), int(d)) for i, (rows, ds) in enumerate(hamming_brute_force(data, queries, t)) for r, d in zip(rows, ds))


def test_reference_haystack_and_needles():
    haystack = hex_to_array(HASHSETS.joinpath("haystack.txt").read_text().split())
    needles = hex_to_array(HASHSETS.joinpath("needles.txt").read_text().split())
    got = _as_set(PDQIndex(haystack).search(needles))
    assert got == _brute(haystack, needles, 31) and len(got) > 100


@pytest.mark.parametrize("threshold, families", [(0, 50), (15, 50), (31, 50), (47, 50), (31, 4000), (20, 4000)])
def test_exact_recall_on_families_of_near_duplicates(threshold, families):
    # 2,000 hashes use 16 pieces of 16 bits; 160,000 use 14 pieces of 18-19 bits with mixed radii.
    rng = np.random.default_rng(threshold)
    roots = rng.integers(0, 256, (families, 32), dtype=np.uint8)
    bits = np.unpackbits(np.repeat(roots, 40, axis=0), axis=1)
    # family members differ from their root by 0..45 random bits: many sit right at the threshold
    flips = rng.integers(0, 46, len(bits))
    bits ^= (rng.random(bits.shape) < flips[:, None] / 256).astype(np.uint8)
    data = np.packbits(bits, axis=1)
    queries = np.concatenate([data[rng.choice(len(data), 30)], roots[:10], rng.integers(0, 256, (10, 32), dtype=np.uint8)])
    assert _as_set(PDQIndex(data, threshold=threshold).search(queries)) == _brute(data, queries, threshold)


def test_empty_index_answers_nothing():
    assert PDQIndex(np.zeros((0, 32), dtype=np.uint8)).search(np.zeros((1, 32), dtype=np.uint8)) == []


def test_a_saved_index_maps_back_and_answers_the_same(tmp_path):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    queries = np.concatenate([data[:20], rng.integers(0, 256, (5, 32), dtype=np.uint8)])
    built = PDQIndex(data, threshold=31)
    built.save(tmp_path / "idx")
    loaded = PDQIndex.load(tmp_path / "idx")
    assert isinstance(loaded._words, np.memmap) and loaded.pieces == built.pieces
    assert _as_set(loaded.search(queries)) == _as_set(built.search(queries)) == _brute(data, queries, 31)
