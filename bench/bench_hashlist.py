"""Hash-list import at scale beside live intake (issue 18 item 5: a 6.35 M-MD5 list took 410 s and
6.3 GiB in one process and held SQLite's write lock for 7 minutes, so provider submits failed).

    .venv/bin/python bench/bench_hashlist.py                          # 6,000,000 entries, baseline 600,000, SQLite
    .venv/bin/python bench/bench_hashlist.py --entries 2000000 --baseline 600000
    .venv/bin/python bench/bench_hashlist.py --database-url postgres://postgres@127.0.0.1:5432/himaya_bench_hashlist

Per size, on a fresh site (new HIMAYA_HOME; the PostgreSQL database is dropped and created):
`himaya migrate`, `himaya create_reporter`, `himaya serve` (2 web workers, 1 task worker), then
`himaya hashlist import FILE --format lines` of N generated MD5 lines (a file in /tmp) while one
client submits provider reports (submit + finish) back to back. Measured: the import's wall
time and peak RSS (its VmHWM, sampled), and intake's answers during it (every one
must be responseCode 0) with their slowest latency. The baseline is the same import at the
smaller size in the same run: the peak memory ratio should be ~1 (memory does not grow with the
list), the time ratio ~ the size ratio. Not a test: it never fails a build.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_md5_lines(path: Path, count: int) -> None:
    with path.open("wb") as out:
        for start in range(0, count, 100_000):
            out.write(b"".join(hashlib.md5(str(n).encode()).hexdigest().encode() + b"\n" for n in range(start, min(count, start + 100_000))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report_xml() -> bytes:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from tests.conftest import DOC_REPORT  # the documentation's minimal valid report

    return DOC_REPORT


class Intake(threading.Thread):
    def __init__(self, base: str, report: bytes) -> None:
        super().__init__(daemon=True)
        self.base, self.report, self.stop = base, report, threading.Event()
        self.ok, self.failed, self.slowest, self.failures = 0, 0, 0.0, []
        self.auth = "Basic " + base64.b64encode(b"usr123:pswd1234-example").decode()

    def once(self) -> bool:
        from lxml import etree

        request = urllib.request.Request(f"{self.base}/ispws/submit", data=self.report, headers={"Authorization": self.auth, "Content-Type": "text/xml; charset=utf-8"})
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = etree.fromstring(response.read())
        if answer.findtext("responseCode") != "0":
            self.failures.append(answer.findtext("responseCode"))
            return False
        done = urllib.request.Request(f"{self.base}/ispws/finish", data=urllib.parse.urlencode({"id": answer.findtext("reportId")}).encode(),
                                      headers={"Authorization": self.auth})
        with urllib.request.urlopen(done, timeout=120) as response:
            code = etree.fromstring(response.read()).findtext("responseCode")
        if code != "0":
            self.failures.append(code)
        return code == "0"

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                good = self.once()
            except Exception as exc:  # noqa: BLE001 - a timeout or 5xx is a failed submit
                self.failures.append(repr(exc)[:100])
                good = False
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.ok += good
            self.failed += not good


def measure(entries: int, list_file: Path, database_url: str | None, report: bytes) -> dict:
    home = Path(tempfile.mkdtemp(prefix="bench-hashlist-"))
    env = dict(os.environ, HIMAYA_HOME=str(home), DJANGO_SETTINGS_MODULE="config.settings.production", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    if database_url:
        import psycopg

        admin, name = database_url.rsplit("/", 1)
        with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = database_url
    himaya = [sys.executable, "-m", "himaya"]
    subprocess.run([*himaya, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*himaya, "create_reporter", "usr123", "--password", "pswd1234-example"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([*himaya, "serve", "--port", str(port), "--web-workers", "2", "--task-workers", "1"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        intake = Intake(base, report)
        intake.start()
        time.sleep(2)
        started = time.monotonic()
        proc = subprocess.Popen([*himaya, "hashlist", "import", str(list_file), "--name", "bench-known", "--kind", "known", "--format", "lines"],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = 0  # VmHWM sampled until exit (wait4's ru_maxrss would carry this parent's peak in)
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                break
            peak = max([peak, *(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))])
            time.sleep(0.05)
        seconds = time.monotonic() - started
        intake.stop.set()
        intake.join(180)
        out, err = (b.decode().strip() for b in proc.communicate())
        return dict(entries=entries, code=proc.returncode, out=out or err[-300:], seconds=seconds,
                    peak_mb=peak / 1024, ok=intake.ok, failed=intake.failed, slowest=intake.slowest, failures=intake.failures[:5])
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=6_000_000)
    parser.add_argument("--baseline", type=int, default=600_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (its database is dropped and created); default SQLite in HIMAYA_HOME")
    args = parser.parse_args()
    report = report_xml()
    results = []
    for entries in (args.baseline, args.entries):
        list_file = Path(tempfile.gettempdir()) / f"bench-hashlist-{entries}.txt"
        if not list_file.exists() or list_file.stat().st_size != entries * 33:
            write_md5_lines(list_file, entries)
        result = measure(entries, list_file, args.database_url, report)
        results.append(result)
        print(f"{entries:>10,} MD5s ({list_file.stat().st_size / 1e6:.0f} MB): exit {result['code']}, {result['seconds']:.1f} s "
              f"({entries / result['seconds']:,.0f} entries/s), peak RSS {result['peak_mb']:.0f} MB; intake meanwhile: "
              f"{result['ok']} reports ok, {result['failed']} failed, slowest submit+finish {result['slowest']:.2f} s  [{result['out']}]"
              + (f" failures: {result['failures']}" if result["failures"] else ""), flush=True)
    base, big = results
    print(f"ratio {big['entries'] / base['entries']:.0f}x entries: time x{big['seconds'] / base['seconds']:.1f}, "
          f"peak memory x{big['peak_mb'] / base['peak_mb']:.2f}; intake success {sum(r['ok'] for r in results)}/"
          f"{sum(r['ok'] + r['failed'] for r in results)}")


if __name__ == "__main__":
    main()
