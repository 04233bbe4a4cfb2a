"""Linking + triage benchmark (SPEC §5: triage + linking of 1 M stored reports in
< 5 min from scratch; an incremental report < 50 ms).

    .venv/bin/python bench/bench_triage.py                      # 100 000 reports on PostgreSQL, projection to 1 M
    .venv/bin/python bench/bench_triage.py --reports 20000 --database-url sqlite:///tmp/x.sqlite3

1. a fresh database (PostgreSQL `himaya_bench_triage`, dropped and created, unless
   --database-url) migrated by Django;
2. N synthetic reports written straight into the report tables (COPY on
   PostgreSQL, bulk_create elsewhere; every field through Django's own
   get_db_prep_save, so encrypted fields are encrypted as intake would)
   (the intake path has its own bench): recurring suspects with accounts on
   several platforms sharing phones, e-mails and devices; a carrier-grade NAT pool
   of addresses used by many strangers; proxies; a pool of viral files; chats in
   Arabic and English, some with grooming/sextortion phrases; escalations, batched
   memes. Documentation IP ranges and example.com only (SPEC §6);
3. baseline, same run: reading every identifier, party and file row the rebuild
   reads (the I/O floor of any from-scratch pass);
4. `rebuild_all` — linking and triage from scratch in one pass, as `himaya
   linking rebuild` runs them — timed (and `triage_rebuild` alone with --triage-alone);
5. K incremental reports: stored, then `report_process` (index, link, grow the
   cluster, locate, triage; the other members' re-triage is enqueued, a task of
   its own, as in production) — latency per report, with the baseline of a bare
   `Report` fetch plus its identifiers in the same process; the first --warmup
   reports (one-time costs of the process) are shown apart, not counted.

Nothing is left behind unless --keep.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import database_url, drop_pg, fresh_pg, setup_django  # noqa: E402
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/himaya_bench_triage"

PLATFORMS = ["ExampleChat", "ExampleGram", "ExampleTube", "ExamplePlay"]
CHATS = [
    "مرحبا كم عمرك؟ لا تخبري أحدا، هذا سر بيننا",
    "أرسلي المزيد من الصور وإلا سأنشر صورك",
    "where do you live? meet me after school",
    "[asked the user to keep the conversation secret from their parents]",
    "hello, nice game yesterday",
    "[شارك رابطاً لمجلد تخزين خارجي، وتم تعطيل الرابط]",
    "",
    "",
]
TYPES = [
    ("Child Pornography (possession, manufacture, and distribution)", 70),
    ("Online Enticement of Children for Sexual Acts", 18),
    ("Unsolicited Obscene Material Sent to a Child", 6),
    ("Child Sex Trafficking", 2),
    ("Misleading Words or Digital Images on the Internet", 4),
]


def stored_reports(url: str) -> int:
    """Reports in an existing bench database (0 if there is none)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute("SELECT count(*) FROM reports_report WHERE status = 'finished'").fetchone()[0]
    except Exception:
        return 0


class World:
    """Synthetic suspects; a report picks one (a few are prolific)."""

    def __init__(self, rng: random.Random, suspects: int) -> None:
        self.rng = rng
        self.n = suspects
        self.cgnat = [f"198.51.100.{i}" for i in range(1, 21)]  # shared by many strangers
        self.viral = [f"{rng.getrandbits(256):064x}" for _ in range(50)]

    def suspect(self) -> int:
        # Most suspects appear once or twice; one report in five is about one of
        # a few prolific ones (2 % of suspects), who come back tens of times.
        if self.rng.random() < 0.2:
            return self.rng.randrange(max(1, self.n // 50))
        return self.rng.randrange(self.n)

    def person(self, s: int) -> dict:
        r = random.Random(s)
        return {
            "accounts": [(PLATFORMS[(s + k) % 4], f"u{s}-{k}", f"name_{s}_{k}") for k in range(1 + r.randrange(3))],
            "phone": f"+97059{s % 10_000_000:07d}",
            "email": f"person{s}@example.com",
            "imei": f"35{s:012d}0",  # reporting body 35, serial from the suspect; check digit ignored by matching
            "ip": f"203.0.{113 if s % 2 else 113}.{1 + s % 250}" if r.random() < 0.1 else f"2001:db8:{s % 65535:x}::{1 + s % 999:x}",
        }


def store_all(model, objs: list) -> None:  # type: ignore[no-untyped-def]
    """bulk_create, or on PostgreSQL a COPY of every concrete column with ids drawn
    from the table's sequence (5–10x faster: a million reports load in minutes)."""
    from django.db import connection

    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=5000)
        return
    meta = model._meta
    with connection.cursor() as cur:
        cur.execute(f"SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [meta.db_table, meta.pk.column, len(objs)])
        for obj, (pk,) in zip(objs, cur.fetchall()):
            obj.pk = pk
        fields = [f for f in meta.concrete_fields]
        cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cur.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({cols}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def make_reports(n: int, *, start_at: int, world: World, unit, now: datetime) -> list[int]:  # type: ignore[no-untyped-def]
    from himaya.reports.models import Identifier, IncidentDetail, IpCaptureEvent, Party, Report, ReportFile

    rng = world.rng
    types = [t for t, w in TYPES for _ in range(w)]
    reports, plans = [], []
    for i in range(n):
        s = world.suspect()
        p = world.person(s)
        platform, esp, screen = p["accounts"][rng.randrange(len(p["accounts"]))]
        batched = rng.random() < 0.03
        at = now - timedelta(days=rng.random() * 365)
        reports.append(Report(
            unit=unit, source="import", status="finished", opened_at=at, modified_at=at, finished_at=at, raw_xml=b"",
            raw_sha256="0" * 64, document={"t": "report", "c": []}, incident_type=rng.choice(types), incident_at=at,
            platform=platform, escalation="Imminent risk to a child" if rng.random() < 0.01 else "",
            batched_reason="VIRAL_POTENTIAL_MEME" if batched else "",
            annotations=["sextortion"] if rng.random() < 0.05 else [],
        ))
        plans.append((s, p, esp, screen, batched))
    store_all(Report, reports)
    parties = []
    for r, (s, p, esp, screen, batched) in zip(reports, plans):
        parties.append(Party(report=r, role="reported", position=1, path="/report/personOrUserReported[1]", esp_identifier=esp, screen_name=screen))
        if r.incident_type.startswith("Online Enticement"):
            parties.append(Party(report=r, role="recipient", position=1, path="/report/intendedRecipient[1]", age=11 + rng.randrange(7)))
    store_all(Party, parties)
    reported = {pt.report_id: pt for pt in parties if pt.role == "reported"}
    idents, ips, files, incidents = [], [], [], []
    for r, (s, p, esp, screen, batched) in zip(reports, plans):
        pt = reported[r.id]
        idents += [Identifier(report=r, party=pt, kind="esp_id", value=esp, path="x"), Identifier(report=r, party=pt, kind="screen_name", value=screen, path="x")]
        if rng.random() < 0.5:
            idents.append(Identifier(report=r, party=pt, kind="phone", value=p["phone"], path="x"))
        if rng.random() < 0.5:
            idents.append(Identifier(report=r, party=pt, kind="email", value=p["email"], path="x"))
        if rng.random() < 0.3:
            idents.append(Identifier(report=r, party=pt, kind="device", value=p["imei"], qualifier="IMEI", path="x"))
        for k in range(1 + rng.randrange(2)):
            ip = rng.choice(world.cgnat) if rng.random() < 0.3 else p["ip"]
            proxy = rng.random() < 0.05
            path = f"/report/personOrUserReported[1]/ipCaptureEvent[{k + 1}]"
            ips.append(IpCaptureEvent(report=r, party=pt, ip_address=ip, possible_proxy=proxy or None, path=path))
            idents.append(Identifier(report=r, party=pt, kind="ip", value=ip, path=path))
        if batched or rng.random() < 0.3:
            sha = rng.choice(world.viral) if batched or rng.random() < 0.1 else f"{rng.getrandbits(256):064x}"
            files.append(ReportFile(report=r, file_id=uuid.uuid4().hex, position=1, size=1000, md5="0" * 32, sha1="0" * 40, sha256=sha,
                                    uploaded_at=r.finished_at, annotations=["viral"] if batched else (["possibleSelfProduction"] if rng.random() < 0.02 else [])))
        chat = rng.choice(CHATS)
        if chat:
            incidents.append(IncidentDetail(report=r, position=1, kind="chatImIncident", content=chat))
    store_all(Identifier, idents)
    store_all(IpCaptureEvent, ips)
    store_all(ReportFile, files)
    store_all(IncidentDetail, incidents)
    return [r.id for r in reports]


def _proc_cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def _workers_cpu() -> float:
    """CPU seconds of this process's children: the ended ones and the running ones."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = kids.ru_utime + kids.ru_stime
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                total += _proc_cpu(Path(f"/proc/{pid}/stat"))
            except OSError:
                pass
    return total


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this host (ended backends are
    counted in the postmaster's children's time); 0 where /proc is not readable."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if "postgres" in (stat.parent / "comm").read_text():
                total += _proc_cpu(stat)
        except OSError:
            continue
    return total


def stage_clock():  # type: ignore[no-untyped-def]
    """A progress callback printing when each stage ends and the CPU it took: this
    process, its worker processes (once they end), PostgreSQL."""
    def cpu() -> tuple[float, float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return me.ru_utime + me.ru_stime, _workers_cpu(), _postgres_cpu()

    t0 = time.perf_counter()
    last = {"stage": None, "n": 0, "at": t0, "cpu": cpu(), "spent": [0.0, 0.0, 0.0]}

    def say(stage: str, n: int) -> None:
        # Called when a piece of work has ended: what it took belongs to `stage`.
        now_cpu = cpu()
        if last["stage"] not in (None, stage):
            d = last["spent"]
            print(f"  {last['stage']}: done at {last['at'] - t0:.1f} s ({last['n']}); CPU: "
                  f"parent {d[0]:.1f} s, workers {d[1]:.1f} s, PostgreSQL {d[2]:.1f} s", flush=True)
            last["spent"] = [0.0, 0.0, 0.0]
        last["spent"] = [s + a - b for s, a, b in zip(last["spent"], now_cpu, last["cpu"])]
        last.update(stage=stage, n=n, at=time.perf_counter(), cpu=now_cpu)
        if stage == "committed":
            print(f"  committed at {last['at'] - t0:.1f} s", flush=True)

    return say


def baseline_scan() -> float:
    from himaya.reports.models import Identifier, IncidentDetail, IpCaptureEvent, Party, Report, ReportFile

    t = time.perf_counter()
    for qs in (Report.objects.values_list("id", "platform", "batched_reason", "document", "incident_type", "escalation", "annotations"),
               Party.objects.values_list("id", "report_id", "role", "platform", "parent_id", "age"),
               Identifier.objects.values_list("report_id", "party_id", "file_id", "kind", "value", "qualifier", "path"),
               IpCaptureEvent.objects.filter(possible_proxy=True).values_list("report_id", "file_id", "path"),
               ReportFile.objects.values_list("id", "report_id", "sha256", "annotations"),
               IncidentDetail.objects.values_list("report_id", "kind", "content", "additional_info")):
        for _ in qs.iterator(chunk_size=5000):
            pass
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=100_000)
    ap.add_argument("--incremental", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=5, help="incremental reports run first and not counted (one-time costs of the process)")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="keep and reuse the database of an earlier --keep run of the same size (skips the load)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--load-only", action="store_true", help="store the reports and stop (then --reuse)")
    ap.add_argument("--stages", action="store_true", help="print when each stage of the rebuilds ends")
    ap.add_argument("--triage-alone", action="store_true", help="also time `himaya triage rebuild` on its own")
    args = ap.parse_args()
    if args.keep or args.reuse:  # the stored reports' documents are encrypted under this home's key
        home = Path(tempfile.gettempdir()) / "himaya-bench-triage-kept"
        home.mkdir(exist_ok=True)
        os.environ["HIMAYA_KEY_DIR"] = str(home / "keys")  # the test settings give each process a new HIMAYA_HOME
    else:
        home = Path(tempfile.mkdtemp(prefix="himaya-bench-triage-"))
    url = database_url(args.database_url, DEFAULT_PG, home)
    reuse = args.reuse and url.startswith("postgres") and stored_reports(url) >= args.reports
    if url.startswith("postgres") and not reuse:
        fresh_pg(url)
    setup_django(url, home)
    from django.core.management import call_command
    from django.db import connection

    from himaya.accounts.services import unit_get_or_create
    from himaya.linking.models import ReportLinkage
    from himaya.reports.models import Identifier, Report
    from himaya.triage.models import ReportTriage
    from himaya.triage.rebuild import rebuild_all, triage_rebuild
    from himaya.enrichment.tasks import report_reenrich as report_process

    call_command("migrate", verbosity=0)
    unit = unit_get_or_create(code="bench")
    now = datetime.now(UTC)
    world = World(random.Random(args.seed), max(10, args.reports // 3))
    t = time.perf_counter()
    if reuse:
        world.rng.seed(args.seed + args.reports)  # the incremental reports differ from the stored ones' draws; the people are the same
    else:
        for start in range(0, args.reports, 20_000):
            make_reports(min(20_000, args.reports - start), start_at=start, world=world, unit=unit, now=now)
    load_s = time.perf_counter() - t
    print(f"database: {connection.vendor}; {'reused' if reuse else 'stored'} {args.reports} synthetic reports in {load_s:.1f} s "
          f"({Identifier.objects.count()} identifiers)", flush=True)

    if args.load_only:
        return
    if reuse:  # from scratch means empty derived tables, as after the load
        with connection.cursor() as cur:
            cur.execute("TRUNCATE linking_reportlink, linking_identifierentry, linking_identifierkey, linking_reportlinkage, triage_reporttriage")
    base = min(baseline_scan() for _ in range(2))
    print(f"baseline: read every row the rebuild reads: {base:.2f} s", flush=True)
    t = time.perf_counter()
    link, tri = rebuild_all(progress=stage_clock() if args.stages else None)
    total = time.perf_counter() - t
    print(f"rebuild_all (linking and triage in one pass, `himaya linking rebuild`): {total:.1f} s  {link} {tri}", flush=True)
    if args.triage_alone:
        t = time.perf_counter()
        alone = triage_rebuild(progress=stage_clock() if args.stages else None)
        print(f"triage_rebuild alone (`himaya triage rebuild`): {time.perf_counter() - t:.1f} s  {alone}", flush=True)
    per_million = total * 1_000_000 / args.reports
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sizes = sorted((ReportLinkage.objects.values("cluster_id").annotate().values_list("cluster_id", flat=True)), key=int)
    from collections import Counter

    biggest = Counter(sizes).most_common(3)

    # Incremental: new reports about existing and new suspects, one at a time. The
    # first few after the rebuild pay this process's one-time costs (the rule set
    # compiled, the location data and phone metadata loaded, statements planned):
    # timed and shown, not counted in the percentiles.
    lat, base_lat, warmup = [], [], []
    for i in range(args.incremental + args.warmup):
        rid = make_reports(1, start_at=0, world=world, unit=unit, now=datetime.now(UTC))[0]
        t0 = time.perf_counter()
        r = Report.objects.get(id=rid)
        list(Identifier.objects.filter(report=r))
        fetched = time.perf_counter() - t0
        t0 = time.perf_counter()
        report_process.call(report_id=rid)
        took = time.perf_counter() - t0
        if i < args.warmup:
            warmup.append(took)
        else:
            base_lat.append(fetched)
            lat.append(took)
    if warmup:
        print(f"incremental warm-up (not counted): the first {len(warmup)} reports took {', '.join(f'{w * 1000:.0f}' for w in warmup)} ms", flush=True)
    if len(lat) >= 2:
        q = statistics.quantiles(lat, n=100)
        p50, p95, p99 = statistics.median(lat) * 1000, q[94] * 1000, q[98] * 1000
        b50 = statistics.median(base_lat) * 1000
        print(f"incremental report_process over {len(lat)} reports: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; "
              f"baseline fetch p50 {b50:.2f} ms (ratio p50 {p50 / b50:.0f}x)", flush=True)
    print(f"from scratch: {total:.1f} s for {args.reports} = {args.reports / total:.0f} reports/s; "
          f"linear projection to 1 M: {per_million / 60:.1f} min (target < 5 min); "
          f"ratio to the read baseline: {total / base:.1f}x; peak RSS {rss_mb:.0f} MB; "
          f"biggest clusters {biggest}; triaged {ReportTriage.objects.count()}", flush=True)
    connection.close()
    if not (args.keep or args.reuse) and url.startswith("postgres"):
        drop_pg(url)


if __name__ == "__main__":
    main()
