"""Issue 17, "done when": two Himaya servers (two homes, two databases) on
loopback match 10 000 identifiers each, 100 of them shared, with `himaya exchange
match` / `match-serve` through this test's own TCP proxy: exactly the shared
ones are found on both sides, both sides audit it, and the captured traffic
holds none of the other identifiers in any form a dictionary attack could
reverse (plaintext, MD5/SHA-1/SHA-256/SHA-512 of the normalised value or of the
text as given, hex or raw)."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SEED = """
import json, os
from django.utils import timezone
from himaya.accounts.services import unit_get_or_create
from himaya.intake.services import parse_document, report_create_from_tree
from himaya.reports.models import ReportSource, ReportStatus
from tests.linking.factory import Person, report_xml
spec = json.loads(open(os.environ["PSI_SEED"]).read())
unit = unit_get_or_create()
emails, phones = spec["emails"], spec["phones"]
for start in range(0, max(len(emails), len(phones)), 50):
    person = Person(esp_id=spec["tag"] + "-" + str(start), emails=emails[start:start + 50],
                    phones=[(p, "") for p in phones[start:start + 50]])
    xml = report_xml(suspect=person)
    report_create_from_tree(tree=parse_document(xml, expect="report"), raw=xml, unit=unit, source=ReportSource.IMPORT,
                            reporter=None, now=timezone.now(), status=ReportStatus.FINISHED)
"""

RESULT = """
from himaya.audit.models import AuditEvent
from himaya.exchange.models import MatchSession, PartnerMatch
import json
print(json.dumps({"sessions": MatchSession.objects.count(), "matches": sorted(PartnerMatch.objects.values_list("key", flat=True)),
                  "audited": [e.data["matched"] for e in AuditEvent.objects.filter(action="exchange.match_completed")]}))
"""


def _himaya(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, "-m", "himaya", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # each server its own SQLite database in its own home
    env.update(HIMAYA_HOME=str(home), DJANGO_SETTINGS_MODULE="config.settings.production", PYTHONPATH=str(ROOT), HIMAYA_COUNTRY="PS")
    return env


class Capture:
    """A TCP proxy that records every byte in both directions."""

    def __init__(self, target_port: int) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.target = target_port
        self.up, self.down = bytearray(), bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.server.settimeout(120)
        client, _ = self.server.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target))
        back = threading.Thread(target=self._pipe, args=(upstream, client, self.down))
        back.start()
        self._pipe(client, upstream, self.up)
        back.join()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, into: bytearray) -> None:
        try:
            while data := src.recv(1 << 16):
                into += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _identifiers(tag: str, country_prefix: str) -> tuple[list[str], list[str]]:
    return ([f"{tag}-only{i}@example.com" for i in range(4950)], [f"{country_prefix}{i:07d}" for i in range(4950)])


SHARED_EMAILS = [f"shared{i}@example.com" for i in range(50)]
SHARED_PHONES = [f"+97059{i:07d}" for i in range(50)]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("psi")
    a_home, b_home = base / "a", base / "b"
    a, b = _env(a_home), _env(b_home)
    _himaya(a, "migrate", "-v0")
    b_home.mkdir()
    shutil.copy(a_home / "himaya.sqlite3", b_home / "himaya.sqlite3")  # the same empty schema: a second database, quicker
    specs = {"a": (a, *_identifiers("a", "+97056")), "b": (b, *_identifiers("b", "+96279"))}
    for tag, (env, emails, phones) in specs.items():
        spec = base / f"{tag}.json"
        spec.write_text(json.dumps({"tag": tag, "emails": emails + SHARED_EMAILS, "phones": phones + SHARED_PHONES}))
        _himaya({**env, "PSI_SEED": str(spec)}, "shell", "-c", SEED)
        _himaya(env, "linking", "rebuild")
        _himaya(env, "exchange", "key", "export", "--out", str(base / f"{tag}-keys.json"))
    _himaya(a, "exchange", "partner", "add", "unit-b", "--country", "JO", "--public-key", str(base / "b-keys.json"))
    _himaya(b, "exchange", "partner", "add", "unit-a", "--country", "PS", "--public-key", str(base / "a-keys.json"))
    return {"a": a, "b": b, "base": base, "ids": specs}


def _serve(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "himaya", "exchange", "match-serve", "--partner", "unit-a", "--port", "0",
                             "--host", "127.0.0.1", "--wait", "120", *extra], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("listening on 127.0.0.1:"), line + (proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
    return proc, int(line.rsplit(":", 1)[1].split()[0])


def _matched_lines(out: str) -> set[str]:
    return {line.split("\t", 1)[1] for line in out.splitlines() if "\t" in line}


def test_two_servers_find_exactly_the_shared_identifiers_and_the_wire_reveals_nothing_else(servers) -> None:  # type: ignore[no-untyped-def]
    proc, port = _serve(servers["b"])
    proxy = Capture(port)
    try:
        a_out = _himaya(servers["a"], "exchange", "match", "--partner", "unit-b", "--host", "127.0.0.1", "--port", str(proxy.port))
        b_out, b_err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, b_err
    shared = set(SHARED_EMAILS) | set(SHARED_PHONES)
    assert _matched_lines(a_out) == shared
    assert _matched_lines(b_out) == shared
    assert "100 of our 10100 identifiers are also known to the partner (it offered 10100, found 100)" in a_out
    for side in ("a", "b"):
        result = json.loads(_himaya(servers[side], "shell", "-c", RESULT).strip().splitlines()[-1])
        assert result["sessions"] >= 1 and result["audited"] == [100] * result["sessions"]
        assert set(result["matches"]) == {f"email:{e}" for e in SHARED_EMAILS} | {f"phone:{p}" for p in SHARED_PHONES}

    proxy.thread.join(timeout=30)
    wire = bytes(proxy.up) + b"\x00" + bytes(proxy.down)
    assert len(proxy.up) > 10_000 * 32 and len(proxy.down) > 10_000 * 32  # the sets did cross the wire
    assert b"example.com" not in wire and b"+970" not in wire and b"+962" not in wire
    windows = {n: {wire[i:i + n] for i in range(len(wire) - n + 1)} for n in (16, 20, 32, 40, 64)}
    hex_windows = {n: {wire[i:i + n].lower() for i in range(len(wire) - n + 1)} for n in (32, 40, 64, 128)}
    not_shared = []
    for _tag, (_env_, emails, phones) in servers["ids"].items():
        not_shared += [(e, f"email:{e}") for e in emails] + [(p, f"phone:{p}") for p in phones]
    for value, key in not_shared:
        for text in (value, key, value.removeprefix("+")):
            for algorithm in ("md5", "sha1", "sha256"):
                digest = hashlib.new(algorithm, text.encode()).digest()
                assert digest not in windows[len(digest)]
                assert digest.hex().encode() not in hex_windows[len(digest) * 2]
            assert hashlib.sha512(text.encode()).digest()[:32] not in windows[32]
            assert hashlib.sha512(text.encode()).hexdigest().encode() not in hex_windows[128]
    for value, _key in random.Random(17).sample(not_shared, 300):  # plaintext, as given (the full scan is above: no domain, no prefix)
        assert value.encode() not in wire


def test_a_caller_with_another_key_is_refused_and_both_sides_say_so(servers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A third home whose key B does not know calls B; B refuses it and goes on
    waiting; A (the real partner) then matches."""
    stranger_home = tmp_path / "stranger"
    stranger_home.mkdir()
    shutil.copy(Path(servers["a"]["HIMAYA_HOME"]) / "himaya.sqlite3", stranger_home / "himaya.sqlite3")
    stranger = _env(stranger_home)  # the same data and partner register as A, another key folder
    proc, port = _serve(servers["b"])
    try:
        refused = subprocess.run([sys.executable, "-m", "himaya", "exchange", "match", "--partner", "unit-b", "--host", "127.0.0.1",
                                  "--port", str(port)], env=stranger, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1
        assert "matching with unit-b failed" in refused.stderr and "unknown key" in refused.stderr
        assert "Traceback" not in refused.stderr
        _himaya(servers["a"], "exchange", "match", "--partner", "unit-b", "--host", "127.0.0.1", "--port", str(port))
        b_out, b_err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "refused 127.0.0.1:" in b_err and "not the partner's registered signing key" in b_err
    assert "matched with unit-a: 100 of our" in b_out


def test_unknown_partner_and_nobody_listening_are_clear_errors(servers) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run([sys.executable, "-m", "himaya", "exchange", "match", "--partner", "nobody", "--host", "127.0.0.1",
                           "--port", "9"], env=servers["a"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "no active partner named nobody" in done.stderr and "Traceback" not in done.stderr
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()
    done = subprocess.run([sys.executable, "-m", "himaya", "exchange", "match", "--partner", "unit-b", "--host", "127.0.0.1",
                           "--port", str(free)], env=servers["a"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and f"cannot connect to 127.0.0.1:{free}" in done.stderr and "Traceback" not in done.stderr
