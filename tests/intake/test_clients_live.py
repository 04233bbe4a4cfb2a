"""Clients written for NCMEC's API run their whole flow against a real `himaya serve`:
the documentation's curl examples, and an independent client from PyPI."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from lxml import etree

from himaya.demo.generator import IMAGES_DIR

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
NCMEC_CLIENT = "ncmec-cybertip==0.1.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HIMAYA_HOME=str(home), DJANGO_SETTINGS_MODULE="config.settings.production")
    env.pop("DATABASE_URL", None)  # the embedded default, as `make run` uses
    himaya = [sys.executable, "-m", "himaya"]
    subprocess.run([*himaya, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*himaya, "create_reporter", "usr123", "--password", "pswd1234-example"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([*himaya, "serve", "--port", str(port), "--web-workers", "2", "--task-workers", "1"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("himaya serve did not come up")
    yield {"base": base, "env": env}
    proc.terminate()
    proc.wait(30)


def _curl(*args: str) -> etree._Element:
    out = subprocess.run(["curl", "-sS", *args], capture_output=True, check=True).stdout
    return etree.fromstring(out)


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_the_documentation_curl_examples_work_unchanged(server, tmp_path):
    base = server["base"] + "/ispws"
    report = tmp_path / "report.xml"
    from tests.conftest import DOC_REPORT, file_details_doc

    report.write_bytes(DOC_REPORT)
    image = IMAGES_DIR / "small.jpg"  # ThreatExchange's, as the package ships it
    # 6.1 Open the report
    opened = _curl("--user", "usr123:pswd1234-example", "--header", "Content-Type: text/xml; charset=utf-8", "--data", f"@{report}", f"{base}/submit")
    assert opened.findtext("responseCode") == "0"
    rid = opened.findtext("reportId")
    # 6.2 Upload a file
    uploaded = _curl("--user", "usr123:pswd1234-example", "--form", f"id={rid}", "--form", f"file=@{image}", f"{base}/upload")
    assert uploaded.findtext("hash") == hashlib.md5(image.read_bytes()).hexdigest()
    fid = uploaded.findtext("fileId")
    # 6.3 Submit file details
    details = tmp_path / "file-details.xml"
    details.write_bytes(file_details_doc(int(rid), fid))
    assert _curl("--user", "usr123:pswd1234-example", "--header", "Content-Type: text/xml; charset=utf-8", "--data", f"@{details}", f"{base}/fileinfo").findtext("responseCode") == "0"
    # 6.4 Finish the report
    done = _curl("--user", "usr123:pswd1234-example", "--form", f"id={rid}", f"{base}/finish")
    assert (done.tag, done.findtext("responseCode"), done.findtext("reportId"), done.findtext("files/fileId")) == ("reportDoneResponse", "0", rid, fid)
    # 6.5 Cancel a report (a second one: a finished report cannot be cancelled)
    second = _curl("--user", "usr123:pswd1234-example", "--header", "Content-Type: text/xml; charset=utf-8", "--data", f"@{report}", f"{base}/submit").findtext("reportId")
    cancelled = _curl("--user", "usr123:pswd1234-example", "--form", f"id={second}", f"{base}/retract")
    assert (cancelled.findtext("responseCode"), cancelled.findtext("reportId")) == ("0", second)
    # 7.1 Status
    status = _curl("--user", "usr123:pswd1234-example", f"{base}/status")
    assert status.findtext("responseDescription") == "Remote User : usr123, Remote Ip : 127.0.0.1"


def _python_313() -> str | None:
    import glob

    candidates = [shutil.which(c) for c in ("python3.14", "python3.13")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[3-9]*/bin/python3")), reverse=True)
    for exe in filter(None, candidates):
        if subprocess.run([exe, "--version"], capture_output=True).returncode == 0:
            return exe
    return None


@pytest.fixture(scope="module")
def ncmec_client_python(tmp_path_factory):
    exe = _python_313()
    if exe is None:
        pytest.skip(f"{NCMEC_CLIENT} needs Python >= 3.13, which this machine lacks")
    venv = tmp_path_factory.mktemp("ncmec-client") / "venv"
    subprocess.run([exe, "-m", "venv", str(venv)], check=True)
    result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", NCMEC_CLIENT], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot install {NCMEC_CLIENT}: {result.stderr[-300:]}")
    return str(venv / "bin" / "python")


def test_an_independent_client_from_pypi_runs_its_whole_flow(server, ncmec_client_python):
    image = IMAGES_DIR / "small.jpg"
    script = Path(__file__).parent / "clients" / "ncmec_cybertip_flow.py"
    run = subprocess.run([ncmec_client_python, str(script), server["base"] + "/ispws", "usr123", "pswd1234-example", str(image)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["status"] == [0, "Remote User : usr123, Remote Ip : 127.0.0.1"]
    assert out["xsd_has_report"] is True
    assert out["md5"] == hashlib.md5(image.read_bytes()).hexdigest()
    assert out["finished"] == [0, out["report_id"], [out["file_id"]]]
    assert out["retracted"][0] == 0
    assert "5101" in str(out["finish_after_retract"])
