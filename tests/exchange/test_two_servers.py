"""Two Himaya servers on loopback (two homes, two databases, two key folders), as two
countries' units would run them: A refers three reports with files to B; B verifies,
imports and acknowledges; A sees the acknowledgement; B reports an outcome and A's
case timeline shows it. A flipped byte, a package signed by another key, a replay:
refused, nothing imported (SPEC §3.8, issue 17)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from himaya.demo.generator import generate_reports
from himaya.exchange.package import build_package, parse_key_document

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
HIMAYA = [sys.executable, "-m", "himaya"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    def __init__(self, home: Path, country: str) -> None:
        self.home = home
        self.env = dict(os.environ, HIMAYA_HOME=str(home), HIMAYA_COUNTRY=country, DJANGO_SETTINGS_MODULE="config.settings.production")
        self.env.pop("DATABASE_URL", None)  # each its own embedded database
        self.env.pop("HIMAYA_KEY_DIR", None)
        self.env.pop("HIMAYA_MASTER_KEY", None)
        self.base = ""
        self.token = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*HIMAYA, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if ok:
            assert done.returncode == 0, f"himaya {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done

    def start(self) -> None:
        port = _free_port()
        self.proc = subprocess.Popen([*HIMAYA, "serve", "--port", str(port), "--web-workers", "1", "--task-workers", "1"], env=self.env,
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{self.base}/health", timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("himaya serve did not come up")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(f"{self.base}/api/v1/{path}", data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def referrals(self) -> list[dict[str, Any]]:
        return json.loads(self.run("exchange", "referrals", "--json").stdout)

    def report_count(self) -> int:
        return self.api("reports/")["count"]


def _report_folders(root: Path, seed: int = 17) -> Path:
    """Three synthetic reports with their (benign, shipped) images, in the export layout."""
    pkg = root / "incoming"
    for index, report in enumerate(r for r in generate_reports(40, seed=seed) if r.files and not r.batched):
        if index == 3:
            break
        folder = pkg / str(9000 + index)
        (folder / "files").mkdir(parents=True)
        (folder / "report.xml").write_bytes(report.xml)
        for n, f in enumerate(report.files[:2]):
            fdir = folder / "files" / f"f{n}"
            fdir.mkdir()
            (fdir / f.name).write_bytes(f.data)
            (fdir / "fileDetails.xml").write_bytes(f.details_xml(9000 + index, f"f{n}"))
    return pkg


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site]]:
    a = Site(tmp_path_factory.mktemp("unit-a"), "PS")
    b = Site(tmp_path_factory.mktemp("unit-b"), "JO")
    try:
        for site in (a, b):
            site.run("migrate", "-v0")
            site.run("create_user", "chief", "--role", "supervisor", "--password", "Exchange-pass-2026!")
            site.token = site.run("create_token", "chief").stdout.strip()
            site.run("exchange", "key", "export", "--out", str(site.home / "public-key.json"))
            site.start()
        a.run("exchange", "partner", "add", "Jordan-CCU", "--country", "JO", "--public-key", str(b.home / "public-key.json"))
        b.run("exchange", "partner", "add", "Palestine-JPP", "--country", "PS", "--public-key", str(a.home / "public-key.json"))
        yield a, b
    finally:
        a.stop()
        b.stop()


def _wait(predicate: Any, what: str, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_referral_goes_to_the_partner_and_its_acknowledgement_and_outcome_come_back(sites: tuple[Site, Site], tmp_path: Path) -> None:
    a, b = sites
    out = a.run("import", str(_report_folders(tmp_path)), "--json").stdout
    ids = json.loads(out[out.index("{"):])["report_ids"]
    assert len(ids) == 3
    case = a.api("cases/", {"title": "Referred abroad", "reports": ids[:1]})

    package = tmp_path / "referral.zip"
    sent = a.run("exchange", "package", *map(str, ids), "--to", "Jordan-CCU", "--out", str(package)).stdout
    [referral] = a.referrals()
    assert referral["state"] == "sent" and referral["reports"] == sorted(ids) and referral["package"] in sent

    # B checks, then imports; its reports enter linking and triage with source "partner".
    before = b.report_count()
    verified = b.run("exchange", "verify", str(package)).stdout
    assert verified.startswith("OK: referral package") and "Palestine-JPP" in verified
    assert b.report_count() == before  # verify writes nothing
    b.run("exchange", "import", str(package))
    assert b.report_count() == before + 3
    [received] = b.referrals()
    assert received["direction"] == "received" and received["state"] == "received" and len(received["reports"]) == 3
    for rid in received["reports"]:
        report = _wait(lambda rid=rid: (r := b.api(f"reports/{rid}/"))["priority"] and r, f"triage of report {rid} on B")
        assert report["source"] == "partner" and report["jurisdiction"]["decision"] in {"ours", "foreign", "unknown"}
        assert len(report["files"]) >= 1 and all(len(f["sha256"]) == 64 for f in report["files"])
    sent_hashes = sorted(f["sha256"] for rid in ids for f in a.api(f"reports/{rid}/")["files"])
    received_hashes = sorted(f["sha256"] for rid in received["reports"] for f in b.api(f"reports/{rid}/")["files"])
    assert received_hashes == sent_hashes  # every file arrived, byte for byte

    # The same package again: a replay, refused; nothing more imported.
    replay = b.run("exchange", "import", str(package), ok=False)
    assert replay.returncode == 1 and "replay" in replay.stderr and b.report_count() == before + 3

    # B acknowledges; A imports the receipt and sees "acknowledged".
    receipt = tmp_path / "receipt.zip"
    b.run("exchange", "ack", received["package"], "--out", str(receipt))
    a.run("exchange", "import", str(receipt))
    [referral] = a.referrals()
    assert referral["state"] == "acknowledged" and referral["acknowledged_at"]
    timeline = a.api(f"cases/{case['id']}/")["timeline"]
    assert [e["type"] for e in timeline if e["type"].startswith("partner_")] == ["partner_referral_sent", "partner_referral_acknowledged"]

    # B reports an outcome; A's case timeline shows it.
    outcome = tmp_path / "outcome.zip"
    b.run("exchange", "outcome", received["package"], "--kind", "arrest", "--text", "Suspect arrested in Amman", "--out", str(outcome))
    a.run("exchange", "import", str(outcome))
    [referral] = a.referrals()
    assert referral["state"] == "outcome" and referral["outcomes"] == ["arrest"]
    [event] = [e for e in a.api(f"cases/{case['id']}/")["timeline"] if e["type"] == "partner_outcome"]
    assert "Jordan-CCU" in event["summary"] and "قبض" in event["summary"]  # Arabic first: "reported an outcome: arrest"
    again = a.run("exchange", "import", str(outcome), ok=False)
    assert again.returncode == 1 and "replay" in again.stderr
    assert a.referrals()[0]["outcomes"] == ["arrest"]


def test_a_flipped_byte_or_another_signer_is_refused_and_nothing_is_imported(sites: tuple[Site, Site], tmp_path: Path) -> None:
    a, b = sites
    out = a.run("import", str(_report_folders(tmp_path, seed=18)), "--json").stdout
    ids = json.loads(out[out.index("{"):])["report_ids"]
    package = tmp_path / "second.zip"
    a.run("exchange", "package", *map(str, ids), "--to", "Jordan-CCU", "--out", str(package))
    before, referrals_before = b.report_count(), len(b.referrals())

    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    for command in ("verify", "import"):
        refused = b.run("exchange", command, str(flipped), ok=False)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "package refused, nothing imported" in refused.stderr and "damaged" in refused.stderr

    # Someone who knows both units' public keys signs a package as if from A.
    a_keys = parse_key_document((a.home / "public-key.json").read_bytes())
    b_keys = parse_key_document((b.home / "public-key.json").read_bytes())
    forged = tmp_path / "forged.zip"
    forged.write_bytes(build_package(kind="referral", package_id="7d9f8a53-2a8e-4d53-9c3e-4f4bb1f2a001", created_at="2026-12-03T10:00:00+00:00",
                                     signing=SigningKey.generate(), sender=a_keys, recipient=b_keys,
                                     body={"reports": [], "sent_at": "2026-12-03T10:00:00+00:00"}, parts={}))
    refused = b.run("exchange", "import", str(forged), ok=False)
    assert refused.returncode == 1 and "signature does not verify" in refused.stderr

    # A unit B does not know at all.
    c = Site(tmp_path / "unit-c", "EG")
    c.run("migrate", "-v0")
    c.run("exchange", "partner", "add", "Jordan-CCU", "--country", "JO", "--public-key", str(b.home / "public-key.json"))
    c.run("import", str(_report_folders(tmp_path / "c")))
    stranger = tmp_path / "stranger.zip"
    c.run("exchange", "package", "1", "--to", "Jordan-CCU", "--out", str(stranger))
    refused = b.run("exchange", "import", str(stranger), ok=False)
    assert refused.returncode == 1 and "unknown partner" in refused.stderr

    assert b.report_count() == before and len(b.referrals()) == referrals_before
    # The intact package still goes in afterwards: the refusals left nothing half-done.
    b.run("exchange", "import", str(package))
    assert b.report_count() == before + len(ids)
