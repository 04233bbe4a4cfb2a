"""Slow clients cannot exhaust `himaya serve`: 50 connections stalled mid-body (and
mid-headers) are held by the buffering nginx front, while /health, a provider's
/ispws/status and a whole report with a file still go through, and the app still sees
each client's own address.

Needs Debian's nginx (apt-get install nginx-light); skipped without it, except in CI
(HIMAYA_REQUIRE_BROWSER=1 or CI set), where its absence is a failure.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from lxml import etree

from himaya.core.management.commands.serve import FRONT_DEBIAN_PACKAGE, find_nginx
from tests.conftest import DOC_REPORT

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
USER, PASSWORD = "slowprobe", "pswd1234-example"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
STALLED = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None,
             source: str = "127.0.0.1", timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def _provider(port: int, method: str, path: str, **kwargs: object) -> etree._Element:
    headers = {"Authorization": AUTH, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    status, body = _request(port, method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert status == 200, body[:300]
    return etree.fromstring(body)


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _need_nginx() -> str:
    nginx = find_nginx()
    if nginx is None:
        message = f"nginx is not installed (Debian: apt-get install {FRONT_DEBIAN_PACKAGE}): `himaya serve` has no buffering front"
        if os.environ.get("HIMAYA_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return nginx


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _need_nginx()
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HIMAYA_HOME=str(home), DJANGO_SETTINGS_MODULE="config.settings.production")
    env.pop("DATABASE_URL", None)  # SQLite in HIMAYA_HOME
    env.pop("HIMAYA_CLIENT_ADDRESS_HEADER", None)
    himaya = [sys.executable, "-m", "himaya"]
    subprocess.run([*himaya, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    subprocess.run([*himaya, "create_reporter", USER, "--password", PASSWORD], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    log = open(home / "serve.log", "wb")
    # One web worker with two threads: without the front, two stalled bodies would be enough.
    proc = subprocess.Popen([*himaya, "serve", "--port", str(port), "--web-workers", "1", "--threads", "2", "--task-workers", "1"],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if _request(port, "GET", "/health", timeout=5)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"himaya serve did not come up: {(home / 'serve.log').read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    _provider(port, "GET", "/ispws/status")  # the first provider request loads what it needs
    yield {"port": port, "home": home, "front": home / "run" / f"nginx-{port}"}
    proc.terminate()
    try:
        proc.wait(40)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def stalled(served):
    """50 clients that send a POST's headers with a large Content-Length and a few bytes
    of body, or half their headers, then go quiet."""
    port, sockets = served["port"], []
    try:
        for n in range(STALLED):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if n % 5 == 4:  # slowloris: the headers never end
                s.sendall(b"POST /ispws/submit HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + AUTH.encode() + b"\r\nX-Pad: ")
            else:
                path = b"/ispws/upload" if n % 5 == 3 else b"/ispws/submit"
                s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 5000000\r\n"
                          b"Authorization: " + (AUTH.encode() if path == b"/ispws/submit" else b"Basic bm9ib2R5Om5vdGhpbmc=")
                          + b"\r\n\r\n<?xml version=")
            sockets.append(s)
        time.sleep(1)  # let every stalled request reach wherever it would wait
        yield sockets
    finally:
        for s in sockets:
            s.close()


def test_health_and_provider_status_answer_while_50_clients_stall(served, stalled):
    port = served["port"]
    started = time.monotonic()
    status, _ = _request(port, "GET", "/health", timeout=5)
    took = time.monotonic() - started
    assert status == 200 and took < 1.0, f"/health took {took:.2f} s with {STALLED} stalled clients"
    started = time.monotonic()
    answer = _provider(port, "GET", "/ispws/status", timeout=5)
    assert answer.findtext("responseCode") == "0"
    assert time.monotonic() - started < 2.0
    # Every stalled connection is still open: the front holds them, nobody was turned away.
    alive = 0
    for s in stalled:
        s.setblocking(False)
        try:
            s.recv(1)  # data or EOF: an answer or a closed connection
        except BlockingIOError:
            alive += 1
    assert alive == STALLED


def test_a_whole_report_with_a_file_goes_through_the_front_meanwhile(served, stalled):
    port = served["port"]
    opened = _provider(port, "POST", "/ispws/submit", body=DOC_REPORT, headers={"Content-Type": "text/xml; charset=utf-8"})
    assert opened.findtext("responseCode") == "0", etree.tostring(opened)
    report_id = opened.findtext("reportId")
    content = os.urandom(3 * 1024 * 1024)  # larger than the front's in-memory body buffer
    body, content_type = _multipart({"id": report_id}, {"file": ("evidence.bin", content)})
    uploaded = _provider(port, "POST", "/ispws/upload", body=body, headers={"Content-Type": content_type}, timeout=30)
    assert uploaded.findtext("hash") == hashlib.md5(content).hexdigest()
    body, content_type = _multipart({"id": report_id}, {})
    done = _provider(port, "POST", "/ispws/finish", body=body, headers={"Content-Type": content_type})
    assert (done.tag, done.findtext("responseCode"), done.findtext("files/fileId")) == ("reportDoneResponse", "0", uploaded.findtext("fileId"))
    # The front spooled that body in memory (/dev/shm), never on a disk, and emptied
    # the spool once gunicorn had it.
    conf = (served["front"] / "nginx.conf").read_text()
    spool = Path(re.search(r"client_body_temp_path (\S+) ", conf).group(1))
    assert spool.parent == Path("/dev/shm") and spool.is_dir()
    assert [p for p in spool.rglob("*") if p.is_file()] == []


def test_the_app_sees_each_clients_own_address_through_the_front(served):
    """The per-address throttles and the status page see the client, not the front's 127.0.0.1."""
    answer = _provider(served["port"], "GET", "/ispws/status", source="127.0.0.2")
    assert answer.findtext("responseDescription") == f"Remote User : {USER}, Remote Ip : 127.0.0.2"
    # A forged address header from the client itself is overwritten by the front.
    answer = _provider(served["port"], "GET", "/ispws/status", source="127.0.0.3", headers={"X-Real-IP": "198.51.100.66"})
    assert answer.findtext("responseDescription") == f"Remote User : {USER}, Remote Ip : 127.0.0.3"


def test_behind_the_operators_own_proxy_the_config_believes_only_that_proxy(tmp_path, settings):
    """HIMAYA_CLIENT_ADDRESS_HEADER set: nginx takes the client's address from that header,
    only when it comes from HIMAYA_FORWARDED_ALLOW_IPS, and nginx accepts the file."""
    nginx = _need_nginx()
    from himaya.core.management.commands.serve import front_config, largest_body

    text = front_config(host="127.0.0.1", port=_free_port(), upstream="unix:/nonexistent/web.sock", run=tmp_path,
                        address_header="X-Client", operator_header="X-Client", allow_ips="10.1.2.3, 192.168.0.0/16, not-an-ip",
                        max_body=largest_body())
    assert "set_real_ip_from 10.1.2.3/32;" in text and "set_real_ip_from 192.168.0.0/16;" in text
    assert "real_ip_header X-Client;" in text and "proxy_set_header X-Client $remote_addr;" in text
    assert f"client_max_body_size {settings.HIMAYA_MAX_UPLOAD_BYTES + 1024 * 1024};" in text
    (tmp_path / "nginx.conf").write_text(text)
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_the_front_turns_away_a_flood_of_portal_posts_from_one_address(served):
    """A flood of portal submissions from one address is answered 429 by the front
    itself (no Python thread spent); its pages still open, and a child writing from
    another address is not affected."""
    port = served["port"]
    form = b"story=x"
    statuses = [_request(port, "POST", "/portal/report/", body=form, source="127.0.0.4",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})[0] for _ in range(30)]
    assert statuses.count(429) >= 15, statuses  # a burst of 10, then about one every two seconds
    assert 429 not in statuses[:10], statuses
    assert _request(port, "GET", "/portal/", source="127.0.0.4")[0] == 200
    other = _request(port, "POST", "/portal/report/", body=form, source="127.0.0.5",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})[0]
    assert other != 429
