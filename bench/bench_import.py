"""Bulk import: `himaya import FOLDER` of valid reports (SPEC §5: ≥ 2,000 reports/s,
1 M reports in < 10 min), against baselines measured in the same run.

    .venv/bin/python bench/bench_import.py                        # 5,000 reports, PostgreSQL himaya_bench_import (SQLite if absent)
    .venv/bin/python bench/bench_import.py --reports 20000 --database-url sqlite:////tmp/x.sqlite3

Steps, each on a fresh database (the PostgreSQL one is dropped and created):

1. N + K synthetic reports (`himaya.demo.generator`, report.xml only, no files) written as
   a folder of report folders in the `export_report` layout.
2. Floor, in this process: reading, parsing, XSD-validating and checking every one of the
   N documents (`batch.prepare`), no database — what no import can go below on one core.
3. Baseline, in this process: the one-at-a-time path (`report_import`, one transaction and
   one queued task per report) on the K other reports.
4. Measured: `himaya import FOLDER --json` as an operator runs it (a new process, its
   start-up included), on the N reports; the JSON summary must say N imported.
5. Idempotence: the same command again must import 0 (N duplicates), timed too.

Prints reports/s of each, the ratio measured ÷ baseline and measured ÷ floor, and the
projection to 1 M reports. Not a test: it never fails a build.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import database_url, drop_pg, fresh_pg, setup_django  # noqa: E402

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/himaya_bench_import"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=5000, help="N, imported by the command")
    parser.add_argument("--baseline-reports", type=int, default=300, help="K, imported one at a time")
    parser.add_argument("--floor-reports", type=int, default=2000, help="how many of the N the floors are measured on")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--copies", type=int, default=1,
                        help="write each generated report this many times, each copy a distinct document (a trailing comment): "
                             "the generator is slow on a busy machine; the import parses and stores every copy")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="himaya-bench-import-"))
    url = database_url(args.database_url, DEFAULT_PG, home)
    if url.startswith("postgres"):
        fresh_pg(url)
    setup_django(url, home)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from himaya.accounts.permissions import OPERATOR
    from himaya.accounts.services import unit_get_or_create
    from himaya.demo.generator import generate_reports
    from himaya.intake.batch import _Job, build_one, prepare
    from himaya.intake.bulk import ImportProblem, report_import, scan
    from himaya.reports.models import Report

    unit = unit_get_or_create(code="intake")
    package, sample = home / "package", home / "sample"
    sizes: list[int] = []
    t = time.perf_counter()
    generated = list(generate_reports(-(-args.reports // args.copies) + args.baseline_reports, seed=args.seed))
    xmls = [r.xml + f"<!-- copy {k} -->".encode() if k else r.xml for k in range(args.copies) for r in generated[:-args.baseline_reports]]
    xmls = xmls[:args.reports] + [r.xml for r in generated[-args.baseline_reports:]]
    for i, xml in enumerate(xmls):
        folder = (package if i < args.reports else sample) / f"{i:07d}"
        folder.mkdir(parents=True)
        (folder / "report.xml").write_bytes(xml)
        sizes.append(len(xml))
    sizes.sort()
    print(f"{args.reports} + {args.baseline_reports} reports written in {time.perf_counter() - t:.1f} s; "
          f"size median {sizes[len(sizes) // 2]} B, max {sizes[-1]} B; database {url.split('@')[-1]}", flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)

    from django.utils import timezone

    raws = [(folder / "report.xml").read_bytes() for folder in sorted(package.iterdir())[:args.floor_reports]]
    t, c, now = time.perf_counter(), time.process_time(), timezone.now()
    for raw in raws:
        prepare(raw, now=now)
    floor = len(raws) / (time.perf_counter() - t)
    floor_cpu = (time.process_time() - c) / len(raws) * 1000
    print(f"floor (parse, validate, check; one core, no database): {floor:,.0f} reports/s, CPU {floor_cpu:.2f} s per 1,000", flush=True)
    # The whole CPU part of the batched import: read, parse, check and build the rows (encrypted fields included).
    found = [s for s in scan(package) if not isinstance(s, ImportProblem)][:args.floor_reports]
    job = _Job(unit_id=unit.id, origin="import", now=now)
    t, c = time.perf_counter(), time.process_time()
    for source in found:
        build_one(source, job)
    build_rate = len(found) / (time.perf_counter() - t)
    build_cpu = (time.process_time() - c) / len(found) * 1000
    print(f"floor + rows (read, parse, validate, check, build the rows; one core, no database): {build_rate:,.0f} reports/s, "
          f"CPU {build_cpu:.2f} s per 1,000", flush=True)

    sources = [s for s in scan(sample) if not isinstance(s, ImportProblem)]
    t, c = time.perf_counter(), time.process_time()
    for source in sources:
        report_import(source=source, unit=unit, actor=OPERATOR)
    baseline = len(sources) / (time.perf_counter() - t)
    baseline_cpu = (time.process_time() - c) / len(sources) * 1000
    print(f"baseline (report_import one at a time, {len(sources)} reports): {baseline:,.0f} reports/s, "
          f"CPU {baseline_cpu:.2f} s per 1,000 (this process)", flush=True)

    from django.db import connection

    connection.close()
    # The command as an operator runs it: its own default settings (tasks queued in the database).
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=url, HIMAYA_HOME=str(home))
    command = [str(ROOT / ".venv/bin/himaya"), "import", str(package), "--json", "--unit", "intake"]
    cpu0 = os.times()
    t = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    cpu1 = os.times()
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:])
        raise SystemExit("himaya import failed")
    summary = json.loads(done.stdout)
    measured = summary["imported"] / elapsed
    child_cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    measured_cpu = child_cpu / max(1, summary["imported"]) * 1000
    print(f"measured (`himaya import` of the folder, start-up included): {summary['imported']} imported, {summary['failed']} failed, "
          f"in {elapsed:.1f} s = {measured:,.0f} reports/s; the command's CPU (its workers included, not PostgreSQL's) "
          f"{child_cpu:.1f} s = {measured_cpu:.2f} s per 1,000", flush=True)
    t = time.perf_counter()
    again = json.loads(subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout)
    print(f"again (idempotence): {again['imported']} imported, {len(again['duplicates'])} duplicates in {time.perf_counter() - t:.1f} s", flush=True)

    stored = Report.objects.filter(unit=unit).count()
    print(f"stored: {stored} reports (expected {args.reports + len(sources)})")
    print(f"ratio measured ÷ baseline: {measured / baseline:.1f}x; measured ÷ floor: {measured / floor:.2f}; "
          f"CPU per report baseline ÷ measured: {baseline_cpu / measured_cpu:.1f}x")
    print(f"projection: 1 M reports in {1_000_000 / measured / 60:.1f} min (target < 10 min, 2,000 reports/s)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if not args.keep and url.startswith("postgres"):
        drop_pg(url)


if __name__ == "__main__":
    main()
