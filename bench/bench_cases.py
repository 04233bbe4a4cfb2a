"""Case work under load (SPEC §5: "case page, dashboard and queue with 1 M reports,
10 k cases, 20 concurrent users: p95 < 300 ms"), issue 14: the case page, "my
work" and the triage queue.

    .venv/bin/python bench/bench_cases.py                          # 1 M reports, 10 k cases, 20 users, 60 s
    .venv/bin/python bench/bench_cases.py --reports 100000 --duration 30
    .venv/bin/python bench/bench_cases.py --keep-database          # leave himaya_bench_cases for another run (--reuse)

1. a fresh PostgreSQL database (default himaya_bench_cases, dropped at the end
   unless --keep-database), migrated; one unit "bench" filled in SQL with
   `generate_series` (fast enough for 1 M rows on a shared 2-core machine):
   --reports reports, each triaged (tier, score, due time) and linked (clusters
   of three), and --cases cases of three reports each, with two assignees, three
   tasks (some overdue), a victim (identity encrypted, like the application
   writes it), a suspect, a legal request and ten timeline events; the
   encrypted columns hold ciphertexts made by the application's own fields;
2. --users investigators (each assigned to --cases / --users cases), with a
   TOTP second factor, logged in through the login and verification forms;
3. `himaya serve` (gunicorn, no task worker) on a loopback port;
4. baseline, same run and same users: GET /health;
5. the users open, with --think seconds between pages: a case page of one of
   their cases (50 %), their "my work" (25 %), the triage queue's first page
   (25 %). An answer counts only if it is 200 and shows what that page is for.

Prints p50/p95/p99 per page and overall, the ratios to /health, CPU by process
kind, and the verdict against the 300 ms target. Reuses bench_queue.py's
server, load phases and CPU sampler.
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import PgWaits, Server  # noqa: E402
from bench_queue import CSRF_RE, PASSWORD, Phase, Result, _cpu_line, _send, cpu_delta, login, make_sampler, setup_django  # noqa: E402
from benchdb import drop_pg, fresh_pg  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/himaya_bench_cases"
TARGET_P95_MS = 300.0
MIX = [("case page", 50), ("my work", 25), ("queue", 25)]
EXPECT = {"case page": b'id="timeline"', "my work": b'id="my-cases"', "queue": b'data-report="', "health": b""}


# ---------------------------------------------------------------------------
# The data: generate_series, with ciphertexts from the application's fields
# ---------------------------------------------------------------------------

def fill(args) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from himaya.accounts.models import User
    from himaya.accounts.services import unit_get_or_create, user_create
    from himaya.cases.models import Victim
    from himaya.reports.models import Report

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - t0:.0f} s", flush=True)
    unit = unit_get_or_create(code="bench")
    for i in range(args.users):
        user_create(username=f"bench-case-{i:02d}", password=PASSWORD, roles=["investigator"], unit_code="bench")
    users = list(User.objects.filter(username__startswith="bench-case-").order_by("username").values_list("id", flat=True))
    raw = Report._meta.get_field("raw_xml").get_db_prep_value(b"<report/>", connection)
    doc = Report._meta.get_field("document").get_db_prep_value({"bench": True}, connection)
    name = Victim._meta.get_field("first_name").get_db_prep_value("Bench", connection)
    empty = Victim._meta.get_field("address").get_db_prep_value("", connection)
    n, c, now = args.reports, args.cases, timezone.now()
    u = unit.id
    steps = [
        ("reports", """INSERT INTO reports_report (id, unit_id, source, status, opened_at, modified_at, finished_at, raw_xml, raw_sha256,
             document, import_label, incident_type, platform, escalation, batched_reason, annotations)
           SELECT g, %(u)s, 'provider', 'finished', %(now)s - g * interval '1 second', %(now)s, %(now)s - g * interval '1 second', %(raw)s,
             md5(g::text), %(doc)s, '', 'Child Pornography (possession, manufacture, and distribution)', 'ExampleChat', '', '', '[]'
           FROM generate_series(1, %(n)s) g"""),
        ("triage", """INSERT INTO triage_reporttriage (report_id, unit_id, received_at, priority, score, reasons, classification, ruleset_version,
             computed_at, effective_priority, override_priority, override_reason, due_at)
           SELECT g, %(u)s, %(now)s - g * interval '1 second', p, s, '[]', '{}', 1, %(now)s, p, '', '', %(now)s + (g %% 97 - 40) * interval '1 hour'
           FROM (SELECT g, CASE WHEN g %% 50 = 0 THEN 'P1' WHEN g %% 7 = 0 THEN 'P2' WHEN g %% 3 = 0 THEN 'P3' ELSE 'P4' END AS p,
                 (g * 37) %% 100 AS s FROM generate_series(1, %(n)s) g) x"""),
        ("linkage", """INSERT INTO linking_reportlinkage (report_id, cluster_id, unit_cluster_id, country, region, decision, evidence,
             previously_reported, notes, linked_at)
           SELECT g, (g + 2) / 3, (g + 2) / 3, 'PS', '', CASE WHEN g %% 11 = 0 THEN 'foreign' ELSE 'ours' END, '[]', '[]', '[]', %(now)s
           FROM generate_series(1, %(n)s) g"""),
        ("cases", """INSERT INTO cases_case (id, unit_id, reference, title, status, outcome, deadline, created_by_id, created_at, status_changed_at)
           SELECT g, %(u)s, 'HMY-2026-' || lpad(g::text, 5, '0'), 'Bench case ' || g, CASE WHEN g %% 5 = 0 THEN 'prosecution' ELSE 'investigating' END,
             '', (%(now)s + (g %% 60) * interval '1 day')::date, %(u0)s, %(now)s, %(now)s FROM generate_series(1, %(c)s) g"""),
        ("case reports", """INSERT INTO cases_casereport (case_id, report_id, added_by_id, added_at)
           SELECT (g + 2) / 3, g, %(u0)s, %(now)s FROM generate_series(1, 3 * %(c)s) g"""),
        ("assignees", """INSERT INTO cases_case_assignees (case_id, user_id)
           SELECT g, (%(users)s::bigint[])[1 + g %% %(nu)s] FROM generate_series(1, %(c)s) g
           UNION ALL SELECT g, (%(users)s::bigint[])[1 + (g + 1) %% %(nu)s] FROM generate_series(1, %(c)s) g"""),
        ("tasks", """INSERT INTO cases_task (case_id, kind, title, assignee_id, due, status, created_by_id, created_at)
           SELECT (g + 2) / 3, 'search', 'Bench task ' || g, (%(users)s::bigint[])[1 + ((g + 2) / 3) %% %(nu)s],
             (%(now)s + (g %% 30 - 10) * interval '1 day')::date, CASE WHEN g %% 4 = 0 THEN 'done' ELSE 'open' END, %(u0)s, %(now)s
           FROM generate_series(1, 3 * %(c)s) g"""),
        ("victims", """INSERT INTO cases_victim (case_id, identification, first_name, last_name, date_of_birth, address, contact, age_range, sex,
             identification_changed_at, created_by_id, created_at)
           SELECT g, 'identified', %(name)s, %(name)s, %(empty)s, %(empty)s, %(empty)s, '13-15', 'female', %(now)s, %(u0)s, %(now)s
           FROM generate_series(1, %(c)s) g"""),
        ("suspects", """INSERT INTO cases_suspect (case_id, label, status, status_date, created_by_id, created_at)
           SELECT g, 'suspect-' || g, 'identified', %(now)s::date, %(u0)s, %(now)s FROM generate_series(1, %(c)s) g"""),
        ("legal requests", """INSERT INTO cases_legalrequest (case_id, provider, kind, account, legal_basis, sent_on, due_on, answer, result,
             created_by_id, created_at)
           SELECT g, 'ExampleChat', 'preservation', 'acct-' || g, 'Art. 5', (%(now)s - interval '20 days')::date,
             (%(now)s - interval '5 days')::date, '', 'pending', %(u0)s, %(now)s FROM generate_series(1, %(c)s) g"""),
        ("timeline", """INSERT INTO cases_timelineevent (case_id, at, type, actor_id, fields)
           SELECT (g + 9) / 10, %(now)s - (g %% 10) * interval '1 day', 'note_added', %(u0)s, jsonb_build_object('note', g)
           FROM generate_series(1, 10 * %(c)s) g"""),
    ]
    params = dict(u=u, now=now, raw=raw, doc=doc, n=n, c=c, u0=users[0], users=users, nu=len(users), name=name, empty=empty)
    with connection.cursor() as cur:
        for label, sql in steps:
            t = time.perf_counter()
            cur.execute(sql, params)
            print(f"  {label}: {cur.rowcount:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
        for table in ("reports_report", "cases_case", "cases_task", "cases_victim", "cases_suspect", "cases_legalrequest",
                      "cases_timelineevent", "cases_casereport", "cases_case_assignees"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("INSERT INTO cases_casesequence (year, last) VALUES (2026, %s) ON CONFLICT (year) DO UPDATE SET last = EXCLUDED.last", [c])
        t = time.perf_counter()
        cur.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - t:.1f} s", flush=True)
    connection.close()
    print(f"filled in {time.perf_counter() - t0:.0f} s", flush=True)
    return {"reports": n, "cases": c}


def second_factors(usernames: list[str]) -> dict[str, object]:
    from himaya.accounts.models import AuthenticatorDevice, User

    out = {}
    for name in usernames:
        user = User.objects.get(username=name)
        AuthenticatorDevice.objects.filter(user=user).delete()
        out[name] = AuthenticatorDevice.objects.create(user=user, name="bench", confirmed=True)
    return out


def verify(port: int, jar: dict[str, str], device) -> None:  # type: ignore[no-untyped-def]
    """The verification form, with the code the user's authenticator shows."""
    import base64

    import pyotp

    box: list = [None]
    status, body, _ = _send(box, port, "GET", "/accounts/second-factor/verify/", jar)
    m = CSRF_RE.search(body)
    code = pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()
    form = urlencode({"csrfmiddlewaretoken": m.group(1).decode() if m else "", "code": code}).encode()
    status, body, r = _send(box, port, "POST", "/accounts/second-factor/verify/", jar, form, {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 302:
        raise SystemExit(f"second factor refused: HTTP {status}")
    box[0].close()


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------

def pick(rng: random.Random, my_cases: list[int]) -> tuple[str, str]:
    kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
    return kind, {"case page": f"/cases/{rng.choice(my_cases)}/", "my work": "/cases/mine/", "queue": "/triage/"}[kind]


def _user_main(port: int, phase: Phase, jar: dict[str, str], think: float, my_cases: list[int], seed: int, out: list) -> None:
    rng = random.Random(seed)
    box: list = [None]
    time.sleep(max(0.0, phase.t_start - time.monotonic()) + rng.random() * min(think, 1.0))
    while True:
        t0 = time.monotonic()
        if t0 >= phase.t_end:
            break
        kind, path = ("health", "/health") if phase.kind == "health" else pick(rng, my_cases)
        try:
            status, body, _ = _send(box, port, "GET", path, jar)
            t1 = time.monotonic()
            verdict = "ok" if status == 200 and EXPECT[kind] in body else f"HTTP {status}" if status != 200 else "page without its content"
        except Exception as exc:  # counted, never fatal
            t1 = time.monotonic()
            verdict = f"exception {type(exc).__name__}"
        out.append((t0, t1, verdict == "ok", kind, verdict))
        if think > 0:
            time.sleep(rng.expovariate(1 / think))
    if box[0] is not None:
        box[0].close()


def _process_main(port: int, phase: Phase, users: list[tuple[dict[str, str], list[int]]], think: float, seed: int, queue) -> None:  # type: ignore[no-untyped-def]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outs: list[list] = [[] for _ in users]
    ts = [threading.Thread(target=_user_main, args=(port, phase, jar, think, cases, seed * 1000 + i, outs[i]))
          for i, (jar, cases) in enumerate(users)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    queue.put([row for o in outs for row in o])


def run_load(*, port: int, kind: str, users: list, think: float, warmup: float, duration: float, processes: int, sampler,
             pg_url: str | None) -> Result:  # type: ignore[no-untyped-def]
    processes = max(1, min(processes, len(users)))
    start = time.monotonic() + 0.5
    phase = Phase(kind, start, start + warmup, start + warmup + duration)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(port, phase, users[i::processes], think, 71 + i, queue), daemon=True)
             for i in range(processes)]
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
    return Result(measured, rows, phase.t_end - phase.t_measure, cpu_delta(cpu0, cpu1), t1 - t0, waits.summary() if waits else "")


def print_results(args, counts: dict[str, int], health: Result | None, q: Result) -> None:  # type: ignore[no-untyped-def]
    print()
    hdr = f"{'page':<18} {'share':>5} {'req':>6} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}"
    print(hdr)
    print("-" * len(hdr))
    total = len(q.rows) or 1
    for kind, _ in MIX:
        n = sum(1 for r in q.rows if r[3] == kind)
        print(f"{kind:<18} {100 * n / total:4.0f}% {n:6d} {q.rate(kind):6.1f} {q.pct(50, kind):7.1f} {q.pct(95, kind):7.1f} "
              f"{q.pct(99, kind):7.1f} {q.pct(100, kind):7.1f} {q.errors(kind):6d}")
    print(f"{'all pages':<18} {100:4.0f}% {len(q.rows):6d} {q.rate():6.1f} {q.pct(50):7.1f} {q.pct(95):7.1f} {q.pct(99):7.1f} "
          f"{q.pct(100):7.1f} {q.errors():6d}")
    if health:
        print(f"{'/health baseline':<18} {'':>5} {len(health.rows):6d} {health.rate():6.1f} {health.pct(50):7.1f} {health.pct(95):7.1f} "
              f"{health.pct(99):7.1f} {health.pct(100):7.1f} {health.errors():6d}")
    print()
    errs = collections.Counter(f"{r[3]}: {r[4]}" for r in q.rows if not r[2])
    if errs:
        print(f"errors: {dict(errs.most_common(8))}")
    if health and health.ok():
        for kind, _ in MIX:
            print(f"{kind}: p95 {q.pct(95, kind) / health.pct(95):.1f}x the /health p95 (same users, same think time)")
    print(f"pages: {_cpu_line(q)}")
    if q.pg_waits:
        print(f"pages: {q.pg_waits}")
    print()
    worst = max(q.pct(95, k) for k, _ in MIX)
    verdict = "MEETS" if worst < TARGET_P95_MS and q.errors() == 0 else "MISSES"
    print(f"{args.users} users, think {args.think:g} s, {q.window:.0f} s measured, {counts['reports']:,} reports, {counts['cases']:,} cases: "
          f"worst page p95 {worst:.0f} ms (target < {TARGET_P95_MS:.0f} ms), {q.errors()} errors — {verdict} the SPEC §5 target")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("HIMAYA_BENCH_DATABASE_URL", DEFAULT_DB),
                    help="a PostgreSQL database this bench may DROP and create")
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between pages (exponential); 0: closed loop")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--baseline-duration", type=float, default=20.0)
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--web-workers", type=int, default=max(2, os.cpu_count() or 1))
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--reuse", action="store_true", help="use the database as a previous --keep-database run left it")
    ap.add_argument("--keep-database", action="store_true")
    args = ap.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("PostgreSQL only")
    if args.cases * 3 > args.reports:
        raise SystemExit("each case takes three reports: --reports must be at least 3 x --cases")
    home = Path(tempfile.mkdtemp(prefix="himaya-bench-cases-"))
    env = {"HIMAYA_HOME": str(home), "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "HIMAYA_KEY_DIR": str(home / "keys"), "HIMAYA_LOG_LEVEL": "WARNING", "HIMAYA_INSECURE_COOKIES": "1",
           "HIMAYA_SECRET_KEY": os.environ.get("HIMAYA_SECRET_KEY", "bench-cases-secret-key-not-for-production-0123456789")}
    # A kept database's keys, beside it for --reuse: one folder per database name, so that
    # keeping another database (--database-url) never deletes the default one's keys.
    name = args.database_url.rsplit("/", 1)[-1]
    kept_keys = "/tmp/himaya-bench-cases-keys" + ("" if name == "himaya_bench_cases" else f"-{name}")
    if args.reuse:
        env["HIMAYA_KEY_DIR"] = os.environ.get("HIMAYA_KEY_DIR", kept_keys)
    elif args.keep_database:
        env["HIMAYA_KEY_DIR"] = kept_keys
        shutil.rmtree(env["HIMAYA_KEY_DIR"], ignore_errors=True)
    try:
        if not args.reuse:
            fresh_pg(args.database_url)
        setup_django(env)
        print(f"database {args.database_url}: {args.reports:,} reports, {args.cases:,} cases, {args.users} users, think {args.think:g} s",
              flush=True)
        counts = {"reports": args.reports, "cases": args.cases} if args.reuse else fill(args)
        names = [f"bench-case-{i:02d}" for i in range(args.users)]
        devices = second_factors(names)
        from django.db import connection

        from himaya.cases.models import Case

        mine = {n: list(Case.objects.filter(assignees__username=n).values_list("id", flat=True)[:200]) for n in names}
        connection.close()
        for attempt in range(3):  # on a busy machine the server can take over the 60 s Server waits for
            try:
                server = Server(env=dict(os.environ), home=home, web_workers=args.web_workers, threads=args.threads, task_workers=0)
                break
            except SystemExit as exc:
                if attempt == 2 or "healthy" not in str(exc):
                    raise
                print(f"{exc}: starting it again (busy machine)", flush=True)
        sampler = make_sampler(server.proc.pid, args.database_url)
        try:
            t = time.perf_counter()
            users = []
            for n in names:
                jar = login(server.port, n)
                verify(server.port, jar, devices[n])
                users.append((jar, mine[n]))
            print(f"`himaya serve` {args.web_workers} web workers x {args.threads} threads; {len(users)} users logged in "
                  f"(password and second factor) in {time.perf_counter() - t:.1f} s", flush=True)
            common = dict(port=server.port, users=users, think=args.think, processes=args.client_processes, sampler=sampler)
            health = run_load(kind="health", warmup=2.0, duration=args.baseline_duration, pg_url=None, **common)
            q = run_load(kind="cases", warmup=args.warmup, duration=args.duration, pg_url=args.database_url, **common)
        finally:
            server.stop()
        print_results(args, counts, health, q)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if not args.keep_database and not args.reuse:
            drop_pg(args.database_url)


if __name__ == "__main__":
    main()
