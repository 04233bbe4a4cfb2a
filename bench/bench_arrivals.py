"""Arrivals one at a time against arrivals taken together, in one process on one kept
database (the same minutes, the same load): the worker CPU and the statements each
arriving report costs, the clusters it grew triaged again included.

    .venv/bin/python bench/bench_triage.py --reports 100000 --load-only --keep --database-url postgres://.../DB
    .venv/bin/python bench/bench_triage.py --reports 100000 --incremental 0 --reuse --keep --database-url postgres://.../DB
    .venv/bin/python bench/bench_arrivals.py --reports 100000 --arrivals 400 --database-url postgres://.../DB

Each round stores `--arrivals` new reports about the bench world's people (so most join
a cluster of before, as a unit's caseload does), then runs them either way:

* one at a time (the baseline): `report_arrived` for each, then every report sent back to
  triage, one at a time (what a worker did before arrivals were batched);
* together: their waiting rows written as finish writes them, then each arrival's own
  task (`report_received`'s receiver) in order — the first takes the others waiting
  with it — and every report sent back to triage, as the workers' runs take them.

Prints CPU ms (process time) and statements per arriving report, each way, and the
ratio. The database must hold an earlier `bench_triage.py --keep` run of that size; the
reports added here are left in it.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import setup_django  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=100_000, help="the size of the kept bench_triage database")
    ap.add_argument("--arrivals", type=int, default=400, help="reports per round")
    ap.add_argument("--rounds", type=int, default=2, help="rounds per way, alternated")
    ap.add_argument("--database-url", required=True)
    args = ap.parse_args()
    home = Path(tempfile.gettempdir()) / "himaya-bench-triage-kept"
    os.environ["HIMAYA_KEY_DIR"] = str(home / "keys")
    os.environ.setdefault("HIMAYA_TASK_BACKEND", "database")
    setup_django(args.database_url, home)
    from django.conf import settings
    from django.db import connection

    import bench_triage as bt
    from himaya.accounts.services import unit_get_or_create
    from himaya.enrichment.models import ReportEnrichment, Stage
    from himaya.enrichment.receivers import on_report_received
    from himaya.enrichment.services import arrivals_note, report_arrived, report_enrich, reports_enrich_batch

    # The runs a change queues are driven here, not by a worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    unit = unit_get_or_create(code="bench")
    world = bt.World(random.Random(17), max(10, args.reports // 3))
    world.rng.seed(int(time.time()))

    def one_at_a_time(ids: list[int]) -> None:
        for rid in ids:
            report_arrived(report_id=rid)
        while True:
            waiting = list(ReportEnrichment.objects.exclude(stage=Stage.DONE).values_list("report_id", flat=True)[:1000])
            if not waiting:
                return
            for rid in waiting:
                report_enrich(report_id=rid)

    def together(ids: list[int]) -> None:
        arrivals_note(report_ids=ids)
        for rid in ids:
            on_report_received(None, report_id=rid)
        while ReportEnrichment.objects.exclude(stage=Stage.DONE).exists():
            reports_enrich_batch(report_ids=[], top_up=True)  # a run of the queue: it takes what waits

    ways = {"one at a time (baseline)": one_at_a_time, "together": together}
    cpu = {k: 0.0 for k in ways}
    statements = {k: 0 for k in ways}
    done = {k: 0 for k in ways}
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    for n in range(args.rounds * len(ways)):
        name = list(ways)[n % len(ways)]
        ids = bt.make_reports(args.arrivals, start_at=0, world=world, unit=unit, now=datetime.now(UTC))
        counted = [0]

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            counted[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            c0 = time.process_time()
            ways[name](ids)
            cpu[name] += time.process_time() - c0
        statements[name] += counted[0]
        done[name] += len(ids)
        print(f"  round {n + 1}: {name}, {len(ids)} arrivals, {1000 * (time.process_time() - c0) / len(ids):.1f} ms CPU each", flush=True)
    for name in ways:
        print(f"{name}: {1000 * cpu[name] / done[name]:.2f} ms CPU and {statements[name] / done[name]:.1f} statements per arriving report "
              f"(re-triage of the clusters it grew included)", flush=True)
    base, new = (1000 * cpu[k] / done[k] for k in ways)
    print(f"ratio baseline / together: {base / new:.1f}x less CPU per arrival; load average at the end {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
