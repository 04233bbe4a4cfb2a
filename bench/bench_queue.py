"""Triage queue under load: 20 staff users paging the queue of a unit with 1 M
reports (SPEC §5: queue page p95 < 300 ms with 20 concurrent users).

    # the database filled and triaged by bench_triage.py (1 M reports: --reports 1000000 --keep)
    HIMAYA_KEY_DIR=/tmp/himaya-bench-triage-kept/keys .venv/bin/python bench/bench_queue.py
    .venv/bin/python bench/bench_queue.py --think 0 --duration 60      # closed loop: as fast as the server answers
    .venv/bin/python bench/bench_queue.py --database-url postgres://postgres@127.0.0.1:5432/himaya_bench_queue_dev

Against an EXISTING database (never dropped, truncated or otherwise emptied):
  1. applies any migration not yet applied (indexes), and VACUUM ANALYZEs the
     three tables the queue reads, as autovacuum would have on a live server
     (off on the bench server; --no-vacuum to measure as found);
  2. creates (idempotently, `user_create`) --users intake analysts in the unit
     that holds the reports (--unit, default "bench");
  3. starts `himaya serve` (gunicorn, no task worker: nothing in the database is
     processed) on a free loopback port;
  4. logs every user in through the login form (CSRF token from the form, the
     session cookie from the answer);
  5. baseline, same run: GET /health by the same users with the same think time;
  6. the users load queue pages from a mix — page 1, priority=P1, overdue=1,
     decision=foreign, pages 2–5, and cluster=<id>&reviewed=all (the link the
     queue itself offers) on clusters of the unit — each waiting --think seconds
     between pages. An answer counts only if it is 200 and shows queue rows
     (or, for a filter the data has no rows for, the "no report matches" page).

Prints p50/p95/p99/max per page kind and overall, req/s, errors, the ratios to
/health, where the CPU went (server vs PostgreSQL), and what the active
PostgreSQL backends waited for. Nothing is written outside a temporary
directory (removed unless --keep) and the users, sessions and audit events
that logging in leaves in the database.
"""
from __future__ import annotations

import argparse
import collections
import http.client
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import CLK_TCK, ROOT, PgWaits, Server, _connect  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/himaya_bench_triage"
DEFAULT_KEY_DIR = "/tmp/himaya-bench-triage-kept/keys"
PASSWORD = "bench-queue-pass-123"
TARGET_P95_MS = 300.0
# What a user opens, and how often: the first page most, then the filters a
# shift lead uses, paging on, and the cluster link of a row.
MIX = [("page 1", 30), ("priority=P1", 15), ("overdue=1", 15), ("decision=foreign", 10), ("pages 2-5", 20), ("cluster", 10)]
TABLES = ("triage_reporttriage", "linking_reportlinkage", "reports_report")

CSRF_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
ROW = b'data-report="'
EMPTY = b'<div class="empty">'


# ---------------------------------------------------------------------------
# The database: migrations, statistics, users, what the queue holds
# ---------------------------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass
class Data:
    unit_id: int
    reports: int
    triaged: int
    unreviewed: int
    clusters: list[int]
    has_rows: dict[str, bool]


def prepare_database(args, env: dict[str, str]) -> Data:  # type: ignore[no-untyped-def]
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from himaya.accounts.models import Unit, User
    from himaya.accounts.services import user_create
    from himaya.triage.selectors import triage_queue_for_user

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending and not args.no_migrate:
        print(f"applying {len(pending)} migration(s): {', '.join(f'{m.app_label}.{m.name}' for m, _ in pending)}", flush=True)
        call_command("migrate", verbosity=0)
    elif pending:
        print(f"NOT applied ({len(pending)}): {', '.join(f'{m.app_label}.{m.name}' for m, _ in pending)}")
    with connection.cursor() as cur:
        cur.execute("SELECT relname, coalesce(greatest(last_analyze, last_autoanalyze)::text, 'never') FROM pg_stat_user_tables "
                    "WHERE relname = ANY(%s) ORDER BY relname", [list(TABLES)])
        print("statistics last gathered: " + ", ".join(f"{t} {w[:19]}" for t, w in cur.fetchall()), flush=True)
        cur.execute("SHOW autovacuum")
        autovacuum = cur.fetchone()[0]
    if not args.no_vacuum:
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
        print(f"VACUUM (ANALYZE) {', '.join(TABLES)}: {time.perf_counter() - t:.1f} s (autovacuum on this server: {autovacuum})", flush=True)

    try:
        unit = Unit.objects.get(code=args.unit)
    except Unit.DoesNotExist:
        raise SystemExit(f"no unit {args.unit!r} in {args.database_url}: fill it first with bench/bench_triage.py --keep") from None
    t = time.perf_counter()
    for i in range(args.users):
        user_create(username=f"bench-queue-{i:02d}", password=PASSWORD, roles=["intake_analyst"], unit_code=args.unit)
    print(f"{args.users} intake analysts in unit {args.unit!r} (created or updated in {time.perf_counter() - t:.1f} s)", flush=True)

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports_report WHERE unit_id = %s", [unit.id])
        reports = cur.fetchone()[0]
        cur.execute("SELECT count(*), count(*) FILTER (WHERE reviewed_at IS NULL) FROM triage_reporttriage WHERE unit_id = %s", [unit.id])
        triaged, unreviewed = cur.fetchone()
        # Clusters a user would open: those of the rows at the top of the queue,
        # and the unit's largest ones.
        cur.execute("SELECT l.unit_cluster_id FROM triage_reporttriage t JOIN linking_reportlinkage l ON l.report_id = t.report_id "
                    "WHERE t.unit_id = %s AND t.reviewed_at IS NULL ORDER BY t.effective_priority, t.due_at, t.received_at, t.report_id "
                    "LIMIT 250", [unit.id])
        clusters = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT l.unit_cluster_id FROM triage_reporttriage t JOIN linking_reportlinkage l ON l.report_id = t.report_id "
                    "WHERE t.unit_id = %s GROUP BY 1 ORDER BY count(*) DESC LIMIT 10", [unit.id])
        clusters |= {r[0] for r in cur.fetchall()}
    user = User.objects.get(username="bench-queue-00")
    now = timezone.now()

    def any_rows(**kw) -> bool:  # type: ignore[no-untyped-def]
        return triage_queue_for_user(user, now=now, **kw).exists()

    has_rows = {"page 1": any_rows(), "priority=P1": any_rows(priority="P1"), "overdue=1": any_rows(overdue=True),
                "decision=foreign": any_rows(decision="foreign"), "pages 2-5": unreviewed > 4 * 50, "cluster": bool(clusters)}
    connection.close()
    return Data(unit.id, reports, triaged, unreviewed, sorted(clusters), has_rows)


# ---------------------------------------------------------------------------
# Users: log in through the form, then page the queue
# ---------------------------------------------------------------------------


def _cookies(resp: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for name, value in resp.getheaders():
        if name.lower() == "set-cookie":
            k, _, v = value.split(";", 1)[0].partition("=")
            jar[k.strip()] = v.strip()


def _send(box: list, port: int, method: str, path: str, jar: dict[str, str], body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    h = dict(headers or {})
    if jar:
        h["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
    for attempt in (0, 1):
        try:
            if box[0] is None:
                box[0] = _connect(port)
            box[0].request(method, path, body=body, headers=h)
            r = box[0].getresponse()
            data = r.read()
            _cookies(r, jar)
            if r.getheader("Connection", "").lower() == "close":
                box[0].close()
                box[0] = None
            return r.status, data, r
        except (http.client.HTTPException, OSError):
            if box[0] is not None:
                box[0].close()
            box[0] = None
            if attempt:
                raise
    raise AssertionError


def login(port: int, username: str) -> dict[str, str]:
    """The session cookie of a user logged in through the real form."""
    jar: dict[str, str] = {}
    box: list = [None]
    status, body, _ = _send(box, port, "GET", "/accounts/login/", jar)
    m = CSRF_RE.search(body)
    if status != 200 or not m or "csrftoken" not in jar:
        raise SystemExit(f"login form: HTTP {status}, CSRF token {'found' if m else 'missing'}")
    form = urlencode({"csrfmiddlewaretoken": m.group(1).decode(), "username": username, "password": PASSWORD, "next": "/triage/"}).encode()
    status, body, r = _send(box, port, "POST", "/accounts/login/", jar, form, {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login of {username} failed: HTTP {status} {r.getheader('Location')!r}")
    box[0].close()
    return jar


@dataclass
class Phase:
    kind: str  # "health" | "queue"
    t_start: float
    t_measure: float
    t_end: float


def pick(rng: random.Random, clusters: list[int]) -> tuple[str, str]:
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    query = {"page 1": "", "priority=P1": "?priority=P1", "overdue=1": "?overdue=1", "decision=foreign": "?decision=foreign",
             "pages 2-5": f"?page={rng.randint(2, 5)}", "cluster": f"?cluster={rng.choice(clusters)}&reviewed=all" if clusters else ""}[kind]
    return kind, "/triage/" + query


def _user_main(port: int, phase: Phase, jar: dict[str, str], think: float, clusters: list[int], has_rows: dict[str, bool],
               seed: int, out: list) -> None:
    rng = random.Random(seed)
    box: list = [None]
    time.sleep(max(0.0, phase.t_start - time.monotonic()) + rng.random() * min(think, 1.0))  # users do not click in step
    while True:
        t0 = time.monotonic()
        if t0 >= phase.t_end:
            break
        kind, path = ("health", "/health") if phase.kind == "health" else pick(rng, clusters)
        try:
            status, body, _ = _send(box, port, "GET", path, jar)
            t1 = time.monotonic()
            if status != 200:
                verdict = f"HTTP {status}"
            elif kind == "health":
                verdict = "ok"
            elif ROW in body:
                verdict = "ok" if has_rows[kind] else "rows where none were expected"
            elif EMPTY in body and not has_rows[kind]:
                verdict = "ok"
            else:
                verdict = "no queue rows" if b'id="id_username"' not in body else "logged out"
        except Exception as exc:  # counted, never fatal
            t1 = time.monotonic()
            verdict = f"exception {type(exc).__name__}"
        out.append((t0, t1, verdict == "ok", kind, verdict))
        if think > 0:
            time.sleep(rng.expovariate(1 / think))  # think times vary around the mean --think
    if box[0] is not None:
        box[0].close()


def _process_main(port: int, phase: Phase, jars: list[dict[str, str]], think: float, clusters: list[int], has_rows: dict[str, bool],
                  seed: int, queue) -> None:  # type: ignore[no-untyped-def]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outs: list[list] = [[] for _ in jars]
    ts = [threading.Thread(target=_user_main, args=(port, phase, jar, think, clusters, has_rows, seed * 1000 + i, outs[i]))
          for i, jar in enumerate(jars)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    queue.put([row for o in outs for row in o])


@dataclass
class Result:
    rows: list  # measured
    all_rows: list
    window: float
    cpu: dict[str, float]
    cpu_window: float
    pg_waits: str

    def ok(self, kind: str | None = None) -> list:
        return [r for r in self.rows if r[2] and (kind is None or r[3] == kind)]

    def pct(self, q: float, kind: str | None = None) -> float:
        vals = sorted(r[1] - r[0] for r in self.ok(kind))
        if not vals:
            return float("nan")
        return vals[min(len(vals) - 1, int(q / 100 * len(vals)))] * 1000

    def rate(self, kind: str | None = None) -> float:
        return len(self.ok(kind)) / self.window if self.window > 0 else 0.0

    def errors(self, kind: str | None = None) -> int:
        return sum(1 for r in self.rows if not r[2] and (kind is None or r[3] == kind))


def run_load(*, port: int, kind: str, jars: list[dict[str, str]], think: float, warmup: float, duration: float, processes: int,
             data: Data, sampler, pg_url: str | None) -> Result:  # type: ignore[no-untyped-def]
    processes = max(1, min(processes, len(jars)))
    start = time.monotonic() + 0.5
    phase = Phase(kind, start, start + warmup, start + warmup + duration)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    groups = [jars[i::processes] for i in range(processes)]
    procs = [ctx.Process(target=_process_main, args=(port, phase, g, think, data.clusters, data.has_rows, 31 + i, queue), daemon=True)
             for i, g in enumerate(groups)]
    for p in procs:
        p.start()
    client_pids = {p.pid for p in procs}
    waits = PgWaits(pg_url, phase.t_measure, phase.t_end) if pg_url else None
    if waits:
        waits.start()
    time.sleep(max(0.0, phase.t_measure - time.monotonic()))
    cpu0, t0 = sampler(client_pids), time.monotonic()
    time.sleep(max(0.0, phase.t_end - time.monotonic() - 0.05))
    cpu1, t1 = sampler(client_pids), time.monotonic()
    rows: list = []
    for _ in procs:
        rows.extend(queue.get())
    for p in procs:
        p.join()
    if waits:
        waits.stop.set()
        waits.join()
    measured = [r for r in rows if phase.t_measure <= r[0] < phase.t_end]
    cpu = cpu_delta(cpu0, cpu1)
    return Result(measured, rows, phase.t_end - phase.t_measure, cpu, t1 - t0, waits.summary() if waits else "")


# ---------------------------------------------------------------------------
# CPU from /proc: this server's processes and this database's backends only
# (other sessions on the machine have their own servers and databases)
# ---------------------------------------------------------------------------


def make_sampler(server_pid: int, db_url: str):  # type: ignore[no-untyped-def]
    import psycopg

    name = db_url.rsplit("/", 1)[1].split("?")[0]
    conn = psycopg.connect(db_url, autocommit=True)

    def sample(client_pids: set[int]) -> dict[str, dict[int, float]]:
        backends = {r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])}
        parent, cpu = {}, {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parent[int(d)] = int(fields[1])
                cpu[int(d)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        server, todo = set(), [server_pid]
        children = collections.defaultdict(list)
        for pid, pp in parent.items():
            children[pp].append(pid)
        while todo:
            pid = todo.pop()
            server.add(pid)
            todo += children.get(pid, [])
        out: dict[str, dict[int, float]] = {"web (himaya serve)": {}, "postgresql (this database)": {}, "load generator": {}}
        for pid, v in cpu.items():
            kind = ("web (himaya serve)" if pid in server else "postgresql (this database)" if pid in backends
                    else "load generator" if pid in client_pids else None)
            if kind:
                out[kind][pid] = v
        with open("/proc/stat") as fh:
            vals = [int(x) for x in fh.readline().split()[1:]]
        out["machine busy"] = {0: (sum(vals[:8]) - vals[3] - vals[4]) / CLK_TCK}
        return out

    return sample


def cpu_delta(a: dict[str, dict[int, float]], b: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds per kind between two samples (a process that started in between counts from 0)."""
    return {k: sum(v - a.get(k, {}).get(pid, 0.0) for pid, v in pids.items()) for k, pids in b.items()}


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _cpu_line(r: Result) -> str:
    if not r.cpu_window:
        return ""
    busy = r.cpu.get("machine busy", 0.0)
    parts = [f"{k} {v / r.cpu_window:.2f}" for k, v in r.cpu.items() if k != "machine busy"]
    other = busy - sum(v for k, v in r.cpu.items() if k != "machine busy")
    n = len(r.ok())
    per = (f"; CPU ms per answer: server {1000 * r.cpu['web (himaya serve)'] / n:.1f}, "
           f"PostgreSQL {1000 * r.cpu['postgresql (this database)'] / n:.1f}") if n else ""
    return (f"cores busy {busy / r.cpu_window:.2f} of {os.cpu_count()}: " + ", ".join(parts)
            + f", other processes on the machine {max(0.0, other) / r.cpu_window:.2f}{per}")


def print_results(args, data: Data, health: Result | None, q: Result) -> None:
    print()
    hdr = f"{'page':<18} {'share':>5} {'req':>6} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}"
    print(hdr)
    print("-" * len(hdr))
    total = len(q.rows) or 1
    for kind, _ in MIX:
        n = sum(1 for r in q.rows if r[3] == kind)
        note = "" if data.has_rows[kind] else "   (no rows in this data: the empty page)"
        print(f"{kind:<18} {100 * n / total:4.0f}% {n:6d} {q.rate(kind):6.1f} {q.pct(50, kind):7.1f} {q.pct(95, kind):7.1f} "
              f"{q.pct(99, kind):7.1f} {q.pct(100, kind):7.1f} {q.errors(kind):6d}{note}")
    print(f"{'all queue pages':<18} {100:4.0f}% {len(q.rows):6d} {q.rate():6.1f} {q.pct(50):7.1f} {q.pct(95):7.1f} {q.pct(99):7.1f} "
          f"{q.pct(100):7.1f} {q.errors():6d}")
    if health:
        print(f"{'/health baseline':<18} {'':>5} {len(health.rows):6d} {health.rate():6.1f} {health.pct(50):7.1f} {health.pct(95):7.1f} "
              f"{health.pct(99):7.1f} {health.pct(100):7.1f} {health.errors():6d}")
    print()
    errs = collections.Counter(f"{r[3]}: {r[4]}" for r in q.rows if not r[2])
    if errs:
        print(f"errors: {dict(errs.most_common(8))}")
    if health and health.ok():
        print(f"ratio to /health (same users, same think time): p50 {q.pct(50) / health.pct(50):.1f}x, p95 {q.pct(95) / health.pct(95):.1f}x, "
              f"req/s {q.rate() / health.rate():.2f}x")
    print(f"queue: {_cpu_line(q)}")
    if q.pg_waits:
        print(f"queue: {q.pg_waits}")
    if health:
        print(f"/health: {_cpu_line(health)}")
    print()
    verdict = "MEETS" if q.pct(95) < TARGET_P95_MS and q.errors() == 0 else "MISSES"
    print(f"{args.users} users, think {args.think:g} s, {q.window:.0f} s measured: queue p95 {q.pct(95):.0f} ms "
          f"(target < {TARGET_P95_MS:.0f} ms), {q.errors()} errors — {verdict} the SPEC §5 target "
          f"at {data.reports:,} reports ({data.triaged:,} triaged in the unit)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("HIMAYA_BENCH_DATABASE_URL", DEFAULT_DB),
                    help="an existing database filled by bench_triage.py --keep (never dropped or emptied)")
    ap.add_argument("--key-dir", default=os.environ.get("HIMAYA_KEY_DIR", DEFAULT_KEY_DIR),
                    help="HIMAYA_KEY_DIR the reports' documents were encrypted under")
    ap.add_argument("--unit", default="bench", help="code of the unit that holds the reports")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds a user waits between pages (exponential); 0: closed loop")
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--baseline-duration", type=float, default=20.0)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--web-workers", type=int, default=max(2, os.cpu_count() or 1), help="default: as `himaya serve`")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--no-vacuum", action="store_true", help="measure with the tables' statistics as found")
    ap.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (server log)")
    args = ap.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("PostgreSQL only (the bench reads pg_stat_* and VACUUMs)")

    import psycopg

    try:
        psycopg.connect(args.database_url, connect_timeout=5).close()
    except psycopg.Error as exc:
        raise SystemExit(f"cannot open {args.database_url} ({str(exc).strip()}): fill it first with "
                         "bench/bench_triage.py --keep [--database-url …]") from None
    home = Path(tempfile.mkdtemp(prefix="himaya-bench-queue-"))
    env = {"HIMAYA_HOME": str(home), "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "HIMAYA_KEY_DIR": args.key_dir, "HIMAYA_LOG_LEVEL": "WARNING", "HIMAYA_INSECURE_COOKIES": "1"}
    # The server and this process must share the secret key (sessions) and the data key.
    setup_django(env)
    server_env = dict(os.environ)
    try:
        print(f"database {args.database_url}; unit {args.unit!r}; {args.users} users, think {args.think:g} s, "
              f"warm-up {args.warmup:.0f} s, measured {args.duration:.0f} s", flush=True)
        data = prepare_database(args, env)
        print(f"reports in unit {args.unit!r}: {data.reports:,}; triaged rows in the unit: {data.triaged:,} "
              f"({data.unreviewed:,} not yet reviewed); {len(data.clusters)} clusters to open", flush=True)
        missing = [k for k, v in data.has_rows.items() if not v]
        if missing:
            print(f"no queue rows in this data for: {', '.join(missing)} (those answers must be the empty-queue page)", flush=True)
        server = Server(env=server_env, home=home, web_workers=args.web_workers, threads=args.threads, task_workers=0)
        sampler = make_sampler(server.proc.pid, args.database_url)
        try:
            t = time.perf_counter()
            jars = [login(server.port, f"bench-queue-{i:02d}") for i in range(args.users)]
            print(f"`himaya serve` {args.web_workers} web workers x {args.threads} threads on port {server.port}; "
                  f"{len(jars)} users logged in through the form in {time.perf_counter() - t:.1f} s", flush=True)
            common = dict(port=server.port, jars=jars, think=args.think, processes=args.client_processes, data=data, sampler=sampler)
            health = None
            if not args.no_baseline:
                health = run_load(kind="health", warmup=2.0, duration=args.baseline_duration, pg_url=None, **common)
            q = run_load(kind="queue", warmup=args.warmup, duration=args.duration, pg_url=args.database_url, **common)
        finally:
            server.stop()
        print_results(args, data, health, q)
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
