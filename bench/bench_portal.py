"""The public portal under a flood (SPEC §5): 1,000 submissions without a solved
proof of work from one address while 20 staff users page the triage queue;
their p95 against the same users without the flood, in the same run; every
solved submission sent during the flood kept.

    .venv/bin/python bench/bench_portal.py                       # embedded default: SQLite in a temporary HIMAYA_HOME
    .venv/bin/python bench/bench_portal.py --database-url postgres://postgres@127.0.0.1:5432/himaya_bench_portal
    .venv/bin/python bench/bench_portal.py --flood 1000 --users 20 --duration 20 --solved 5

Per run: a temporary HIMAYA_HOME, `himaya migrate`, --users intake analysts of
the intake unit with a TOTP device and a verified session each (written to the
database, as after password and code), `himaya serve` on a free loopback port
with one task worker, --seed solved portal reports so the queue has rows; then

--rounds alternating windows of --duration / --rounds seconds each (so that the
other load of a shared machine weighs on both phases alike):

1. baseline: the users load /triage/ (--think between pages) while a reporter
   posts its share of --solved solved submissions one after the other;
2. flood: the same users the same way for the window (or as long as the round's
   flood lasts, if longer), while
   --flood-connections connections (from a separate process, so that the
   flooding client does not compete with the measuring threads for this
   interpreter) post --flood submissions whose proof of work is missing, forged
   or wrong (a real challenge, a counter that does not solve it), paced at
   --flood-rate (by default spread over --duration, so that the flood covers a
   window as long as the baseline's and the solved submissions are as dense in
   both phases; --flood-rate 0 sends as fast as the server answers), and the
   reporter posts its share of --solved solved submissions again.

Prints staff p50/p95/p99 for both phases and their ratio (target: p95 within
20 %), the flood's rate and answers, and whether every solved submission got a
receipt and became a report. The solved submissions share the loopback address
with the flood, so 2 x --solved stays under the portal's per-address limit (10 an hour).
The server runs config.wsgi, so the portal's WSGI gate (himaya/portal/gate.py)
answers the flood before Django.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import multiprocessing
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_intake import HIMAYA, ROOT, Server  # noqa: E402

CHALLENGE = re.compile(rb'data-challenge="([^"]+)"')
RECEIPT = re.compile(rb"data-receipt>([0-9 ]+)<")
FORM = {
    "what": "sextortion", "who": "child", "child_age": "14", "platform": "ExampleChat", "account": "bench_account",
    "story": "Someone says he will send my pictures to my class if I do not send more. سأنشر صورك", "contact_choice": "anonymous",
}


def solve(challenge: str) -> str:
    difficulty = int(challenge.split(":")[0].split(".")[1])
    n = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{n}".encode()).digest()
        bits = 0
        for byte in digest:
            if byte == 0:
                bits += 8
                continue
            bits += 8 - byte.bit_length()
            break
        if bits >= difficulty:
            return str(n)
        n += 1


def unsolving(challenge: str) -> str:
    difficulty = int(challenge.split(":")[0].split(".")[1])
    for n in range(1_000_000):
        if hashlib.sha256(f"{challenge}:{n}".encode()).digest()[0] >> max(0, 8 - difficulty) != 0:
            return str(n)
    raise RuntimeError("no unsolving counter")


def connect(port: int, source: str = "") -> http.client.HTTPConnection:
    """`source`: the client's own loopback address (the flood's is not the staff's nor the child's)."""
    return http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0) if source else None)


FLOOD_SOURCE = "127.0.0.2"


def get(port: int, path: str, cookie: str = "") -> tuple[int, bytes]:
    c = connect(port)
    c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def post_form(port: int, path: str, fields: dict[str, str]) -> tuple[int, bytes]:
    c = connect(port)
    c.request("POST", path, body=urlencode(fields).encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def submit_solved(port: int) -> str | None:
    status, page = get(port, "/portal/report/")
    challenge = CHALLENGE.search(page).group(1).decode()
    status, page = post_form(port, f"/portal/report/?c={quote(challenge)}&n={solve(challenge)}", FORM)
    found = RECEIPT.search(page) if status == 200 else None
    return found.group(1).decode().replace(" ", "") if found else None


def staff_sessions(env: dict[str, str], users: int) -> list[str]:
    """Intake analysts with a verified second factor, as session cookies."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from himaya.accounts.models import AuthenticatorDevice
    from himaya.accounts.services import unit_get_or_create, user_create

    unit = unit_get_or_create()
    cookies = []
    for i in range(users):
        user = user_create(username=f"bench-analyst-{i}", password="bench-portal-pass-123", roles=["intake_analyst"], unit_code=unit.code)
        device = AuthenticatorDevice.objects.create(user=user, name="bench", confirmed=True)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.create()
        cookies.append(f"sessionid={session.session_key}")
    return cookies


def staff_load(port: int, cookies: list[str], *, seconds: float, think: float, done: threading.Event | None = None) -> tuple[list[float], int]:
    """Every user loads the queue, waits `think`, again: for `seconds`, or until `done`."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user(cookie: str) -> None:
        c = connect(port)
        while time.monotonic() < stop and not (done is not None and done.is_set()):
            started = time.perf_counter()
            try:
                c.request("GET", "/triage/", headers={"Cookie": cookie})
                r = c.getresponse()
                body = r.read()
                ok = r.status == 200 and b'data-report="' in body
                if not ok and not errors[0]:
                    print("first staff error:", r.status, r.getheader("Location"), body[:200], file=sys.stderr)
            except (OSError, http.client.HTTPException):
                c.close()
                c = connect(port)
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                times.append(elapsed) if ok else None
                errors[0] += 0 if ok else 1
            time.sleep(think)
        c.close()

    threads = [threading.Thread(target=user, args=(cookie,)) for cookie in cookies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0]


def flood(port: int, total: int, connections: int, challenge: str, answers: dict[int, int], rate: float = 0.0) -> float:
    """Submissions without a solved proof of work: none, forged, or a wrong counter;
    request i is not sent before i / rate seconds after the start (0: as fast as answered)."""
    wrong = unsolving(challenge)
    body, signature = challenge.split(":")
    nonce, _, issued = body.split(".")
    forged = f"{nonce}.0.{issued}:{signature}"
    kinds = ["", f"?c={quote(challenge)}&n={wrong}", f"?c={quote(forged)}&n=0"]
    payload = urlencode(FORM).encode()
    counter = iter(range(total))
    lock = threading.Lock()

    def worker() -> None:
        c = connect(port, FLOOD_SOURCE)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            if rate:
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
            try:
                c.request("POST", f"/portal/report/{kinds[i % 3]}", body=payload, headers={"Content-Type": "application/x-www-form-urlencoded"})
                r = c.getresponse()
                r.read()
                status = r.status
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    c = connect(port, FLOOD_SOURCE)
            except (OSError, http.client.HTTPException):
                c.close()
                c = connect(port, FLOOD_SOURCE)
                status = 0
            with lock:
                answers[status] = answers.get(status, 0) + 1
        c.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


def flood_process(port: int, connections: int, challenge: str, commands: Any, out: Any) -> None:
    """The flood from its own process, started once and told when to send: its client
    threads never compete for the measuring process's interpreter lock (a real flood
    comes from elsewhere). Each command (n, rate) sends n submissions; None ends it."""
    out.put("ready")
    while (command := commands.get()) is not None:
        answers: dict[int, int] = {}
        seconds = flood(port, command[0], connections, challenge, answers, command[1])
        out.put((seconds, answers))


def refusal_cost(challenge: str, n: int = 300) -> tuple[float, float]:
    """CPU per unsolved submission refused in this process (no network): through the
    gate, and through Django alone (what the flood cost before the gate). Microseconds."""
    import io

    from django.core.handlers.wsgi import WSGIHandler

    from himaya.portal.gate import PortalGate

    body = urlencode(FORM).encode()
    query = f"c={quote(challenge)}&n={unsolving(challenge)}"

    def environ() -> dict[str, Any]:
        return {"REQUEST_METHOD": "POST", "PATH_INFO": "/portal/report/", "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/x-www-form-urlencoded", "REMOTE_ADDR": "127.0.0.1"}

    def run(app: Any) -> float:
        b"".join(app(environ(), lambda *a: None))  # warm: the gate learns its page, Django loads its URLs
        started = time.process_time()
        for _ in range(n):
            result = app(environ(), lambda *a: None)
            b"".join(result)
            getattr(result, "close", lambda: None)()
        return (time.process_time() - started) / n * 1e6

    django_app = WSGIHandler()
    return run(PortalGate(django_app)), run(django_app)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--flood-connections", type=int, default=8)
    parser.add_argument("--flood-rate", type=float, default=-1.0,
                        help="unsolved submissions a second (default: --flood spread over --duration, so that the flood covers "
                             "a window as long as the baseline's and the solved submissions are as dense in both; 0: as fast as answered)")
    parser.add_argument("--solved", type=int, default=5, help="solved submissions in each phase (both share the address's limit of 10 an hour)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each phase, over all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="alternating windows without and with the flood")
    parser.add_argument("--think", type=float, default=0.2)
    parser.add_argument("--pow-bits", type=int, default=14, help="the portal's work (17 by default in production; less keeps the bench's own solving short)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="himaya-bench-portal-"))
    env = {**os.environ, "HIMAYA_HOME": str(home), "HIMAYA_PORTAL_POW_BITS": str(args.pow_bits), "DJANGO_SETTINGS_MODULE": "config.settings.production"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    server = None
    try:
        subprocess.run([HIMAYA, "migrate", "-v0"], env=env, check=True, cwd=home)
        cookies = staff_sessions(env, args.users)
        server = Server(env=env, home=home, web_workers=args.web_workers, threads=args.threads, task_workers=1)
        port = server.port
        from himaya.portal.document import Answers
        from himaya.portal.services import portal_report_submit
        from himaya.reports.models import Report

        # Seed reports through the service (not the form: the form's per-address
        # limit is kept for the solved submissions measured below).
        for _ in range(args.seed):
            portal_report_submit(answers=Answers(what="sextortion", who="child", story=FORM["story"], platform="ExampleChat",
                                                 account="bench_account"), contact=None, uploads=[])

        deadline = time.monotonic() + 120
        while get(port, "/triage/", cookies[0])[1].count(b'data-report="') < args.seed and time.monotonic() < deadline:
            time.sleep(0.5)  # the task worker triages the seed reports

        # Windows with and without the flood alternate (--rounds of each), so that the
        # other load of a shared machine weighs on both phases alike. The same
        # legitimate traffic in both: the solved submissions are spread over the rounds.
        rate = args.flood_rate if args.flood_rate >= 0 else args.flood / args.duration
        window = args.duration / args.rounds
        challenge = CHALLENGE.search(get(port, "/portal/report/")[1]).group(1).decode()
        spawn = multiprocessing.get_context("spawn")
        commands: Any = spawn.Queue()
        results: Any = spawn.Queue()
        flooder = spawn.Process(target=flood_process, args=(port, args.flood_connections, challenge, commands, results))
        flooder.start()
        assert results.get(timeout=60) == "ready"
        base_times: list[float] = []
        flood_times: list[float] = []
        base_errors = flood_errors = 0
        base_receipts: list[str | None] = []
        receipts: list[str | None] = []
        answers: dict[int, int] = {}
        flood_seconds = 0.0
        before = Report.objects.count()

        def reporters(into: list[str | None], n: int) -> None:
            for _ in range(n):
                into.append(submit_solved(port))

        for r in range(args.rounds):
            share = args.solved // args.rounds + (1 if r < args.solved % args.rounds else 0)
            reporter = threading.Thread(target=reporters, args=(base_receipts, share))
            reporter.start()
            times, errors = staff_load(port, cookies, seconds=window, think=args.think)
            reporter.join()
            base_times += times
            base_errors += errors

            n = args.flood // args.rounds + (1 if r < args.flood % args.rounds else 0)
            done = threading.Event()
            box: dict[str, Any] = {}

            def flooding() -> None:
                commands.put((n, rate))
                box["seconds"], box["answers"] = results.get()
                done.set()

            flood_thread = threading.Thread(target=flooding)
            reporter = threading.Thread(target=reporters, args=(receipts, share))
            flood_thread.start()
            reporter.start()
            # Measured for the window, or for as long as this round's flood lasts if longer.
            started = time.monotonic()
            times, errors = staff_load(port, cookies, seconds=window, think=args.think)
            if not done.is_set():
                more, more_errors = staff_load(port, cookies, seconds=window * 4, think=args.think, done=done)
                times, errors = times + more, errors + more_errors
            flood_thread.join()
            reporter.join()
            flood_times += times
            flood_errors += errors
            flood_seconds += box.get("seconds", time.monotonic() - started)
            for status, count in box.get("answers", {}).items():
                answers[status] = answers.get(status, 0) + count
        commands.put(None)
        flooder.join(timeout=30)
        kept = Report.objects.count() - before

        print(f"staff /triage/ without the flood: n={len(base_times)} p50={pct(base_times, 50):.1f} ms p95={pct(base_times, 95):.1f} ms "
              f"p99={pct(base_times, 99):.1f} ms errors={base_errors}")
        print(f"staff /triage/ during the flood:  n={len(flood_times)} p50={pct(flood_times, 50):.1f} ms p95={pct(flood_times, 95):.1f} ms "
              f"p99={pct(flood_times, 99):.1f} ms errors={flood_errors}")
        print(f"p95 ratio flood/baseline: {pct(flood_times, 95) / pct(base_times, 95):.2f} (target ≤ 1.20)")
        print(f"flood (paced at {rate:.0f}/s; 0 = unpaced) in {args.rounds} rounds: {args.flood} unsolved submissions in {flood_seconds:.1f} s "
              f"of sending ({args.flood / flood_seconds:.0f}/s); answers {dict(sorted(answers.items()))}")
        print(f"solved submissions without the flood: {sum(1 for r in base_receipts if r)} of {args.solved} got a receipt")
        print(f"solved submissions during the flood: {sum(1 for r in receipts if r)} of {args.solved} got a receipt; "
              f"{kept} new report(s) stored in both phases (expected {2 * args.solved})")
        gate_us, django_us = refusal_cost(challenge)
        print(f"CPU per refused submission in-process: {gate_us:.0f} µs at the gate, {django_us:.0f} µs through Django alone "
              f"({django_us / gate_us:.0f}x)")
        if base_times and flood_times:
            print(f"mean staff page {statistics.mean(base_times) * 1000:.1f} ms → {statistics.mean(flood_times) * 1000:.1f} ms")
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
