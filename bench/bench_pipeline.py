"""From arrival to the triage queue (SPEC §5): does the enrichment flow keep up with
intake, and how long does a report wait between its `finish` and its row in the queue?

    .venv/bin/python bench/bench_pipeline.py                       # 2 web workers x 4 threads, 1 task worker, 30 s of intake
    .venv/bin/python bench/bench_pipeline.py --task-workers 2 --duration 60
    .venv/bin/python bench/bench_pipeline.py --database-url postgres://postgres@127.0.0.1:5432/mine --port 18400

The same server and load generator as `bench_intake.py` (PostgreSQL database
`himaya_bench`, dropped and created; `himaya serve` with its task workers; 16 client
connections each submitting and finishing reports back to back). After the intake phase
the script waits (up to `--drain-timeout`) until every finished report's enrichment is
done, then reads from the database, per report, `finished_at` (the finish). When a report
reached the queue is the moment its triage row first appeared, seen by a poller reading
the triage table every 0.5 s during the whole run: the enrichment row's `done_at` is not
that moment, because a cluster that grows sends its members back to triage (their row
leaves `done` and gets a new `done_at`), so with reports that share identifiers it tells
when the re-triage of the cluster settled — printed too, as "settled".

`--documents` distinct documents are sent in turn; fewer than the reports sent means
copies of one document, which share every identifier (clusters that grow with every
copy, a worst case for re-triage): use at least as many documents as the run sends
(e.g. `--documents 8000` at ~150 reports/s for 30 s) for distinct arrivals.

Prints: intake reports/s; the enrichment's throughput during the intake phase (reports
done per second) and its ratio to the intake rate (the same run's baseline: ≥ 1.0 keeps
up); the latency finish → queue p50/p95/p99/max over every report finished in the measured
phase (target p95 < 5 s at 300 reports/s); the backlog when intake stopped and how long it
took to drain; failed enrichments; the task workers' CPU time (from /proc, whatever the
machine's load) per enriched report, from the server's start to the end of the drain
(their idle polling included). The reports carry no files (the media stage is then a
single query); that is said in the output.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_intake as bi  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def task_worker_cpu_seconds(server_pid: int) -> float:
    """User + system CPU of the `himaya worker` processes under this server (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    stats: dict[int, tuple[bytes, float]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{d}/cmdline").read_bytes()
        except OSError:
            continue
        parents[int(d)] = int(st[1])
        stats[int(d)] = (cmd, (int(st[11]) + int(st[12])) / ticks)

    def under(pid: int) -> bool:
        for _ in range(5):
            pid = parents.get(pid, 0)
            if pid == server_pid:
                return True
        return False

    return sum(cpu for pid, (cmd, cpu) in stats.items() if b"himaya\x00worker" in cmd and under(pid))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--task-workers", type=int, default=1)
    ap.add_argument("--documents", type=int, default=300)
    ap.add_argument("--drain-timeout", type=float, default=600.0)
    ap.add_argument("--database-url", default=os.environ.get("HIMAYA_BENCH_DATABASE_URL", bi.DEFAULT_DB))
    ap.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    args = ap.parse_args()
    if args.port:
        bi.free_port = lambda: args.port  # noqa: E731

    home = Path(tempfile.mkdtemp(prefix="himaya-bench-pipeline-"))
    env = dict(os.environ)
    env.update(HIMAYA_HOME=str(home), DATABASE_URL=args.database_url, DJANGO_SETTINGS_MODULE="config.settings.production",
               HIMAYA_LOG_LEVEL="WARNING")
    docs, source = bi.make_documents(args.documents)
    print(f"{len(docs)} distinct report documents from {source} (no files); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bi.prepare(env, args.database_url)
    server = bi.Server(env=env, home=home, web_workers=args.web_workers, threads=args.threads, task_workers=args.task_workers)
    first_seen: dict[int, float] = {}  # report id -> when its triage row was first seen
    polling = threading.Event()

    def poll() -> None:
        import psycopg

        with psycopg.connect(args.database_url, autocommit=True) as c:
            while not polling.is_set():
                now = time.time()
                for (rid,) in c.execute("SELECT report_id FROM triage_reporttriage").fetchall():
                    first_seen.setdefault(int(rid), now)
                polling.wait(0.5)

    poller = threading.Thread(target=poll, daemon=True)
    try:
        poller.start()
        intake = bi.run_load(port=server.port, kind="intake", docs=docs, concurrency=args.concurrency, processes=args.client_processes,
                             warmup=args.warmup, duration=args.duration)
        stopped = time.time()
        q = lambda sql: bi.db_query(args.database_url, sql)  # noqa: E731
        backlog = q("SELECT count(*) FROM reports_report r LEFT JOIN enrichment_reportenrichment e ON e.report_id = r.id "
                    "WHERE r.status = 'finished' AND (e.stage IS NULL OR e.stage <> 'done')")[0][0]
        deadline = stopped + args.drain_timeout
        left = backlog
        while left and time.time() < deadline:
            time.sleep(1.0)
            left = q("SELECT count(*) FROM reports_report r LEFT JOIN enrichment_reportenrichment e ON e.report_id = r.id "
                     "WHERE r.status = 'finished' AND (e.stage IS NULL OR e.stage <> 'done')")[0][0]
        drained = time.time() - stopped
        worker_cpu = task_worker_cpu_seconds(server.proc.pid)
    finally:
        polling.set()
        server.stop()

    # The measured phase in wall-clock time: the load generator's monotonic stamps, moved to epoch.
    offset = time.time() - time.monotonic()
    measured_ids = {r[5] for r in intake.rows if r[2] and r[5]}
    rows = q("SELECT r.id, extract(epoch from r.finished_at), extract(epoch from e.done_at), e.stage, e.error <> '' "
             "FROM reports_report r LEFT JOIN enrichment_reportenrichment e ON e.report_id = r.id WHERE r.status = 'finished'")
    settled = [float(done) - float(fin) for rid, fin, done, stage, _ in rows if rid in measured_ids and done is not None and stage == "done"]
    latencies = [first_seen[rid] - float(fin) for rid, fin, *_ in rows if rid in measured_ids and rid in first_seen]
    failed = sum(1 for *_, err in rows if err)
    t0 = min((r[0] for r in intake.rows), default=0) + offset
    t_measure_end = t0 + intake.window
    done_in_phase = sum(1 for seen in first_seen.values() if t0 <= seen <= t_measure_end)
    intake_rate = len(measured_ids) / intake.window if intake.window else 0.0
    enrich_rate = done_in_phase / intake.window if intake.window else 0.0
    print(f"intake: {len(measured_ids)} reports finished in the measured {intake.window:.1f} s = {intake_rate:.1f} reports/s "
          f"({args.web_workers} web workers x {args.threads} threads, {args.task_workers} task worker(s))")
    print(f"enrichment during the same window: {done_in_phase} reports reached the queue = {enrich_rate:.1f} reports/s; "
          f"ratio enrichment / intake = {enrich_rate / intake_rate if intake_rate else float('nan'):.2f} (>= 1.0 keeps up)")
    print(f"backlog when intake stopped: {backlog} reports; drained in {drained:.1f} s"
          + ("" if not left else f" -- NOT drained, {left} left after {args.drain_timeout:.0f} s"))
    print(f"finish -> queue latency over {len(latencies)} measured reports: p50 {percentile(latencies, .5):.2f} s, "
          f"p95 {percentile(latencies, .95):.2f} s, p99 {percentile(latencies, .99):.2f} s, max {max(latencies, default=float('nan')):.2f} s "
          f"(target p95 < 5 s at 300 reports/s; first triage row, polled every 0.5 s)")
    print(f"finish -> settled (enrichment done, its cluster's re-triage included) over {len(settled)} reports: "
          f"p50 {percentile(settled, .5):.2f} s, p95 {percentile(settled, .95):.2f} s, max {max(settled, default=float('nan')):.2f} s")
    enriched = sum(1 for *_, stage, _err in rows if stage == "done")
    print(f"task worker CPU: {worker_cpu:.1f} s for {enriched} enriched reports = "
          f"{1000 * worker_cpu / enriched if enriched else float('nan'):.1f} ms per report (idle polling included)")
    print(f"failed enrichments: {failed}; load average at the end {os.getloadavg()[0]:.2f}")
    bi.drop_database(args.database_url)


if __name__ == "__main__":
    main()
