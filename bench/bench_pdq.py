"""PDQ matching benchmark (SPEC §5): himaya's index against threatexchange's and a NumPy brute force.

    .venv/bin/python bench/bench_pdq.py                                  # himaya + brute force only
    make .venv-bench/bin/python    # numpy==2.4.6 threatexchange==1.2.17 faiss-cpu==1.15.1, benchmark-only
    PYTHONPATH=. .venv-bench/bin/python bench/bench_pdq.py --sizes 1000000,10000000 --queries 2000 --te-max 10000000

threatexchange and faiss are benchmark-only (not project dependencies), so they live in
their own virtual environment; himaya.media.index is pure NumPy and imports without Django.

Hash sets are realistic rather than uniform: families of near-duplicates (sizes from a
heavy-tailed distribution, members 0..45 bits from their root, so many sit right at the
threshold — hard for multi-index hashing), plus ThreatExchange's reference haystack.
Queries: half are perturbed family members (hits), half are unrelated hashes (misses),
as at a unit where most uploads are new. Every index is checked for exact recall
against the brute force on the same queries, in one thread (faiss set to 1 OpenMP
thread), in the same process: one query at a time, and the whole batch in one call.

Both layouts of himaya's index are measured: "fast" (multi-index tables) and "compact"
(the hashes alone, a batched scan; its one-at-a-time rows use only the first
--single-max queries, each a brute force). Bytes per hash: at rest (`nbytes`: what a
saved index maps), and at the peak of one call for the whole batch (at rest plus what
that call allocates, from tracemalloc, which NumPy reports its buffers to). For
threatexchange, the growth of the process's RSS while it builds.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from himaya.media.index import LAYOUTS, PDQIndex, hamming_brute_force, hex_to_array  # noqa: E402

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


def run_himaya(layout: str, data: np.ndarray, queries: np.ndarray, truth_sets: list[set[int]], bf_q: int, single: int) -> list[dict]:
    """One layout: build, one query at a time (the first `single` queries), one call for all, and memory."""
    n, nq = len(data), len(queries)
    name = f"himaya PDQIndex layout={layout}"
    before = rss_mb()
    index, build = timed(lambda: PDQIndex(data, layout=layout))
    mem = rss_mb() - before
    at_rest = index.nbytes / n
    single = min(single, nq)
    found = [set() for _ in range(single)]
    t = time.perf_counter()
    for i in range(single):
        _, rows_i, _ = index.search_arrays(queries[i:i + 1])
        found[i] = set(map(int, rows_i))
    secs = time.perf_counter() - t
    ok = all(found[i] == truth_sets[i] for i in range(min(single, bf_q)))
    out = [dict(name=f"{name}, one query at a time", n=n, build=build, qps=single / secs, bytes_per_hash=at_rest, rss_mb=mem,
                recall="exact" if ok else "MISMATCH", queries=single)]
    print(out[-1], flush=True)
    t = time.perf_counter()
    qb, rb, _ = index.search_arrays(queries)
    secs = time.perf_counter() - t
    batch_found = [set() for _ in range(nq)]
    for a, b in zip(qb, rb):
        batch_found[int(a)].add(int(b))
    ok = ok and batch_found[:single] == found and all(batch_found[i] == truth_sets[i] for i in range(bf_q))
    # Peak: the index at rest plus what one call for the whole batch allocates (NumPy reports its
    # buffers to tracemalloc), measured in a second, untimed call.
    tracemalloc.start()
    index.search_arrays(queries)
    transient = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out.append(dict(name=f"{name}, one call for all queries", n=n, build=build, qps=nq / secs, bytes_per_hash=at_rest,
                    peak_bytes_per_hash=at_rest + transient / n, recall="exact" if ok else "MISMATCH", queries=nq,
                    hits=sum(map(len, batch_found))))
    print(out[-1], flush=True)
    return out


def run(n: int, nq: int, te_max: int, bf_queries: int, seed: int, te2_max: int = 1_000_000, single_max: int = 200) -> list[dict]:
    rng = np.random.default_rng(seed)
    data = families(n, rng)
    queries = queries_for(data, nq, rng)
    hexes = [h.tobytes().hex() for h in queries]
    rows = []

    # Brute force: the floor, and the ground truth for recall.
    bf_q = min(bf_queries, nq)
    truth, secs = timed(hamming_brute_force, data, queries[:bf_q], 31)
    truth_sets = [set(map(int, r)) for r, _ in truth]
    rows.append(dict(name="numpy brute force (hamming_brute_force)", n=n, build=0.0, qps=bf_q / secs, bytes_per_hash=32.0, recall="(truth)", queries=bf_q))
    print(rows[-1], flush=True)

    for layout in LAYOUTS:
        rows += run_himaya(layout, data, queries, truth_sets, bf_q, single_max if layout == "compact" else nq)
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
            rows.append(dict(name=f"{name}, one query at a time", n=n, build=build, qps=q_te / secs, rss_mb=mem, bytes_per_hash=mem * 1024 * 1024 / n, recall="exact" if ok else "MISMATCH", queries=q_te))
            print(rows[-1], flush=True)
            # The same faiss index searched with the whole batch at once (its fastest path).
            t = time.perf_counter()
            if "MIH" in name:
                te.index.search_with_distance_in_result(hexes[:q_te], 31)
            else:
                te._index.search(hexes[:q_te], 31)
            secs = time.perf_counter() - t
            rows.append(dict(name=f"{name}, one batch", n=n, build=build, qps=q_te / secs, rss_mb=mem, bytes_per_hash=mem * 1024 * 1024 / n, recall="exact" if ok else "MISMATCH", queries=q_te))
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
    parser.add_argument("--single-max", type=int, default=200, help="one-at-a-time queries for layout=compact (a brute force each)")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} numpy={np.__version__}")
    all_rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"# {n:,} hashes: load average {os.getloadavg()[0]:.2f} at the start", flush=True)
        all_rows += run(n, args.queries, args.te_max, args.bf_queries, args.seed, args.te2_max, args.single_max)
        print(f"# {n:,} hashes: load average {os.getloadavg()[0]:.2f} at the end", flush=True)
    print("\n| hashes | index | queries | build s | queries/s | bytes/hash at rest | peak bytes/hash | recall |\n|---:|---|---:|---:|---:|---:|---:|---|")
    for r in all_rows:
        peak = f"{r['peak_bytes_per_hash']:.0f}" if "peak_bytes_per_hash" in r else ""
        print(f"| {r['n']:,} | {r['name']} | {r['queries']:,} | {r['build']:.1f} | {r['qps']:,.0f} | {r['bytes_per_hash']:.0f} | {peak} | {r['recall']} |")
    te = {(r["n"], "batch" if "batch" in r["name"] else "single"): r["qps"] for r in all_rows if "faiss MIH" in r["name"]}
    for r in all_rows:
        if r["name"].startswith("himaya") and (r["n"], "single") in te:
            print(f"{r['n']:,} {r['name']}: {r['qps'] / te[(r['n'], 'single')]:.1f}x threatexchange PDQIndex one at a time, "
                  f"{r['qps'] / te[(r['n'], 'batch')]:.1f}x its batch")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
