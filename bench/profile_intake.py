"""CPU per report of the provider API's submit + finish, in one process (issue 18 item 2).

Each report goes through the whole WSGI application (`config.wsgi.application`,
production settings: middleware, Basic auth, parse, XSD, rules, projection,
encryption, audit events, the queued task row on the database queue, response),
called directly, with no HTTP server in between. Measured per round of --reports
demo-generator reports (best of --rounds, after --warmup): the process's Python CPU
(`time.process_time()`) and the CPU of its PostgreSQL backend (`/proc/PID/stat`).

    .venv/bin/python bench/profile_intake.py --reports 300                # this tree
    .venv/bin/python bench/profile_intake.py --reports 300 --profile      # + cProfile of one round
    .venv/bin/python bench/profile_intake.py --compare 3 --baseline-files himaya/audit/services.py ...
    .venv/bin/python bench/profile_intake.py --compare 2 --callgrind --reports 100 --baseline-files ...

--compare K alternates K pairs of child runs in the same minutes: HEAD's version of
the --baseline-files (`git show HEAD:path`, over a copy of this tree's himaya/ and
config/, so other files are the same in both) and this tree as it is. The database
(--database-url, created and migrated once) and HIMAYA_HOME (its keys) are shared.
Children run with PYTHONHASHSEED=0, so that their responses (--responses) can be
compared byte for byte (django-csp orders the policy's directives by string hash).

On a shared machine CPU time is noisy: --callgrind runs each child twice under
valgrind's callgrind, with one and with two passes over the --reports documents after
the warm-up, and reports the difference of the two runs' instruction counts per
report (the Python process only; its PostgreSQL backend is still /proc CPU).
"""
from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pickle
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USERNAME, PASSWORD = "bench", "bench-pass-123"
CODE_RE = re.compile(rb"<responseCode>\s*(-?\d+)\s*</responseCode>")
ID_RE = re.compile(rb"<reportId>\s*(\d+)\s*</reportId>")
TICK = os.sysconf("SC_CLK_TCK")


def documents(n: int, cache: Path) -> list[bytes]:
    if cache.exists():
        docs = pickle.loads(cache.read_bytes())
        if len(docs) >= n:
            return docs[:n]
    from himaya.demo.generator import generate_reports

    docs = [bytes(r.xml) for r in generate_reports(n)]
    cache.write_bytes(pickle.dumps(docs))
    return docs


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wsgi_call(app, method: str, path: str, body: bytes, content_type: str, auth: str) -> tuple[str, list, bytes]:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost", "HTTP_AUTHORIZATION": auth, "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    out: list = []

    def start_response(status, headers, exc_info=None):
        out[:] = [status, headers]

    result = app(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return out[0], out[1], data


def child(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["HIMAYA_HOME"] = args.home
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    os.environ["HIMAYA_DB_CONN_MAX_AGE"] = "3600"  # one backend for the whole run: its /proc CPU is the measure
    os.environ.setdefault("HIMAYA_TASK_BACKEND", "database")
    from config.wsgi import application
    from django.db import connection

    import himaya

    assert str(Path(himaya.__file__).resolve()).startswith(str(Path(args.code).resolve())), himaya.__file__
    docs = documents(args.reports, Path(args.cache))
    auth = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    def one(doc: bytes, responses: list | None = None) -> None:
        status, headers, body = wsgi_call(application, "POST", "/ispws/submit", doc, "text/xml; charset=utf-8", auth)
        m = ID_RE.search(body)
        if not (status.startswith("200") and m and CODE_RE.search(body).group(1) == b"0"):
            raise SystemExit(f"submit refused: {status} {body[:300]!r}")
        rid = m.group(1)
        status2, headers2, body2 = wsgi_call(application, "POST", "/ispws/finish", b"id=" + rid, "application/x-www-form-urlencoded", auth)
        if CODE_RE.search(body2).group(1) != b"0":
            raise SystemExit(f"finish refused: {status2} {body2[:300]!r}")
        if responses is not None:
            for st, hd, bd in ((status, headers, body), (status2, headers2, body2)):
                hd = sorted((k, "<id>" if k == "Request-ID" else v) for k, v in hd)
                responses.append([st, hd, bd.replace(rid, b"<rid>").decode()])

    for doc in docs[: args.warmup]:
        one(doc)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    rounds = []
    if args.passes:  # under callgrind: the parent takes the difference of one and two passes
        # Under callgrind a run takes minutes: the provider's cached credentials would be
        # re-read (every 5 s) and re-verified with Argon2 (every 300 s) a varying number of
        # times per pass, which swamps the difference. Both trees measure the cache hit only.
        from himaya.accounts import services as accounts

        accounts._AUTH_TTL_SECONDS = accounts._AUTH_REFRESH_SECONDS = 10**9
        pg0 = proc_cpu(backend)
        for _ in range(args.passes):
            for doc in docs:
                one(doc)
        pg = (proc_cpu(backend) - pg0) * 1000 / len(docs) / args.passes
        print(json.dumps({"code": args.code, "rounds": [(0.0, pg)], "python_ms": 0.0, "pg_ms": pg}), flush=True)
        return
    for r in range(args.rounds):
        profiler = cProfile.Profile(time.process_time) if args.profile and r == 0 else None
        py0, pg0 = time.process_time(), proc_cpu(backend)
        if profiler:
            profiler.enable()
        for doc in docs:
            one(doc)
        if profiler:
            profiler.disable()
        py1, pg1 = time.process_time(), proc_cpu(backend)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            assert cur.fetchone()[0] == backend, "the database connection was replaced during the round"
        rounds.append(((py1 - py0) * 1000 / len(docs), (pg1 - pg0) * 1000 / len(docs)))
        if profiler:
            s = io.StringIO()
            pstats.Stats(profiler, stream=s).sort_stats("cumulative").print_stats(60)
            s.write("\n---- by own time\n")
            pstats.Stats(profiler, stream=s).sort_stats("tottime").print_stats(40)
            print(s.getvalue(), file=sys.stderr)
            profiler.dump_stats(Path(args.home) / "profile.pstats")
    responses: list = []
    if args.responses:
        for doc in docs[:10]:
            one(doc, responses)
        Path(args.responses).write_text(json.dumps(responses, indent=1, ensure_ascii=False))
    best = min(rounds, key=lambda t: t[0] + t[1])
    print(json.dumps({"code": args.code, "rounds": rounds, "python_ms": best[0], "pg_ms": best[1]}), flush=True)


def baseline_tree(files: list[str]) -> Path:
    """This tree's himaya/ and config/ with HEAD's version of `files`."""
    tmp = Path(tempfile.mkdtemp(prefix="himaya-profile-head-"))
    for top in ("himaya", "config"):
        shutil.copytree(ROOT / top, tmp / top, ignore=shutil.ignore_patterns("__pycache__"))
    for f in files:
        text = subprocess.run(["git", "show", f"HEAD:{f}"], cwd=ROOT, check=True, capture_output=True).stdout
        (tmp / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp / f).write_bytes(text)
    return tmp


def prepare(url: str, home: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not name.endswith("_intake"):  # it is dropped and created: never a database of anything else
        raise SystemExit(f"refusing to drop a database not named *_intake: {name!r}")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=url, HIMAYA_HOME=home, DJANGO_SETTINGS_MODULE="config.settings.production")
    himaya = [sys.executable, "-m", "himaya"]
    subprocess.run(himaya + ["migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run(himaya + ["create_reporter", USERNAME, "--password", PASSWORD], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/himaya_profile_intake")
    parser.add_argument("--home", default=str(Path(tempfile.gettempdir()) / "himaya-profile-intake-home"))
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "himaya-profile-intake-docs.pickle"))
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU clock) of the first round, on stderr "
                        "(and in HIMAYA_HOME/profile.pstats)")
    parser.add_argument("--responses", default="", help="write 10 submit + finish responses (ids masked) to this JSON file")
    parser.add_argument("--compare", type=int, default=0, metavar="K", help="K pairs: HEAD's --baseline-files, then this tree")
    parser.add_argument("--baseline-files", nargs="*", default=[])
    parser.add_argument("--callgrind", action="store_true", help="instructions per report under callgrind (one round)")
    parser.add_argument("--no-prepare", action="store_true", help="reuse the database and HIMAYA_HOME as they are")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--passes", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--code", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not args.no_prepare:
        prepare(args.database_url, args.home)
    trees = [("this tree", ROOT)]
    if args.compare:
        trees = [("HEAD files", baseline_tree(args.baseline_files)), ("this tree", ROOT)]
    results: list[tuple[str, str, dict]] = []
    for pair in range(max(1, args.compare)):
        for label, code in trees:
            cmd = [sys.executable, str(ROOT / "bench" / "profile_intake.py"), "--child", "--code", str(code),
                   "--reports", str(args.reports), "--warmup", str(args.warmup), "--rounds", str(args.rounds),
                   "--database-url", args.database_url, "--home", args.home, "--cache", args.cache]
            if args.profile:
                cmd.append("--profile")
            if args.responses:
                cmd += ["--responses", f"{args.responses}.{'head' if code != ROOT else 'tree'}.json"]
            env = dict(os.environ, PYTHONPATH=str(code), PYTHONHASHSEED="0")
            if not args.callgrind:
                out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, cwd=code).stdout.decode()
                res = json.loads(out.strip().splitlines()[-1])
            else:
                counts, pgs = [], []
                for passes in (1, 2):
                    out_file = Path(args.home) / f"callgrind.{os.getpid()}.{passes}"
                    run = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}", *cmd, "--passes", str(passes)]
                    out = subprocess.run(run, env=env, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=code).stdout.decode()
                    pgs.append(json.loads(out.strip().splitlines()[-1])["pg_ms"])
                    counts.append(int(re.search(r"^(?:summary|totals): (\d+)", out_file.read_text(), re.M).group(1)))
                    out_file.unlink()
                # millions of instructions per report, in the "ms" columns
                res = {"python_ms": (counts[1] - counts[0]) / args.reports / 1e6, "pg_ms": min(pgs), "rounds": [(0.0, p) for p in pgs]}
            results.append((label, time.strftime("%H:%M:%S", time.gmtime()), res))
            stamp = results[-1][1]
            print(f"{stamp} pair {pair + 1} {label}: Python {res['python_ms']:.2f} ms/report, "
                  f"PostgreSQL {res['pg_ms']:.2f} ms/report (rounds: "
                  + ", ".join(f"{a:.2f}+{b:.2f}" for a, b in res["rounds"]) + ")", flush=True)
    if args.compare:
        shutil.rmtree(trees[0][1], ignore_errors=True)
    if args.compare and args.callgrind:
        print("\n(callgrind: Python columns are millions of instructions per report)")
    if args.compare:
        print("\n| pair | HEAD Python | this tree Python | ratio | HEAD PostgreSQL | this tree PostgreSQL | ratio | sum ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for k in range(args.compare):
            a, b = results[2 * k][2], results[2 * k + 1][2]
            print(f"| {k + 1} | {a['python_ms']:.2f} | {b['python_ms']:.2f} | {b['python_ms'] / a['python_ms']:.2f} | "
                  f"{a['pg_ms']:.2f} | {b['pg_ms']:.2f} | {b['pg_ms'] / a['pg_ms']:.2f} | "
                  f"{(b['python_ms'] + b['pg_ms']) / (a['python_ms'] + a['pg_ms']):.2f} |")


if __name__ == "__main__":
    main()
