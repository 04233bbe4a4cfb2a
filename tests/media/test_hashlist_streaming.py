"""A large hash list imports in bounded memory and short batches while intake keeps answering
(issue 18 item 5: a 6.35 M-entry list took 6.3 GiB and held SQLite's write lock for 7 minutes,
so provider submits failed with 1100).

The live test runs the real `himaya hashlist import` beside a real `himaya serve` and submits
provider reports all the while; the bench (bench/bench_hashlist.py) does the same at 6 M entries.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from himaya.accounts.permissions import OPERATOR
from himaya.media.models import HashEntry, HashList
from himaya.media.services import hashlist_import
from himaya.media.vics import ListFormatError

ROOT = Path(__file__).resolve().parents[2]
# Issue 18's "done when": a 6 M-entry list beside live intake, peak memory under 1 GB. On PostgreSQL
# at that size (COPY of sorted batches: ~1 min of the import's CPU); on SQLite at 1 M, which keeps
# the test near 3 minutes on a 2-core CI runner (SQLite writes the same list ~2x slower, and
# pauses between batches for intake). HIMAYA_HASHLIST_TEST_ENTRIES overrides both.
ENTRIES_POSTGRES = 6_000_000
ENTRIES_SQLITE = 1_000_000
PEAK_RSS_LIMIT_MB = 1024


def md5_lines(count: int, seed: str = "") -> bytes:
    return b"".join(hashlib.md5(f"{seed}{n}".encode()).hexdigest().encode() + b"\n" for n in range(count))


def write_md5_lines(path: Path, count: int) -> None:
    """A generated list file of `count` MD5 lines (6 M: 198 MB in tmp, never in the repository)."""
    with path.open("wb") as out:
        for start in range(0, count, 100_000):
            out.write(b"".join(hashlib.md5(str(n).encode()).hexdigest().encode() + b"\n" for n in range(start, min(count, start + 100_000))))


class _Watching(io.RawIOBase):
    """A list file that, half-way through being read, records what a reader of the list sees then."""

    def __init__(self, data: bytes, at: int, name: str) -> None:
        self._data, self._pos, self._at, self._name, self.seen = data, 0, at, name, None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self.seen is None and self._pos >= self._at:
            hash_list = HashList.objects.filter(name=self._name).first()
            self.seen = (hash_list.version, hash_list.entry_count, HashEntry.objects.filter(hash_list=hash_list).count()) if hash_list else None
        chunk = self._data[self._pos:self._pos + min(len(buffer), 4096)]
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _seen_while_writing(monkeypatch, name: str, after_batches: int) -> list:
    """What a reader of the list sees once `after_batches` batches of the new version are committed."""
    from himaya.media import services

    seen, written, write = [], [], services._write_rows

    def watched(rows):  # type: ignore[no-untyped-def]
        if len(written) == after_batches:
            hash_list = HashList.objects.get(name=name)
            seen.append((hash_list.version, hash_list.entry_count, HashEntry.objects.filter(hash_list=hash_list).count(),
                         HashEntry.all_versions.filter(hash_list=hash_list).count()))
        written.append(len(rows))
        write(rows)

    monkeypatch.setattr(services, "_write_rows", watched)
    monkeypatch.setattr(services, "IMPORT_PAUSE", 0)
    return seen


@pytest.mark.django_db
def test_readers_see_the_old_version_until_the_new_one_is_complete(monkeypatch):
    old = md5_lines(30, seed="old")
    hashlist_import(data=old, name="seized", kind="known", fmt="lines", actor=OPERATOR)
    new = md5_lines(5_000, seed="new")
    seen = _seen_while_writing(monkeypatch, "seized", after_batches=7)
    hash_list = hashlist_import(data=new, name="seized", kind="known", fmt="lines", actor=OPERATOR, batch=500)
    # Seven batches (3,500 entries) committed, the list still showed version 1 with its 30 hashes.
    assert seen == [(1, 30, 30, 30 + 3_500)]
    assert (hash_list.version, hash_list.entry_count) == (2, 5_000)
    assert HashEntry.objects.filter(hash_list=hash_list).count() == 5_000
    assert HashEntry.all_versions.filter(hash_list=hash_list).count() == 5_000  # the old version was purged
    assert hash_list.source_sha256 == hashlib.sha256(new).hexdigest()


@pytest.mark.django_db
def test_a_list_longer_than_a_sort_run_is_merged_from_runs_on_disk_whole_and_matched(monkeypatch):
    """Lists are written in the index's order, sorted in bounded runs; a list of several runs is merged
    from temporary files and arrives whole, each hash once, and a file on it is known."""
    from himaya.media import services

    monkeypatch.setattr(services, "SORT_RUN", 1_000)
    monkeypatch.setattr(services, "IMPORT_PAUSE", 0)
    data = md5_lines(4_500, seed="runs") + b"sha1:" + hashlib.sha1(b"x").hexdigest().encode() + b"\n"
    hash_list = hashlist_import(data=data, name="merged", kind="known", fmt="lines", actor=OPERATOR, batch=700)
    stored = list(HashEntry.objects.filter(hash_list=hash_list).values_list("algorithm", "value"))
    assert hash_list.entry_count == len(stored) == 4_501
    assert sorted(stored) == sorted([("md5", hashlib.md5(f"runs{n}".encode()).hexdigest()) for n in range(4_500)] + [("sha1", hashlib.sha1(b"x").hexdigest())])
    # What matching reads (the live entries by algorithm and value) finds the last hash of the last run.
    assert list(HashEntry.objects.filter(algorithm="md5", value=hashlib.md5(b"runs4499").hexdigest()).values_list("hash_list__name", flat=True)) == ["merged"]


@pytest.mark.django_db
def test_a_list_failing_late_leaves_the_old_version_whole_and_nothing_half_written(tmp_path):
    hashlist_import(data=md5_lines(30, seed="old"), name="seized", kind="known", fmt="lines", actor=OPERATOR)
    bad = md5_lines(5_000, seed="new") + b"not-a-hash\n"
    with pytest.raises(ListFormatError, match="cannot tell which hash"):
        hashlist_import(data=bad, name="seized", kind="known", fmt="lines", actor=OPERATOR, batch=500)
    hash_list = HashList.objects.get(name="seized")
    assert (hash_list.version, hash_list.entry_count, hash_list.import_version) == (1, 30, None)
    assert HashEntry.all_versions.filter(hash_list=hash_list).count() == 30  # the 5,000 written batches are gone
    # A new list failing late is not left behind at all; the command says why, with the line.
    path = tmp_path / "new.txt"
    path.write_bytes(bad)
    with pytest.raises(CommandError, match="line 5001"):
        call_command("hashlist", "import", str(path), "--name", "fresh", "--kind", "known", "--format", "lines")
    assert not HashList.objects.filter(name="fresh").exists()
    assert not HashEntry.all_versions.exclude(hash_list__name="seized").exists()


@pytest.mark.django_db
def test_a_second_import_into_a_list_being_imported_is_refused():
    from himaya.media.services import MediaError

    hashlist_import(data=md5_lines(3), name="seized", kind="known", fmt="lines", actor=OPERATOR)

    class _Nested(_Watching):
        def readinto(self, buffer):  # type: ignore[no-untyped-def]
            if self.seen is None and self._pos >= self._at:
                self.seen = "tried"
                with pytest.raises(MediaError, match="being imported right now"):
                    hashlist_import(data=md5_lines(3, seed="x"), name="seized", kind="known", fmt="lines", actor=OPERATOR)
            return super().readinto(buffer)

    data = md5_lines(2_000, seed="y")
    nested = _Nested(data, at=len(data) // 2, name="seized")
    assert hashlist_import(source=nested, name="seized", kind="known", fmt="lines", actor=OPERATOR, batch=500).entry_count == 2_000
    assert nested.seen == "tried"


# ---------------------------------------------------------------- live: the command beside a running server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None  # the SQLite file in HIMAYA_HOME
    import psycopg

    name = f"himaya_hashlist_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def site(tmp_path):
    env = dict(os.environ, HIMAYA_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="config.settings.production", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    db = _database_url()
    if db:
        env["DATABASE_URL"] = db
    himaya = [sys.executable, "-m", "himaya"]
    subprocess.run([*himaya, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*himaya, "create_reporter", "usr123", "--password", "pswd1234-example"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")  # why a submit failed, if one does
    server = subprocess.Popen([*himaya, "serve", "--port", str(port), "--web-workers", "2", "--task-workers", "1"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        pytest.fail("himaya serve did not come up")
    try:
        yield {"base": base, "env": env, "log": tmp_path / "serve.log"}
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        if db:
            import psycopg

            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {db.rsplit('/', 1)[1]} WITH (FORCE)")


def submit_and_finish(base: str) -> tuple[str, str]:
    """One provider report through /ispws/submit and /ispws/finish; the two response codes."""
    from tests.conftest import DOC_REPORT

    auth = "Basic " + base64.b64encode(b"usr123:pswd1234-example").decode()
    opened = urllib.request.Request(f"{base}/ispws/submit", data=DOC_REPORT, headers={"Authorization": auth, "Content-Type": "text/xml; charset=utf-8"})
    with urllib.request.urlopen(opened, timeout=60) as response:
        answer = etree.fromstring(response.read())
    code, report_id = answer.findtext("responseCode"), answer.findtext("reportId")
    if code != "0":
        return code, ""
    done = urllib.request.Request(f"{base}/ispws/finish", data=urllib.parse.urlencode({"id": report_id}).encode(), headers={"Authorization": auth})
    with urllib.request.urlopen(done, timeout=60) as response:
        return code, etree.fromstring(response.read()).findtext("responseCode")


class Intake(threading.Thread):
    """Submits reports back to back until stopped; every answer is kept."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.answers, self.errors, self.stop = base, [], [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.answers.append(submit_and_finish(self.base))
            except Exception as exc:  # a timeout or a 5xx is a failed submit too
                self.errors.append(repr(exc))


def peak_rss_mb(proc: subprocess.Popen) -> float:
    """The child's high-water resident memory (VmHWM), sampled until it exits. Not `wait4`'s
    ru_maxrss: Linux carries the forking parent's peak into it (a pytest worker's, here)."""
    peak = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        peak = max([peak, *(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))])
        time.sleep(0.05)
    return peak / 1024


def import_beside_intake(site: dict, path: Path, name: str) -> dict:
    """Run `himaya hashlist import` while intake runs; its peak RSS, time and intake's answers."""
    intake = Intake(site["base"])
    intake.start()
    time.sleep(1)  # intake is under way before the import starts
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "himaya", "hashlist", "import", str(path), "--name", name, "--kind", "known", "--format", "lines"],
                            env=site["env"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_mb = peak_rss_mb(proc)
    seconds = time.monotonic() - started
    out, err = (b.decode() for b in proc.communicate())
    intake.stop.set()
    intake.join(120)
    return dict(returncode=proc.returncode, out=out, err=err, seconds=seconds, peak_mb=peak_mb,
                answers=intake.answers, errors=intake.errors)


def list_state(site: dict, name: str) -> str:
    code = (f"from himaya.media.models import HashEntry, HashList\n"
            f"h = HashList.objects.get(name={name!r})\n"
            f"print(h.version, h.entry_count, HashEntry.objects.filter(hash_list=h).count(), HashEntry.all_versions.filter(hash_list=h).count())")
    return subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", code], env=site["env"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]


def match_state(site: dict, md5: str) -> str:
    code = (f"from himaya.media.models import HashEntry\n"
            f"print(','.join(HashEntry.objects.filter(algorithm='md5', value={md5!r}).values_list('hash_list__name', flat=True)))")
    return subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", code], env=site["env"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_a_large_list_imports_in_bounded_memory_while_every_submit_succeeds(site, tmp_path):
    default = ENTRIES_POSTGRES if "DATABASE_URL" in site["env"] else ENTRIES_SQLITE
    entries = int(os.environ.get("HIMAYA_HASHLIST_TEST_ENTRIES", default))
    path = tmp_path / "known.txt"
    write_md5_lines(path, entries)
    run = import_beside_intake(site, path, "national-known")
    assert run["returncode"] == 0, run["err"]
    print(f"\n{entries} entries in {run['seconds']:.1f} s, peak RSS {run['peak_mb']:.0f} MB, {len(run['answers'])} reports submitted meanwhile")
    assert f"{entries} hashes" in run["out"]
    # Intake answered every report while the list was written: no 1100, no timeout.
    assert run["errors"] == [], [line for line in site["log"].read_text(errors="replace").splitlines() if " 200 " not in line][-30:]
    assert len(run["answers"]) >= 3, "intake did not run beside the import"
    assert all(answer == ("0", "0") for answer in run["answers"]), run["answers"]
    # The list is whole, and only its one version is stored.
    assert list_state(site, "national-known") == f"1 {entries} {entries} {entries}"
    # The import's memory does not hold the list (the old path used ~1 KB an entry: 6 GB at 6 M).
    assert run["peak_mb"] < PEAK_RSS_LIMIT_MB, f"peak RSS {run['peak_mb']:.0f} MB"
    # The list is matched: what matching reads finds an entry from the middle of the file.
    assert match_state(site, hashlib.md5(str(entries // 2).encode()).hexdigest()) == "national-known"


def test_a_vics_list_is_read_one_media_item_at_a_time(tmp_path):
    """A VICS file of 100,000 Media items in one case (as `export_vics` writes it) parses in a small,
    fixed amount of memory: the old parser held the whole document and every entry at once."""
    import tracemalloc

    from himaya.media.vics import iter_vics

    path = tmp_path / "big.json"
    with path.open("wb") as out:
        out.write(b'{"@odata.context": "x/$metadata#Cases", "value": [{"CaseID": "c", "Media": [')
        out.write(b",".join(b'{"MediaID": %d, "Category": 1, "MD5": "%s", "IsDistributed": "true"}' % (n, hashlib.md5(str(n).encode()).hexdigest().encode())
                            for n in range(100_000)))
        out.write(b"]}]}")
    info: dict[str, str] = {}
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for entry in iter_vics(stream, info=info) if entry.algorithm == "md5" and entry.category == "1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, info["version"]) == (100_000, "2.0")
    assert peak < 2_000_000, f"peak {peak / 1e6:.1f} MB for a {path.stat().st_size / 1e6:.0f} MB file"
