"""An arriving report's enrichment, this tree's flow against another version of
`himaya/enrichment/services.py` (a file given, e.g. `git show HEAD:...`), alternated
report by report in one process on one database (the same minutes, the same load):
wall ms p50/p95, CPU ms (process time) and statements per report, and the bare-fetch
baseline of `bench_triage.py` (a `Report` and its identifiers).

    git show HEAD:himaya/enrichment/services.py > /tmp/old_enrichment.py
    .venv/bin/python bench/bench_triage.py --reports 100000 --load-only --keep --database-url postgres://.../DB
    .venv/bin/python bench/bench_triage.py --reports 100000 --incremental 0 --reuse --keep --database-url postgres://.../DB
    .venv/bin/python bench/bench_enrichment_ab.py --other /tmp/old_enrichment.py --reports 100000 --database-url postgres://.../DB

The database must hold an earlier `bench_triage.py --keep` run of that size (linked and
triaged); the reports added here are left in it (a few hundred).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import setup_django  # noqa: E402


def summary(name: str, wall: list[float], cpu: list[float], stmts: list[int], base: float) -> str:
    q = statistics.quantiles(wall, n=100)
    p50, p95 = statistics.median(wall) * 1000, q[94] * 1000
    return (f"{name}: {len(wall)} reports, wall p50 {p50:.1f} ms, p95 {p95:.1f} ms (ratio to the bare fetch p50 {base:.2f} ms: "
            f"p50 {p50 / base:.0f}x, p95 {p95 / base:.0f}x); CPU p50 {statistics.median(cpu) * 1000:.1f} ms, "
            f"mean {statistics.fmean(cpu) * 1000:.1f} ms; statements p50 {statistics.median(stmts):.0f}, max {max(stmts)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--other", required=True, help="another version of himaya/enrichment/services.py")
    ap.add_argument("--reports", type=int, default=100_000, help="the size of the kept bench_triage database")
    ap.add_argument("--incremental", type=int, default=200, help="reports per version")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    home = Path(tempfile.gettempdir()) / "himaya-bench-triage-kept"
    os.environ["HIMAYA_KEY_DIR"] = str(home / "keys")
    setup_django(args.database_url, home)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import bench_triage as bt
    from himaya.accounts.services import unit_get_or_create
    from himaya.enrichment import services as this
    from himaya.reports.models import Identifier, Report

    spec = importlib.util.spec_from_file_location("other_enrichment_services", args.other)
    assert spec and spec.loader
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    unit = unit_get_or_create(code="bench")
    world = bt.World(random.Random(args.seed), max(10, args.reports // 3))
    world.rng.seed(args.seed + args.reports + 7)  # new reports about the same people
    runs = {"this tree": this.report_reenrich, "other": other.report_reenrich}
    wall: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    stmts: dict[str, list[int]] = {k: [] for k in runs}
    base: list[float] = []
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    for i in range(2 * (args.incremental + args.warmup)):
        name = "this tree" if i % 2 == 0 else "other"
        rid = bt.make_reports(1, start_at=0, world=world, unit=unit, now=datetime.now(UTC))[0]
        t0 = time.perf_counter()
        r = Report.objects.get(id=rid)
        list(Identifier.objects.filter(report=r))
        fetched = time.perf_counter() - t0
        connection.queries_log.clear()  # the log keeps 9,000 statements: counted from empty each time
        with CaptureQueriesContext(connection) as ctx:
            c0, t0 = time.process_time(), time.perf_counter()
            runs[name](report_id=rid)
            took, cpu_took = time.perf_counter() - t0, time.process_time() - c0
        if i < 2 * args.warmup:
            continue
        base.append(fetched)
        wall[name].append(took)
        cpu[name].append(cpu_took)
        stmts[name].append(len(ctx.captured_queries))
    b50 = statistics.median(base) * 1000
    for name in runs:
        print(summary(name, wall[name], cpu[name], stmts[name], b50), flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
