"""PDQ matching benchmark (SPEC §5): himaya's index against threatexchange's and a NumPy brute force.

    .venv/bin/python bench/bench_pdq.py                                  # himaya + brute force only
    python3.11 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install numpy threatexchange faiss-cpu
    PYTHONPATH=. /tmp/benchvenv/bin/python bench/bench_pdq.py --sizes 1000000,10000000 --te-max 1000000

threatexchange and faiss are benchmark-only (not project dependencies), so they live in
their own virtual environment; himaya.media.index is pure NumPy and imports without Django.

Hash sets are realistic rather than uniform: families of near-duplicates (sizes from a
heavy-tailed distribution, members 0..45 bits from their root, so many sit right at the
threshold — hard for multi-index hashing), plus ThreatExchange's reference haystack.
Queries: half are perturbed family members (hits), half are unrelated hashes (misses),
as at a unit where most uploads are new. Every index is checked for exact recall
against the brute force on the same queries; all are timed one query at a time, in one
thread (faiss set to 1 OpenMP thread), in the same process.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from himaya.media.index import PDQIndex, hamming_brute_force, hex_to_array  # noqa: E402

HASHSETS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "pdq" / "hashsets"


def families(n: int, rng: np.random.Generator) -> np.ndarray:
    """n hashes in families of near-duplicates (heavy-tailed sizes, 0..45 bit flips from the root)."""
    sizes = np.minimum(rng.zipf(1.6, size=n), 5000)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
    sizes[-1] -= sizes.sum() - n
    roots = rng.integers(0, 256, (len(sizes), 32), dtype=np.uint8)
    out = np.empty((n, 32), dtype=np.uint8)
    family_of = np.repeat(np.arange(len(sizes)), sizes)
    chunk = 500_000
    for start in range(0, n, chunk):
        fam = family_of[start:start + chunk]
        flips = rng.integers(0, 46, len(fam))
        noise = rng.random((len(fam), 256)) < (flips[:, None] / 256.0)
        out[start:start + chunk] = roots[fam] ^ np.packbits(noise, axis=1)
    if HASHSETS.exists():  # the reference haystack, at random places
        hay = hex_to_array(HASHSETS.joinpath("haystack.txt").read_text().split())[: n // 10]
        out[rng.choice(n, len(hay), replace=False)] = hay
    return out


def queries_for(data: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    hits = data[rng.choice(len(data), q // 2)].copy()
    bits = np.unpackbits(hits, axis=1)
    for row in bits:
        row[rng.choice(256, rng.integers(5, 26), replace=False)] ^= 1
    misses = rng.integers(0, 256, (q - q // 2, 32), dtype=np.uint8)
    return np.concatenate([np.packbits(bits, axis=1), misses])


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - t


def run(n: int, nq: int, te_max: int, bf_queries: int, seed: int, te2_max: int = 1_000_000) -> list[dict]:
    rng = np.random.default_rng(seed)
    data = families(n, rng)
    queries = queries_for(data, nq, rng)
    hexes = [h.tobytes().hex() for h in queries]
    rows = []

    # Brute force: the floor, and the ground truth for recall.
    bf_q = min(bf_queries, nq)
    truth, secs = timed(hamming_brute_force, data, queries[:bf_q], 31)
    truth_sets = [set(map(int, r)) for r, _ in truth]
    rows.append(dict(name="numpy brute force", n=n, build=0.0, qps=bf_q / secs, bytes_per_hash=32.0, recall="(truth)"))
    print(rows[-1], flush=True)

    before = rss_mb()
    index, build = timed(PDQIndex, data)
    mem = rss_mb() - before
    t = time.perf_counter()
    found = [set() for _ in range(nq)]
    for i in range(nq):
        _, rows_i, _ = index.search_arrays(queries[i:i + 1])
        found[i] = set(map(int, rows_i))
    secs = time.perf_counter() - t
    ok = all(found[i] == truth_sets[i] for i in range(bf_q))
    rows.append(dict(name="himaya PDQIndex, one query at a time", n=n, build=build, qps=nq / secs, bytes_per_hash=index.nbytes / n,
                     rss_mb=mem, recall="exact" if ok else "MISMATCH", hits=sum(map(len, found))))
    print(rows[-1], flush=True)
    t = time.perf_counter()
    qb, rb, _ = index.search_arrays(queries)
    secs = time.perf_counter() - t
    batch_found = [set() for _ in range(nq)]
    for a, b in zip(qb, rb):
        batch_found[int(a)].add(int(b))
    ok = batch_found == found and ok
    rows.append(dict(name="himaya PDQIndex, one call for all queries", n=n, build=build, qps=nq / secs, bytes_per_hash=index.nbytes / n, recall="exact" if ok else "MISMATCH"))
    print(rows[-1], flush=True)
    del index
    gc.collect()

    if n <= te_max:
        try:
            import faiss
            from threatexchange.signal_type.pdq.pdq_index import PDQIndex as TEPDQIndex
            from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2 as TEPDQIndex2
        except ImportError as exc:
            print(f"threatexchange/faiss not importable ({exc}); skipped", flush=True)
            return rows
        faiss.omp_set_num_threads(1)
        data_hex = [h.tobytes().hex() for h in data]
        for name, cls in (("threatexchange PDQIndex (faiss MIH)", TEPDQIndex), ("threatexchange PDQIndex2 (faiss flat L2)", TEPDQIndex2)):
            if "PDQIndex2" in name and n > te2_max:
                print(f"{name}: skipped above {te2_max:,} hashes (float32 vectors, 1 KiB per hash)", flush=True)
                continue
            before = rss_mb()
            te, build = timed(lambda: cls(entries=((h, i) for i, h in enumerate(data_hex))))
            mem = rss_mb() - before
            q_te = nq if "MIH" in name else min(nq, bf_q)
            t = time.perf_counter()
            te_found = [set(m.metadata for m in te.query(h)) for h in hexes[:q_te]]
            secs = time.perf_counter() - t
            ok = all(te_found[i] == truth_sets[i] for i in range(min(q_te, bf_q)))
            rows.append(dict(name=f"{name}, one query at a time", n=n, build=build, qps=q_te / secs, rss_mb=mem, bytes_per_hash=mem * 1024 * 1024 / n, recall="exact" if ok else "MISMATCH"))
            print(rows[-1], flush=True)
            # The same faiss index searched with the whole batch at once (its fastest path).
            t = time.perf_counter()
            if "MIH" in name:
                te.index.search_with_distance_in_result(hexes[:q_te], 31)
            else:
                te._index.search(hexes[:q_te], 31)
            secs = time.perf_counter() - t
            rows.append(dict(name=f"{name}, one batch", n=n, build=build, qps=q_te / secs, rss_mb=mem, bytes_per_hash=mem * 1024 * 1024 / n, recall="exact" if ok else "MISMATCH"))
            print(rows[-1], flush=True)
            del te
            gc.collect()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--bf-queries", type=int, default=200, help="brute-force queries (the truth for recall)")
    parser.add_argument("--te-max", type=int, default=1_000_000, help="largest size given to threatexchange's indexes")
    parser.add_argument("--te2-max", type=int, default=1_000_000, help="largest size given to PDQIndex2 (1 KiB of RAM per hash)")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} numpy={np.__version__}")
    all_rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        all_rows += run(n, args.queries, args.te_max, args.bf_queries, args.seed, args.te2_max)
    print("\n| hashes | index | build s | queries/s | bytes/hash | recall |\n|---:|---|---:|---:|---:|---|")
    for r in all_rows:
        print(f"| {r['n']:,} | {r['name']} | {r['build']:.1f} | {r['qps']:,.0f} | {r['bytes_per_hash']:.0f} | {r['recall']} |")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
