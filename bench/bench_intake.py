"""Provider API intake benchmark: POST /ispws/submit + POST /ispws/finish on PostgreSQL.

    .venv/bin/python bench/bench_intake.py                # one config: the `himaya serve` default (one web worker per core x 4 threads)
    .venv/bin/python bench/bench_intake.py --sweep        # web workers x threads: 2x4, 4x4, 4x8, 8x2
    .venv/bin/python bench/bench_intake.py --profile both # + py-spy CPU (--gil) and wall-clock (--idle) profiles
                                                          #   of the best config (needs `.venv/bin/pip install py-spy`)
    .venv/bin/python bench/bench_intake.py --reports 5000 --concurrency 16 --database-url postgres://...

For each server config: a fresh database (dropped and created), `himaya migrate`,
`himaya create_reporter`, `himaya serve` on a free loopback port; then the same
load generator (separate processes, keep-alive http.client connections in
threads) drives
  1. GET /health          (baseline: unauthenticated, one SELECT 1)
  2. GET /ispws/status    (baseline: Basic auth with its cache, a tiny XML answer)
  3. submit + finish      (the intake path), after a warm-up that is not measured
and prints reports/s, latency percentiles, errors, where the CPU went (web
workers, task worker, PostgreSQL, load generator), and the ratio against the
baselines measured in the same run. "Nothing lost": the ids of finished reports
in the database must be exactly the ids whose finish was answered with code 0.

Target (SPEC §5): >= 300 reports/s sustained, p99 < 250 ms, nothing lost, 2 cores.
Nothing is written outside a temporary directory and the himaya_bench database
(both removed at the end unless --keep).
"""
from __future__ import annotations

import argparse
import base64
import collections
import http.client
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
HIMAYA = str(VENV_BIN / "himaya")
USERNAME, PASSWORD = "bench", "bench-pass-123"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/himaya_bench"
TARGET_RPS, TARGET_P99_MS = 300.0, 250.0
SWEEP = [(2, 4), (4, 4), (4, 8), (8, 2)]
SERVER_SIDE = ("web (gunicorn)", "postgresql", "task worker", "serve supervisor", "front (nginx)")

CODE_RE = re.compile(rb"<responseCode>\s*(-?\d+)\s*</responseCode>")
ID_RE = re.compile(rb"<reportId>\s*(\d+)\s*</reportId>")


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------

_SYL = ["ka", "lo", "mi", "ra", "tes", "vun", "dor", "bel", "sa", "quin", "zu", "pha", "nel", "ori", "gam", "tuv"]
INCIDENT_TYPES = [
    "Child Pornography (possession, manufacture, and distribution)",
    "Online Enticement of Children for Sexual Acts",
]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYL) for _ in range(rng.randint(2, 3))).capitalize()


def _when(rng: random.Random) -> str:
    t = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randint(0, 300 * 86400))
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ip_event(rng: random.Random) -> str:
    return (f"<ipCaptureEvent><ipAddress>192.0.2.{rng.randint(1, 254)}</ipAddress>"
            f"<eventName>{rng.choice(['Login', 'Registration', 'Upload', 'Purchase'])}</eventName>"
            f"<dateTime>{_when(rng)}</dateTime><port>{rng.choice([443, 8080, 5222])}</port></ipCaptureEvent>")


def build_report(i: int, rng: random.Random) -> bytes:
    """A mid-sized provider report (~2-4 KB): a web page and a chat incident, the
    reporting person, one reported user with e-mails, 1-3 IP captures and a device
    id, and a victim. Invented names, example.com e-mails, 192.0.2.0/24 IPs."""
    first, last = _name(rng), _name(rng)
    s_first, s_last, v_first = _name(rng), _name(rng), _name(rng)
    screen = f"{s_first.lower()}_{i}"
    chat = ""
    if rng.random() < 0.6:
        chat = (f"<internetDetails><chatImIncident><chatClient>ExampleChat</chatClient>"
                f"<chatRoomName>room {rng.randint(1, 99)}</chatRoomName>"
                f"<content>{' '.join(_name(rng).lower() for _ in range(rng.randint(5, 40)))}</content>"
                f"</chatImIncident></internetDetails>")
    ips = "".join(_ip_event(rng) for _ in range(rng.randint(1, 3)))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
  <incidentSummary>
    <incidentType>{rng.choice(INCIDENT_TYPES)}</incidentType>
    <platform>Example Messenger</platform>
    <reportAnnotations>{rng.choice(['<sextortion/>', '<csamSolicitation/>', '<spam/>', ''])}</reportAnnotations>
    <incidentDateTime>{_when(rng)}</incidentDateTime>
  </incidentSummary>
  <internetDetails>
    <webPageIncident>
      <url>https://example.com/p/{i}/{rng.randint(1, 10**6)}.html</url>
    </webPageIncident>
  </internetDetails>{chat}
  <reporter>
    <reportingPerson>
      <firstName>{first}</firstName>
      <lastName>{last}</lastName>
      <email>{first.lower()}.{last.lower()}@example.com</email>
    </reportingPerson>
  </reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <firstName>{s_first}</firstName>
      <lastName>{s_last}</lastName>
      <email>{screen}@example.org</email>
      <email>{s_last.lower()}{i}@example.net</email>
    </personOrUserReportedPerson>
    <espIdentifier>u{100000 + i}</espIdentifier>
    <espService>Example Messenger</espService>
    <screenName>{screen}</screenName>
    <displayName>{s_first} {s_last[0]}.</displayName>
    <profileUrl>https://example.com/u/{screen}</profileUrl>
    {ips}
    <deviceId><idType>IMEI</idType><idValue>{rng.randint(10**14, 10**15 - 1)}</idValue></deviceId>
    <additionalInfo>account created {_when(rng)[:10]}</additionalInfo>
  </personOrUserReported>
  <victim>
    <victimPerson>
      <firstName>{v_first}</firstName>
      <age>{rng.randint(9, 16)}</age>
    </victimPerson>
    <screenName>{v_first.lower()}{rng.randint(1, 999)}</screenName>
  </victim>
  <additionalInfo>benchmark report {i}</additionalInfo>
</report>
""".encode()


def make_documents(n: int, seed: int = 5) -> tuple[list[bytes], str]:
    """Distinct report documents, each checked against the XSD and the documented rules."""
    docs: list[bytes] = []
    source = "bench.build_report"
    try:  # prefer the project's demo generator when it exists
        from himaya.demo.generator import generate_reports  # type: ignore[import-not-found]

        for r in generate_reports(n):
            docs.append(bytes(r.xml))
            if len(docs) >= n:
                break
        source = "himaya.demo.generator"
    except Exception:
        docs = []
    if not docs:
        rng = random.Random(seed)
        docs = [build_report(i, rng) for i in range(n)]
    from himaya.intake.cybertip import check_report, parse_xml, validate_schema

    now = datetime.now(timezone.utc)
    for d in docs[:50]:
        root, tree = parse_xml(d, max_bytes=10 * 1024 * 1024)
        validate_schema(root, expect="report")
        bad = check_report(tree, now=now, prior_report_exists=lambda _id: True)
        if bad:
            raise SystemExit(f"generated document rejected: {bad[:3]}")
    return docs, source


# ---------------------------------------------------------------------------
# Load generator (separate processes; threads with keep-alive connections)
# ---------------------------------------------------------------------------


@dataclass
class Phase:
    kind: str  # "health" | "status" | "intake"
    t_start: float  # monotonic (system-wide clock, shared by processes)
    t_measure: float
    t_end: float
    max_reports: int = 0  # 0: time-bound


def _connect(port: int) -> http.client.HTTPConnection:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def _request(conn_box: list, port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
    for attempt in (0, 1):
        try:
            if conn_box[0] is None:
                conn_box[0] = _connect(port)
            conn_box[0].request(method, path, body=body, headers=headers)
            r = conn_box[0].getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                conn_box[0].close()
                conn_box[0] = None
            return r.status, data
        except (http.client.HTTPException, OSError):
            if conn_box[0] is not None:
                conn_box[0].close()
            conn_box[0] = None
            if attempt:
                raise
    raise AssertionError


def _thread_main(port: int, phase: Phase, docs: list[bytes], seed: int, counter, out: list) -> None:
    rng = random.Random(seed)
    auth = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    h_xml = {"Authorization": auth, "Content-Type": "text/xml; charset=utf-8"}
    h_form = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
    h_get = {"Authorization": auth}
    box: list = [None]
    while time.monotonic() < phase.t_start:
        time.sleep(0.001)
    while True:
        t0 = time.monotonic()
        if t0 >= phase.t_end:
            break
        if phase.max_reports and t0 >= phase.t_measure:
            with counter.get_lock():
                if counter.value >= phase.max_reports:
                    break
                counter.value += 1
        try:
            if phase.kind == "health":
                status, _ = _request(box, port, "GET", "/health", None, {})
                t1 = time.monotonic()
                out.append((t0, t1, status == 200, t1 - t0, 0.0, 0, status))
                continue
            if phase.kind == "status":
                status, body = _request(box, port, "GET", "/ispws/status", None, h_get)
                m = CODE_RE.search(body)
                t1 = time.monotonic()
                out.append((t0, t1, status == 200 and m is not None and m.group(1) == b"0", t1 - t0, 0.0, 0, status))
                continue
            doc = docs[rng.randrange(len(docs))]
            status, body = _request(box, port, "POST", "/ispws/submit", doc, h_xml)
            t1 = time.monotonic()
            m, mid = CODE_RE.search(body), ID_RE.search(body)
            if not (m and m.group(1) == b"0" and mid):
                out.append((t0, t1, False, t1 - t0, 0.0, 0, f"submit {status} {m.group(1).decode() if m else '?'}"))
                continue
            rid = int(mid.group(1))
            status, body = _request(box, port, "POST", "/ispws/finish", f"id={rid}".encode(), h_form)
            t2 = time.monotonic()
            m = CODE_RE.search(body)
            ok = bool(m and m.group(1) == b"0")
            out.append((t0, t2, ok, t1 - t0, t2 - t1, rid, "ok" if ok else f"finish {status} {m.group(1).decode() if m else '?'}"))
        except Exception as exc:  # counted, never fatal
            t1 = time.monotonic()
            out.append((t0, t1, False, t1 - t0, 0.0, 0, f"exception {type(exc).__name__}"))
    if box[0] is not None:
        box[0].close()


def _process_main(port: int, phase: Phase, docs: list[bytes], threads: int, seed: int, counter, queue) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outs: list[list] = [[] for _ in range(threads)]
    ts = [threading.Thread(target=_thread_main, args=(port, phase, docs, seed * 1000 + i, counter, outs[i])) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    queue.put([row for o in outs for row in o])


@dataclass
class LoadResult:
    kind: str
    rows: list  # measured rows
    all_rows: list
    window: float
    cpu: dict[str, float] = field(default_factory=dict)
    cpu_window: float = 0.0
    pg_waits: str = ""

    @property
    def ok_rows(self) -> list:
        return [r for r in self.rows if r[2]]

    @property
    def rate(self) -> float:
        return len(self.ok_rows) / self.window if self.window > 0 else 0.0

    def pct(self, q: float, col: int = -1) -> float:
        vals = sorted((r[1] - r[0]) if col < 0 else r[col] for r in self.ok_rows)
        if not vals:
            return float("nan")
        return vals[min(len(vals) - 1, int(q / 100 * len(vals)))] * 1000

    @property
    def errors(self) -> int:
        return sum(1 for r in self.all_rows if not r[2])


class PgWaits(threading.Thread):
    """Samples pg_stat_activity of the bench database every 50 ms: what its active backends wait for."""

    def __init__(self, url: str, t_from: float, t_to: float) -> None:
        super().__init__(daemon=True)
        self.url, self.t_from, self.t_to = url, t_from, t_to
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        name = urlsplit(self.url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as c:
            while time.monotonic() < self.t_from and not self.stop.is_set():
                time.sleep(0.01)
            while time.monotonic() < self.t_to and not self.stop.is_set():
                rows = c.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), left(query, 60) FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    [name]).fetchall()
                self.samples += 1
                for ev, q in rows:
                    if ev.startswith("Lock:") and "pg_advisory_xact_lock" in q:
                        ev += " (linking)"  # the only advisory lock: linking serialises its writers
                    elif ev.startswith("Lock:") and "FOR UPDATE" in q:
                        ev += " (row lock)"
                    self.counts[ev] += 1
                time.sleep(0.05)

    def summary(self) -> str:
        if not self.samples:
            return ""
        total = sum(self.counts.values())
        parts = [f"{k} {v / self.samples:.2f}" for k, v in self.counts.most_common(8)]
        return f"active PostgreSQL backends on average {total / self.samples:.2f}: " + ", ".join(parts)


def run_load(*, port: int, kind: str, docs: list[bytes], concurrency: int, processes: int, warmup: float, duration: float,
             max_reports: int = 0, sampler=None, pg_url: str | None = None) -> LoadResult:
    processes = max(1, min(processes, concurrency))
    now = time.monotonic() + 0.5  # children start together
    horizon = duration if not max_reports else 3600.0
    phase = Phase(kind, now, now + warmup, now + warmup + horizon, max_reports)
    ctx = mp.get_context("fork")
    counter = ctx.Value("q", 0)
    queue = ctx.Queue()
    per = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_process_main, args=(port, phase, docs, n, 17 + i, counter, queue), daemon=True) for i, n in enumerate(per)]
    for p in procs:
        p.start()
    client_pids = {p.pid for p in procs}
    waits = None
    if pg_url:
        waits = PgWaits(pg_url, phase.t_measure, phase.t_end)
        waits.start()
    cpu0 = cpu1 = None
    t_cpu0 = t_cpu1 = 0.0
    if sampler is not None:
        time.sleep(max(0.0, phase.t_measure - time.monotonic()))
        cpu0, t_cpu0 = sampler(client_pids), time.monotonic()
        if not max_reports:
            time.sleep(max(0.0, phase.t_end - time.monotonic() - 0.05))
            cpu1, t_cpu1 = sampler(client_pids), time.monotonic()
    rows: list = []
    for _ in procs:
        rows.extend(queue.get())
    if sampler is not None and cpu1 is None:
        cpu1, t_cpu1 = sampler(client_pids), time.monotonic()
    for p in procs:
        p.join()
    measured = [r for r in rows if r[0] >= phase.t_measure and (max_reports or r[0] < phase.t_end)]
    end = max((r[1] for r in measured), default=phase.t_measure)
    window = (min(end, phase.t_end) if not max_reports else end) - phase.t_measure
    res = LoadResult(kind, measured, rows, window)
    if waits is not None:
        waits.stop.set()
        waits.join()
        res.pg_waits = waits.summary()
    if cpu0 is not None and cpu1 is not None:
        res.cpu = cpu_delta(cpu0, cpu1)
        res.cpu_window = t_cpu1 - t_cpu0
    return res


# ---------------------------------------------------------------------------
# CPU accounting from /proc: where the two cores go
# ---------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def make_sampler(server_pid: int, database: str = ""):
    """CPU seconds per pid of the processes that are this run's: the load generator, the
    server's own process tree (`himaya serve`, gunicorn, the task workers, the nginx
    front) and PostgreSQL's backends of this database plus its shared background
    processes (WAL writer, checkpointer...). Other sessions' servers and databases on the
    same machine are "other processes". Per pid, so a process that ends or starts
    during the phase cannot make a category go negative (`cpu_delta`)."""
    def classify(pid: int, cmd: str, client_pids: set[int], ours: set[int]) -> str | None:
        if pid in client_pids:
            return "load generator"
        if pid in ours:
            if pid == server_pid:
                return "serve supervisor"
            if "gunicorn" in cmd:
                return "web (gunicorn)"
            if "himaya worker" in cmd or cmd.endswith("-m himaya worker"):
                return "task worker"
            if "nginx" in cmd:
                return "front (nginx)"
            return None
        if cmd.startswith("postgres"):
            # "postgres: 15/main: postgres <database> <client> <state>" for a backend;
            # "postgres: 15/main: walwriter" (no database) for the shared processes.
            words = cmd.split()
            backend = len(words) >= 5 and words[1].endswith(":") and words[2] != "autovacuum"
            if not backend:
                return "postgresql (shared)"
            return "postgresql" if not database or words[3] == database else None
        return None

    def sample(client_pids: set[int]) -> dict:
        out: dict = {}
        parent: dict[int, int] = {}
        cmds: dict[int, tuple[str, str]] = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            parent[int(d)] = int(fields[1])
            cmds[int(d)] = (cmd, stat)
        ours = {server_pid}
        grew = True
        while grew:
            more = {pid for pid, pp in parent.items() if pp in ours and pid not in ours}
            ours |= more
            grew = bool(more)
        for pid, (cmd, stat) in cmds.items():
            kind = classify(pid, cmd, client_pids, ours)
            if kind is None:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            out[(pid, kind)] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
        with open("/proc/stat") as fh:
            parts = fh.readline().split()[1:]
        vals = [int(x) for x in parts]
        out["machine busy"] = (sum(vals[:8]) - vals[3] - vals[4]) / CLK_TCK
        return out

    return sample


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    """Per category: the CPU its processes used between two samples (a process that
    started in between counts from 0; one that ended is lost, never negative)."""
    out: dict[str, float] = collections.defaultdict(float)
    out["machine busy"] = after.get("machine busy", 0.0) - before.get("machine busy", 0.0)
    for key, secs in after.items():
        if key != "machine busy":
            out[key[1]] += max(0.0, secs - before.get(key, 0.0))
    return dict(out)


# ---------------------------------------------------------------------------
# Server lifecycle
# ---------------------------------------------------------------------------


def free_port() -> int:
    """HIMAYA_BENCH_PORT (a port range shared out between people on one host), else any free one."""
    if os.environ.get("HIMAYA_BENCH_PORT"):
        return int(os.environ["HIMAYA_BENCH_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _droppable(name: str) -> bool:
    """Only a database made for this bench is dropped and recreated."""
    return name == "himaya_bench" or name.endswith(("_bench", "_intake"))


def reset_database(url: str, pg_settings: list[str] = ()) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not _droppable(name):
        raise SystemExit(f"refusing to drop a database not named himaya_bench (or *_bench, *_intake): {name!r}")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
        for kv in pg_settings:  # diagnostic what-ifs only, e.g. synchronous_commit=off (loses durability!)
            key, _, value = kv.partition("=")
            if not re.fullmatch(r"[a-z_]+", key) or not re.fullmatch(r"[A-Za-z0-9_.]+", value):
                raise SystemExit(f"bad --pg-setting {kv!r}")
            c.execute(f'ALTER DATABASE "{name}" SET {key} = {value}')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if _droppable(name):
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_query(url: str, sql: str) -> list:
    import psycopg

    with psycopg.connect(url) as c:
        return c.execute(sql).fetchall()


class Server:
    def __init__(self, *, env: dict[str, str], home: Path, web_workers: int, threads: int, task_workers: int) -> None:
        self.port = free_port()
        self.log = open(home / f"serve-{web_workers}x{threads}.log", "wb")
        self.proc = subprocess.Popen(
            [HIMAYA, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--web-workers", str(web_workers),
             "--threads", str(threads), "--task-workers", str(task_workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=home,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"himaya serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    c.close()
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the server did not become healthy within 60 s")
            time.sleep(0.2)

    def gunicorn_master(self) -> int | None:
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    st = Path(f"/proc/{d}/stat").read_text()
                    cmd = Path(f"/proc/{d}/cmdline").read_bytes()
                except OSError:
                    continue
                if int(st.rsplit(")", 1)[1].split()[1]) == self.proc.pid and b"gunicorn" in cmd:
                    return int(d)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def prepare(env: dict[str, str], url: str, pg_settings: list[str] = ()) -> None:
    reset_database(url, pg_settings)
    subprocess.run([HIMAYA, "migrate", "-v0"], env=env, check=True, cwd=env["HIMAYA_HOME"])
    subprocess.run([HIMAYA, "create_reporter", USERNAME, "--password", PASSWORD], env=env, check=True, cwd=env["HIMAYA_HOME"],
                   stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------------------
# One config: baselines, intake, verification
# ---------------------------------------------------------------------------


@dataclass
class ConfigResult:
    web_workers: int
    threads: int
    health: LoadResult | None
    status: LoadResult | None
    intake: LoadResult
    lost_ok: bool
    lost_detail: str


def run_config(args, env: dict[str, str], home: Path, docs: list[bytes], ww: int, th: int, *, profile: str | None = None) -> ConfigResult:
    prepare(env, args.database_url, args.pg_setting)
    server = Server(env=env, home=home, web_workers=ww, threads=th, task_workers=args.task_workers)
    sampler = make_sampler(server.proc.pid, urlsplit(args.database_url).path.lstrip("/"))
    common = dict(port=server.port, docs=docs, concurrency=args.concurrency, processes=args.client_processes, sampler=sampler)
    try:
        health = status = None
        if not args.no_baseline:
            health = run_load(kind="health", warmup=1.0, duration=args.baseline_duration, **common)
            status = run_load(kind="status", warmup=1.0, duration=args.baseline_duration, **common)
        spy = None
        if profile:
            master = server.gunicorn_master()
            out = home / f"profile-{profile}.txt"
            cmd = [str(VENV_BIN / "py-spy"), "record", "--pid", str(master), "--subprocesses", "--format", "raw", "--nolineno",
                   "--rate", str(args.profile_rate), "--duration", str(int(args.warmup + args.duration)), "--output", str(out)]
            cmd.append("--idle" if profile == "wall" else "--gil")
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        intake = run_load(kind="intake", warmup=args.warmup, duration=args.duration, max_reports=args.reports,
                          pg_url=args.database_url, **common)
        if spy is not None:
            spy.wait(timeout=120)
            if profile == "cpu":
                args.profile_cpu_file = home / "profile-cpu.txt"
            else:
                args.profile_wall_file = home / "profile-wall.txt"
        # Nothing lost: the finished reports in the database are exactly those answered with code 0.
        acked_finish = {r[5] for r in intake.all_rows if r[2]}
        submitted = {r[5] for r in intake.all_rows if r[5]}
        in_db = {row[0] for row in db_query(args.database_url, "SELECT id FROM reports_report WHERE status = 'finished'")}
        all_db = db_query(args.database_url, "SELECT count(*) FROM reports_report")[0][0]
        audited = db_query(args.database_url, "SELECT count(*) FROM audit_auditevent WHERE action = 'report.finished'")[0][0]
        missing, extra = acked_finish - in_db, in_db - acked_finish
        lost_ok = not missing and not extra and audited == len(in_db) and all_db >= len(submitted)
        lost_detail = (f"finish acked {len(acked_finish)}, finished in db {len(in_db)}, missing {len(missing)}, unexpected {len(extra)}, "
                       f"report.finished audit events {audited}, reports rows {all_db} (submits acked {len(submitted)})")
    finally:
        server.stop()
    return ConfigResult(ww, th, health, status, intake, lost_ok, lost_detail)


# ---------------------------------------------------------------------------
# Profile summary (py-spy raw collapsed stacks)
# ---------------------------------------------------------------------------

def _fn(frame: str, name: str, path: str = "") -> bool:
    """Does a py-spy frame "Qual.name (path/file.py)" name this function (qualified or not) in this file?"""
    func, _, where = frame.partition(" (")
    return (func == name or func.endswith("." + name)) and path in where


CATEGORIES = [
    # (label, predicate over one frame); the share of a label is the share of request samples whose stack
    # contains a matching frame (inclusive time), so labels overlap.
    ("view: submit (whole request minus middleware)", lambda f: _fn(f, "submit", "intake/views.py")),
    ("view: finish", lambda f: _fn(f, "finish", "intake/views.py")),
    ("view: status / health", lambda f: _fn(f, "status", "intake/views.py") or _fn(f, "health", "core/views.py")),
    ("auth: reporter_authenticate", lambda f: _fn(f, "reporter_authenticate")),
    ("  argon2 check_password", lambda f: _fn(f, "check_password", "django/contrib/auth/hashers.py")),
    ("XML parse (parse_xml)", lambda f: _fn(f, "parse_xml", "cybertip")),
    ("XSD validation (validate_schema)", lambda f: _fn(f, "validate_schema", "cybertip")),
    ("documented rules (check_report)", lambda f: _fn(f, "check_report", "cybertip")),
    ("  prior_report_exists query", lambda f: _fn(f, "prior_report_exists")),
    ("projection build (project_report)", lambda f: _fn(f, "project_report")),
    ("tree.to_json", lambda f: _fn(f, "to_json", "cybertip")),
    ("report_create_from_tree (Report + projection rows)", lambda f: _fn(f, "report_create_from_tree")),
    ("  _write_projection (Party saves + bulk_creates)", lambda f: _fn(f, "_write_projection")),
    ("audit_record (advisory lock + last hash + insert)", lambda f: _fn(f, "audit_record")),
    ("finish: _report_for_update", lambda f: _fn(f, "_report_for_update")),
    ("finish: task enqueue (on_commit)", lambda f: _fn(f, "enqueue_report_received")),
    ("transaction.atomic exit (COMMIT)", lambda f: _fn(f, "__exit__", "django/db/transaction.py")),
    ("psycopg Cursor.execute (all SQL round trips)", lambda f: _fn(f, "execute", "psycopg/cursor.py")),
    ("Django SQL compile (as_sql)", lambda f: _fn(f, "as_sql", "django/db/models/sql/compiler.py")),
    ("Django model __init__", lambda f: _fn(f, "__init__", "django/db/models/base.py")),
    ("Django middleware + handler overhead (get_response)", lambda f: _fn(f, "get_response", "django/core/handlers/base.py")),
    ("  SessionMiddleware / AuthenticationMiddleware / LocaleMiddleware", lambda f: any(
        _fn(f, n) for n in ("SessionMiddleware.process_response", "LocaleMiddleware.process_request", "LocaleMiddleware.process_response",
                            "AuthenticationMiddleware.process_request"))),
    ("request signals (request_started/finished: close_old_connections)", lambda f: _fn(f, "close_old_connections")),
    ("gunicorn access log", lambda f: _fn(f, "access", "gunicorn/glogging.py")),
]


def summarize_profile(path: Path, *, top: int = 25, cpu_only: bool = False) -> str:
    stacks: list[tuple[list[str], int]] = []
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = [f for f in stack.split(";") if f]
        # keep only the web workers' request threads and their main loop
        stacks.append((frames, int(n)))
        total += int(n)
    req = [(f, n) for f, n in stacks if any(_fn(x, "handle_request", "gunicorn") for x in f)]
    req_total = sum(n for _, n in req) or 1
    lines = [f"samples: {total} in all, {req_total} inside gunicorn handle_request ({100 * req_total / max(total, 1):.0f}%)"]
    waiting = sum(n for f, n in req if _fn(f[-1], "wait", "psycopg/connection.py"))
    lines.append(f"of those, {100 * waiting / req_total:.1f}% waiting for PostgreSQL (leaf psycopg Connection.wait: locks, fsync, "
                 "query execution, GIL hand-over)")
    if cpu_only:
        # py-spy counts a thread blocked in psycopg's wait loop as active; here only Python work is wanted
        req = [(f, n) for f, n in req if not _fn(f[-1], "wait", "psycopg/connection.py")]
        req_total = sum(n for _, n in req) or 1
        lines.append(f"the shares below are of the remaining {req_total} samples: Python work in the web workers")
    lines.append("")
    lines.append("inclusive share of request time, by stage:")
    for label, pred in CATEGORIES:
        n = sum(c for f, c in req if any(pred(x) for x in f))
        lines.append(f"  {100 * n / req_total:5.1f}%  {label}")
    incl: collections.Counter[str] = collections.Counter()
    self_: collections.Counter[str] = collections.Counter()
    for frames, n in req:
        for fr in set(frames):
            incl[fr] += n
        self_[frames[-1]] += n
    lines += ["", f"top {top} functions by inclusive share of request time (himaya code):"]
    for fr, n in [x for x in incl.most_common() if "(himaya/" in x[0]][:top]:
        lines.append(f"  {100 * n / req_total:5.1f}%  {_short(fr)}")
    lines += ["", f"top {top} leaf functions (self time) in requests:"]
    for fr, n in self_.most_common(top):
        lines.append(f"  {100 * n / req_total:5.1f}%  {_short(fr)}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    m = re.match(r"(.*) \((.*)\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    for marker in ("/site-packages/", str(ROOT) + "/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{func}"


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def print_results(results: list[ConfigResult], args) -> ConfigResult:
    hdr = (f"{'web x thr':>9} {'health/s':>9} {'status/s':>9} {'reports/s':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
           f"{'p99 ms':>7} {'max ms':>7} {'sub p99':>7} {'fin p99':>7} {'errors':>6} {'lost?':>5}")
    print()
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        i = r.intake
        hs = f"{r.health.rate:9.0f}" if r.health else f"{'-':>9}"
        ss = f"{r.status.rate:9.0f}" if r.status else f"{'-':>9}"
        print(f"{r.web_workers:>4} x {r.threads:<2} {hs} {ss} {i.rate:9.1f} {2 * i.rate:7.0f} {i.pct(50):7.1f} {i.pct(95):7.1f} "
              f"{i.pct(99):7.1f} {i.pct(100):7.1f} {i.pct(99, 3):7.1f} {i.pct(99, 4):7.1f} {i.errors:6d} {'none' if r.lost_ok else 'LOST':>5}")
    best = max(results, key=lambda r: (r.lost_ok and r.intake.errors == 0 and r.intake.pct(99) < TARGET_P99_MS, r.intake.rate))
    print()
    for r in results:
        i = r.intake
        base = []
        if r.health and r.health.rate:
            base.append(f"intake reports/s ÷ /health req/s = {i.rate / r.health.rate:.3f}  (requests: {2 * i.rate / r.health.rate:.3f})")
        if r.status and r.status.rate:
            base.append(f"intake reports/s ÷ /ispws/status req/s = {i.rate / r.status.rate:.3f}")
        print(f"[{r.web_workers}x{r.threads}] " + ";  ".join(base) if base else f"[{r.web_workers}x{r.threads}]")
        print(f"        {i.rate / TARGET_RPS:.2f}x the SPEC target of {TARGET_RPS:.0f} reports/s; p99 {i.pct(99):.0f} ms vs {TARGET_P99_MS:.0f} ms; "
              f"{len(i.ok_rows)} reports in {i.window:.1f} s measured (concurrency {args.concurrency})")
        print(f"        nothing lost: {'yes' if r.lost_ok else 'NO'} — {r.lost_detail}")
        errs = collections.Counter(row[6] for row in i.all_rows if not row[2])
        if errs:
            print(f"        errors: {dict(errs.most_common(5))}")
        if i.cpu and i.cpu_window > 0:
            n = len(i.ok_rows) * (i.cpu_window / i.window) if i.window else 0
            parts = [f"{k} {v / i.cpu_window:.2f}" for k, v in sorted(i.cpu.items(), key=lambda kv: -kv[1]) if k != "machine busy"]
            per = [f"{k} {1000 * v / n:.2f}" for k, v in sorted(i.cpu.items(), key=lambda kv: -kv[1]) if k != "machine busy" and n]
            other = i.cpu.get("machine busy", 0) - sum(v for k, v in i.cpu.items() if k != "machine busy")
            print(f"        cores busy {i.cpu.get('machine busy', 0) / i.cpu_window:.2f} of {os.cpu_count()}: " + ", ".join(parts)
                  + f", other processes on the machine {max(0.0, other) / i.cpu_window:.2f}")
            print("        CPU ms per report: " + ", ".join(per))
        if i.pg_waits:
            print("        " + i.pg_waits)
            server = sum(v for k, v in i.cpu.items() if k in SERVER_SIDE)
            if n and server > 0:
                print(f"        server-side CPU {1000 * server / n:.1f} ms/report → at most {os.cpu_count() * n / server:.0f} reports/s "
                      f"if the server had all {os.cpu_count()} cores to itself")
    print()
    i = best.intake
    verdict = "MEETS" if (i.rate >= TARGET_RPS and i.pct(99) < TARGET_P99_MS and best.lost_ok and i.errors == 0) else "MISSES"
    print(f"best: {best.web_workers} web workers x {best.threads} threads: {i.rate:.1f} reports/s, p99 {i.pct(99):.0f} ms — {verdict} the SPEC §5 target")
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=0, help="measure this many reports instead of --duration seconds (0: time-bound)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of the measured (sustained) intake phase")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of unmeasured intake before it")
    ap.add_argument("--baseline-duration", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent client connections (each submits then finishes, back to back)")
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--database-url", default=os.environ.get("HIMAYA_BENCH_DATABASE_URL", DEFAULT_DB))
    ap.add_argument("--web-workers", type=int, default=max(2, os.cpu_count() or 1), help="default: as `himaya serve` (one per core, at least 2)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--task-workers", type=int, default=1)
    ap.add_argument("--sweep", action="store_true", help=f"run the configs {', '.join(f'{w}x{t}' for w, t in SWEEP)} (web workers x threads)")
    ap.add_argument("--documents", type=int, default=300, help="distinct report documents to cycle through")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--profile", choices=["cpu", "wall", "both"], help="one more run of the first config under py-spy (pip install py-spy)")
    ap.add_argument("--profile-rate", type=int, default=100)
    ap.add_argument("--profile-only", action="store_true", help="skip the measured runs; only profile")
    ap.add_argument("--pg-setting", action="append", default=[], metavar="KEY=VALUE",
                    help="ALTER DATABASE himaya_bench SET KEY = VALUE before migrating (diagnostic what-ifs, e.g. synchronous_commit=off)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs, raw profiles)")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="himaya-bench-"))
    env = dict(os.environ)
    env.update(HIMAYA_HOME=str(home), DATABASE_URL=args.database_url, DJANGO_SETTINGS_MODULE="config.settings.production",
               HIMAYA_LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ["HIMAYA_HOME"] = str(home)
    sys.path.insert(0, str(ROOT))
    try:
        docs, source = make_documents(args.documents)
        sizes = sorted(len(d) for d in docs)
        print(f"{len(docs)} distinct report documents from {source}, {sizes[0]}-{sizes[-1]} bytes (median {sizes[len(sizes) // 2]})")
        if args.pg_setting:
            print(f"WHAT-IF run with PostgreSQL settings {args.pg_setting}: not a valid production configuration")
        print(f"database {args.database_url}; concurrency {args.concurrency} in {args.client_processes} client processes; "
              f"warm-up {args.warmup:.0f} s, measured {f'{args.reports} reports' if args.reports else f'{args.duration:.0f} s'}")
        configs = SWEEP if args.sweep else [(args.web_workers, args.threads)]
        results: list[ConfigResult] = []
        if not args.profile_only:
            for ww, th in configs:
                print(f"… {ww} web workers x {th} threads", flush=True)
                results.append(run_config(args, env, home, docs, ww, th))
            best = print_results(results, args)
            pw, pt = best.web_workers, best.threads
        else:
            pw, pt = configs[0]
        if args.profile:
            for kind in (["cpu", "wall"] if args.profile == "both" else [args.profile]):
                print(f"\n… profiling ({kind}) {pw} web workers x {pt} threads under py-spy at {args.profile_rate} Hz", flush=True)
                saved = args.no_baseline
                args.no_baseline = True
                r = run_config(args, env, home, docs, pw, pt, profile=kind)
                args.no_baseline = saved
                print(f"(under the profiler: {r.intake.rate:.1f} reports/s, p99 {r.intake.pct(99):.0f} ms, errors {r.intake.errors}, "
                      f"nothing lost: {'yes' if r.lost_ok else 'NO'})")
                if r.intake.pg_waits:
                    print(r.intake.pg_waits)
                f = getattr(args, f"profile_{kind}_file", None)
                if f and f.exists():
                    print(f"\n== py-spy {kind} profile {'(CPU: only the thread holding the GIL, py-spy --gil)' if kind == 'cpu' else '(wall clock: idle samples included)'} ==")
                    print(summarize_profile(f))
                else:
                    print("py-spy produced no profile (is it installed in .venv, and is ptrace allowed?)")
    finally:
        if args.keep:
            print(f"kept {home} and the database")
        else:
            shutil.rmtree(home, ignore_errors=True)
            try:
                drop_database(args.database_url)
            except Exception as exc:
                print(f"could not drop the bench database: {exc}")


if __name__ == "__main__":
    main()
