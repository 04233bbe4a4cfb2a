"""Statistics at national scale (SPEC §5: the dashboard with 1 M reports answers as
fast as the triage queue; the national report PDF for a year of 1 M reports, in
Arabic, in under 60 s).

    .venv/bin/python bench/bench_stats.py                        # 100 000 reports, 1 000 cases
    .venv/bin/python bench/bench_stats.py --reports 1000000      # 1 M reports, 10 000 cases (SPEC's size)

1. a fresh PostgreSQL database `himaya_bench_stats` (dropped and created; or
   --database-url), migrated;
2. N reports of one unit over the year so far written straight into the tables
   in SQL (`INSERT ... SELECT FROM generate_series`, as `bench_cases.py` does;
   the encrypted and JSON columns hold what the application's fields prepare):
   the report rows, their triage (tier, due time, 80 % reviewed) and linkage
   (jurisdiction, governorate or country) rows — what
   intake, linking and triage would have left — with sources, providers and
   incident types in realistic proportions; N/100 cases of 1–3 reports each, a
   victim per case (identification stages, age bands, sexes), a suspect per case
   with its recorded steps, a legal request for one case in three, a referral
   for one victim in four (objects and COPY: at most 10 k cases);
3. the maintained aggregates built from scratch (`aggregates.rebuild`, what
   `himaya stats rebuild` does) — timed;
4. in one process, logged in as a supervisor of the unit (Django's test client,
   the whole request: middleware, session, second factor, template), sequential
   requests alternating between the two pages so both see the same machine state:
   the **triage queue** (`/triage/`, its first page and `priority=P1`; the
   baseline) and the **statistics dashboard** (`/stats/?period=YEAR`, and with
   the `tier=P1` filter) — p50/p95 of each, and the dashboard ÷ queue ratio;
5. the national report for the year (`render_report`, Arabic, then English) —
   timed, with its pages; the figures' part and the layout's part shown apart.

Nothing is left behind unless --keep.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import database_url, drop_pg, fresh_pg, setup_django  # noqa: E402

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/himaya_bench_stats"
TARGET_REPORT_S = 60.0
INCIDENTS = [
    ("Child Pornography (possession, manufacture, and distribution)", 70),
    ("Online Enticement of Children for Sexual Acts", 18),
    ("Unsolicited Obscene Material Sent to a Child", 6),
    ("Child Sex Trafficking", 2),
    ("Misleading Words or Digital Images on the Internet", 4),
]
SOURCES = [("provider", 80), ("import", 12), ("portal", 6), ("partner", 2)]
TIERS = [("P1", 3), ("P2", 17), ("P3", 40), ("P4", 40)]
DECISIONS = [("ours", 70), ("foreign", 20), ("unknown", 10)]
REGIONS = ["PS-GZA", "PS-RBH", "PS-HBN", "PS-NBS", "PS-JEN", "PS-BTH", "PS-TKM", "PS-QQA", "PS-KYS", "PS-RFH", "PS-NGZ", "PS-DEB",
           "PS-JEM", "PS-JRH", "PS-SLT", "PS-TBS"]
COUNTRIES = ["EG", "JO", "SA", "AE", "TR", "US", "DE", "FR", "GB", "MA"]
PROVIDERS = ["bench-examplechat", "bench-examplegram", "bench-exampletube", "bench-exampleplay", "bench-examplemail"]


def store_all(model, objs: list) -> None:  # type: ignore[no-untyped-def]
    """`bench_triage.store_all` (COPY with ids from the sequence), and for a table
    whose key is its report's (triage, linkage) the objects' own keys."""
    from bench_triage import store_all as copy_with_ids
    from django.db import connection

    if not objs or connection.vendor != "postgresql" or model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField"):
        copy_with_ids(model, objs)
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cur, cur.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({cols}) FROM STDIN") as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _bucket(expr: str, pairs: list[tuple[str, int]]) -> str:
    """SQL choosing a value by weight from `expr` (0..99): CASE WHEN expr < 80 THEN 'provider' ..."""
    total, parts = 0, []
    for value, weight in pairs[:-1]:
        total += weight
        parts.append(f"WHEN {expr} < {total} THEN '{value}'")
    return f"(CASE {' '.join(parts)} ELSE '{pairs[-1][0]}' END)"


def fill_reports(n: int, *, unit_id: int, sup_id: int, reporter_ids: list[int], start: datetime, span: float,
                 targets: dict[str, int]) -> range:
    """N finished reports with their triage (tier, due time, 80 % reviewed) and
    linkage (jurisdiction, governorate or country) rows in three INSERT ... SELECT
    FROM generate_series statements — 1 M rows in a minute or two, where the
    objects and COPY of `load` took 5 min per 100 k. The proportions are those of
    the weighted lists above, spread by multiplicative hashes of the row number;
    the encrypted and JSON columns hold what the application's own fields prepare
    (`get_db_prep_value`). On SQLite (no generate_series) the objects path is used."""
    from django.db import connection

    from himaya.reports.models import Report

    if connection.vendor != "postgresql":
        raise SystemExit("the fast fill needs PostgreSQL (--database-url postgres://...)")
    raw = Report._meta.get_field("raw_xml").get_db_prep_value(b"", connection)
    doc = Report._meta.get_field("document").get_db_prep_value({"t": "report", "c": []}, connection)
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM reports_report")
        first = cur.fetchone()[0] + 1
    tier = _bucket("(g * 71) %% 100", TIERS)
    minutes = "(CASE " + " ".join(f"WHEN t = '{k}' THEN {v}" for k, v in targets.items()) + " END)"
    params = dict(u=unit_id, sup=sup_id, n=n, first=first, start=start, span=span, raw=raw, doc=doc, reporters=reporter_ids,
                  nr=len(reporter_ids), regions=REGIONS, nregions=len(REGIONS), countries=COUNTRIES, ncountries=len(COUNTRIES))
    at = "%(start)s + ((g * %(span)s) / %(n)s) * interval '1 second'"
    steps = [
        ("reports", f"""INSERT INTO reports_report (id, unit_id, source, status, opened_at, modified_at, finished_at, raw_xml, raw_sha256,
             document, import_label, incident_type, platform, escalation, batched_reason, annotations, reporter_id)
           SELECT %(first)s + g, %(u)s, src, 'finished', at, at, at, %(raw)s, md5(g::text), %(doc)s, '', {_bucket("(g * 53) %% 100", INCIDENTS)},
             'ExampleChat', '', '', '[]', CASE WHEN src = 'provider' THEN (%(reporters)s::bigint[])[1 + g %% %(nr)s] END
           FROM (SELECT g, {_bucket("(g * 37) %% 100", SOURCES)} AS src, {at} AS at FROM generate_series(0, %(n)s - 1) g) x"""),
        ("triage", f"""INSERT INTO triage_reporttriage (report_id, unit_id, received_at, priority, score, reasons, classification, ruleset_version,
             computed_at, effective_priority, override_priority, override_reason, due_at, reviewed_at, reviewed_by_id)
           SELECT %(first)s + g, %(u)s, at, t, 10, '[]', '{{}}', 1, at, t, '', '', at + {minutes} * interval '1 minute',
             CASE WHEN (g * 13) %% 10 < 8 THEN at + {minutes} * ((g * 29) %% 200) / 100.0 * interval '1 minute' END,
             CASE WHEN (g * 13) %% 10 < 8 THEN %(sup)s END
           FROM (SELECT g, {tier} AS t, {at} AS at FROM generate_series(0, %(n)s - 1) g) x"""),
        ("linkage", f"""INSERT INTO linking_reportlinkage (report_id, cluster_id, unit_cluster_id, country, region, decision, evidence,
             previously_reported, notes, linked_at)
           SELECT %(first)s + g, %(first)s + g, %(first)s + g,
             CASE WHEN d = 'ours' THEN 'PS' WHEN d = 'foreign' THEN (%(countries)s::text[])[1 + g %% %(ncountries)s] ELSE '' END,
             CASE WHEN d = 'ours' THEN (%(regions)s::text[])[1 + (g / 7) %% %(nregions)s] ELSE '' END, d, '[]', '[]', '[]', at
           FROM (SELECT g, {_bucket("(g * 89) %% 100", DECISIONS)} AS d, {at} AS at FROM generate_series(0, %(n)s - 1) g) x"""),
    ]
    with connection.cursor() as cur:
        for label, sql in steps:
            t = time.perf_counter()
            cur.execute(sql, params)
            print(f"  {label}: {cur.rowcount:,} rows in {time.perf_counter() - t:.1f} s", flush=True)
        cur.execute("SELECT setval(pg_get_serial_sequence('reports_report', 'id'), (SELECT max(id) FROM reports_report))")
    return range(first, first + n)


def load(n: int, n_cases: int, *, year: int, seed: int) -> tuple[int, int]:
    """The caseload, straight into the tables. Returns (unit id, supervisor id)."""
    from himaya.accounts.models import Reporter
    from himaya.accounts.services import unit_get_or_create, user_create
    from himaya.cases.models import Case, CaseReport, LegalRequest, Referral, Suspect, SuspectStep, Victim
    from himaya.reports.models import Report

    rng = random.Random(seed)
    unit = unit_get_or_create(code="bench")
    sup = user_create(username="bench-stats-sup", password="bench-stats-pass-123", roles=["supervisor"], unit_code="bench")
    reporters = []
    for name in PROVIDERS:
        reporters.append(Reporter.objects.create(username=name, unit=unit, password="!"))  # no login: a provider's name only
    start = datetime(year, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    span = min((now - start).total_seconds(), 365 * 86400) - 3600
    targets = {"P1": 60, "P2": 1440, "P3": 4320, "P4": 10080}
    t0 = time.perf_counter()
    report_ids = fill_reports(n, unit_id=unit.id, sup_id=sup.id, reporter_ids=[r.id for r in reporters], start=start, span=span,
                              targets=targets)
    print(f"  {n:,} reports with their triage and linkage stored ({time.perf_counter() - t0:.0f} s)", flush=True)

    chosen = rng.sample(report_ids, min(len(report_ids), n_cases * 2))
    received: dict[int, datetime] = {}
    for i in range(0, len(chosen), 5000):
        received |= dict(Report.objects.filter(id__in=chosen[i:i + 5000]).values_list("id", "finished_at"))
    cases, links_, members = [], [], []
    pos = 0
    for i in range(n_cases):
        k = min(1 + rng.randrange(3), len(chosen) - pos)
        if k <= 0:
            break
        ids = chosen[pos:pos + k]
        pos += k
        opened = max(received[x] for x in ids) + timedelta(hours=rng.randrange(1, 72))
        opened = min(opened, now - timedelta(minutes=5))
        closed = opened + timedelta(days=rng.randrange(5, 90)) if rng.random() < 0.3 else None
        if closed and closed > now:
            closed = None
        case = Case(unit=unit, reference=f"HMY-{year}-B{i:06d}", title=f"Bench case {i}", created_by=sup, created_at=opened,
                    status_changed_at=closed or opened, status="closed" if closed else "investigating",
                    outcome=rng.choice(["convicted", "not_prosecuted", "insufficient_evidence"]) if closed else "", closed_at=closed)
        cases.append(case)
        members.append(ids)
    store_all(Case, cases)
    for case, ids in zip(cases, members):
        for x in ids:
            links_.append(CaseReport(case=case, report_id=x, added_by=sup, added_at=case.created_at))
    store_all(CaseReport, links_)
    victims, suspects, steps, requests, referrals = [], [], [], [], []
    stages = ["unidentified", "identified", "located", "safeguarded"]
    for case in cases:
        victims.append(Victim(case=case, identification=rng.choice(stages), age_range=rng.choice(["6-8", "9-12", "13-15", "16-17", ""]),
                              sex=rng.choice(["female", "male", "unknown"]), created_by=sup, created_at=case.created_at,
                              identification_changed_at=case.created_at))
        suspects.append(Suspect(case=case, label="bench", status="unidentified", status_date=case.created_at.date(), created_by=sup,
                                created_at=case.created_at))
    store_all(Victim, victims)
    for s in suspects:
        path = rng.choice([[], ["identified"], ["identified", "arrested"], ["identified", "arrested", "charged"],
                           ["identified", "arrested", "charged", "convicted"]])
        s.status = path[-1] if path else "unidentified"
    store_all(Suspect, suspects)
    for s in suspects:
        for status in ([] if s.status == "unidentified" else
                       ["identified", "arrested", "charged", "convicted"][:["identified", "arrested", "charged", "convicted"].index(s.status) + 1]):
            steps.append(SuspectStep(suspect=s, status=status, on=s.created_at.date(), legal_basis="bench", by=sup, recorded_at=s.created_at))
    store_all(SuspectStep, steps)
    for i, case in enumerate(cases):
        if i % 3 == 0:
            sent = case.created_at.date()
            answered = sent + timedelta(days=rng.randrange(1, 40))
            answered = answered if answered <= now.date() and rng.random() < 0.7 else None
            requests.append(LegalRequest(case=case, provider=rng.choice(["ExampleChat", "ExampleGram", "ExampleTube"]),
                                         kind="subscriber_data", legal_basis="bench", sent_on=sent, due_on=sent + timedelta(days=30),
                                         answered_on=answered, result="provided" if answered else "pending", created_by=sup,
                                         created_at=case.created_at))
    store_all(LegalRequest, requests)
    for i, v in enumerate(victims):
        if i % 4 == 0:
            referrals.append(Referral(victim=v, kind=rng.choice(["shelter", "education", "health", "psychological"]), service="bench",
                                      officer=sup, created_by=sup, state=rng.choice(["requested", "accepted", "declined", "completed"]),
                                      requested_at=v.created_at))
    store_all(Referral, referrals)
    print(f"  {len(cases):,} cases, {len(victims):,} victims, {len(suspects):,} suspects, {len(requests):,} legal requests, "
          f"{len(referrals):,} referrals ({time.perf_counter() - t0:.0f} s in all)", flush=True)
    return unit.id, sup.id


def _cpu_with_children() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def measure_pages(sup_id: int, *, year: int, rounds: int) -> dict[str, list[float]]:
    from django.test import Client

    from himaya.accounts.models import User
    from tests.auth_helpers import login_verified

    user = User.objects.get(id=sup_id)
    client = login_verified(Client(HTTP_HOST="localhost"), user)
    pages = {
        "queue": ["/triage/", "/triage/?priority=P1"],
        "dashboard": [f"/stats/?period={year}", f"/stats/?period={year}&tier=P1"],
    }
    for kind, urls in pages.items():  # warm-up: first requests load templates, translations, the font list
        for url in urls:
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code, answer.content[:300])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times: dict[str, list[float]] = {"queue": [], "dashboard": [], "queue cpu": [], "dashboard cpu": [], "queue sql": [],
                                     "dashboard sql": []}
    for i in range(rounds):
        for kind in ("queue", "dashboard"):
            url = pages[kind][i % 2]
            t, c = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as queries:
                answer = client.get(url)
            times[kind].append((time.perf_counter() - t) * 1000)
            times[f"{kind} cpu"].append((time.process_time() - c) * 1000)
            times[f"{kind} sql"].append(len(queries))
            assert answer.status_code == 200, (url, answer.status_code)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=0, help="default: reports / 100 (SPEC: 10 k cases for 1 M reports)")
    ap.add_argument("--rounds", type=int, default=100, help="requests of each page kind")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="himaya-bench-stats-"))
    url = database_url(args.database_url, DEFAULT_PG, home)
    if url.startswith("postgres"):
        fresh_pg(url)
    setup_django(url, home)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    year = timezone.localdate().year
    n_cases = args.cases or max(1, args.reports // 100)
    print(f"database {connection.vendor}; {args.reports:,} reports over {year}, {n_cases:,} cases", flush=True)
    t = time.perf_counter()
    unit_id, sup_id = load(args.reports, n_cases, year=year, seed=args.seed)
    load_s = time.perf_counter() - t
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE)")

    from himaya.stats import aggregates
    from himaya.stats.models import MonthlyCount

    t = time.perf_counter()
    aggregates.rebuild()
    rebuild_s = time.perf_counter() - t
    print(f"aggregates rebuilt from scratch: {rebuild_s:.1f} s ({MonthlyCount.objects.count():,} rows for {args.reports:,} reports)", flush=True)

    times = measure_pages(sup_id, year=year, rounds=args.rounds)
    q95, d95 = percentile(times["queue"], 0.95), percentile(times["dashboard"], 0.95)
    print(f"queue page      p50 {statistics.median(times['queue']):7.1f} ms  p95 {q95:7.1f} ms  ({len(times['queue'])} requests)")
    print(f"dashboard page  p50 {statistics.median(times['dashboard']):7.1f} ms  p95 {d95:7.1f} ms  ({len(times['dashboard'])} requests)")
    print(f"ratio dashboard p95 / queue p95 = {d95 / q95:.2f}  (SPEC: the dashboard answers as fast as the queue, ≤ 1)", flush=True)
    qc, dc = statistics.median(times["queue cpu"]), statistics.median(times["dashboard cpu"])
    print(f"CPU of this process per request (median): queue {qc:.1f} ms, dashboard {dc:.1f} ms, ratio {dc / qc:.2f}; "
          f"SQL statements (median): queue {statistics.median(times['queue sql']):.0f}, dashboard {statistics.median(times['dashboard sql']):.0f}",
          flush=True)

    from himaya.accounts.permissions import OPERATOR
    from himaya.stats.figures import Filters, Period
    from himaya.stats.report import report_document
    from himaya.stats.selectors import figures_for

    period = Period.parse(str(year))
    t = time.perf_counter()
    figures_for(user=OPERATOR, period=period, filters=Filters(), links=False)
    figures_s = time.perf_counter() - t
    for lang in ("ar", "en"):
        out = home / f"report-{lang}.pdf"
        t, cpu = time.perf_counter(), _cpu_with_children()
        done = report_document(user_or_operator=OPERATOR, period=period, lang=lang, external=False, out_path=out)
        seconds, cpu = time.perf_counter() - t, _cpu_with_children() - cpu
        print(f"national report {year}, {lang}: {seconds:.1f} s, {done.pages} pages, {done.size / 1024:.0f} KiB "
              f"(figures alone {figures_s:.2f} s); target < {TARGET_REPORT_S:.0f} s: ratio {seconds / TARGET_REPORT_S:.2f}; "
              f"CPU {cpu:.1f} s (this process and its chart processes: what a quiet machine's cores would spend)", flush=True)
    print(f"load {load_s:.0f} s (not part of any target)")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        if url.startswith("postgres"):
            drop_pg(url)
        import shutil

        shutil.rmtree(home, ignore_errors=True)
    else:
        print(f"kept: {url} and {home}")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    main()
