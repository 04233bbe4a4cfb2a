"""A provider platform's client for the scale-out test: the provider API's flow
(submit → upload → fileinfo → finish), with the retries a platform makes.

What it counts as acknowledged is what the API promised: `finish` answered
responseCode 0 (or, after a finish whose answer was lost, 5102 "already finished").
A report whose submit or upload got no clear answer is abandoned (left open, it
expires) and submitted again whole, so an acknowledged report holds only files whose
upload was answered; a finish without an answer is asked again for the same report.
A host that refuses connections (killed, restarting) makes the client go to the other.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from tests.conftest import file_details_doc
from tests.intake.cybertip.samples import MINIMAL_REPORT

USER, PASSWORD = "platform1", "scale-out-pass-4096"


class NoAnswer(Exception):
    """The request got no API answer (connection cut, refused, a 5xx page): its effect is unknown."""


@dataclass
class Answer:
    code: int
    report_id: int | None
    file_id: str | None
    md5: str | None
    file_ids: list[str]


def report_xml(marker: str) -> bytes:
    """The documentation's example, with an email and URL of its own (reports are not all one cluster)."""
    return (MINIMAL_REPORT.replace(b"jsmith@example.com", f"{marker}@example.com".encode())
            .replace(b"http://badsite.com/baduri.html", f"http://badsite.example/{marker}.html".encode()))


def file_bytes(image: bytes, marker: str, size: int = 0) -> bytes:
    """A real JPEG with bytes of its own after its end (decoders ignore them): every file is distinct."""
    tail = f"\n{marker}\n".encode()
    return image + tail + os.urandom(max(0, size - len(image) - len(tail)))


def _parse(status: int, body: bytes) -> Answer:
    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        raise NoAnswer(f"HTTP {status}: not an API answer: {body[:200]!r}") from None
    code_text = root.findtext("responseCode")
    if code_text is None:
        raise NoAnswer(f"HTTP {status}: no responseCode")
    rid = root.findtext("reportId")
    return Answer(code=int(code_text), report_id=int(rid) if rid and rid.isdigit() else None, file_id=root.findtext("fileId"),
                  md5=root.findtext("hash"), file_ids=[e.text or "" for e in root.iterfind("files/fileId")])


def request(host: str, path: str, body: bytes | Iterator[bytes], content_type: str, *, length: int | None = None,
            timeout: float = 60) -> Answer:
    conn = http.client.HTTPConnection(host, 8000, timeout=timeout)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    try:
        conn.putrequest("POST", f"/ispws/{path}")
        conn.putheader("Authorization", f"Basic {auth}")
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(len(body) if isinstance(body, bytes) else length))
        conn.endheaders()
        if isinstance(body, bytes):
            conn.send(body)
        else:
            for chunk in body:
                conn.send(chunk)
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise NoAnswer(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
    if response.status >= 500 and not data.lstrip().startswith(b"<"):
        raise NoAnswer(f"HTTP {response.status}")
    return _parse(response.status, data)


def multipart(report_id: int, name: str, data: bytes) -> tuple[bytes, bytes, str]:
    """(head, tail, content type) around the file's bytes; `id` comes first, as the API reads it."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n{report_id}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def form(**fields: object) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n" for k, v in fields.items())
    return f"{body}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@dataclass
class Ledger:
    """What the platform was told, shared by its threads."""

    acknowledged: dict[int, str] = field(default_factory=dict)  # report id → md5 of its one file
    acknowledged_files: dict[int, list[str]] = field(default_factory=dict)  # report id → file ids the finish listed
    by_5102: set[int] = field(default_factory=set)  # finished, known from "already finished" after a lost answer
    abandoned: list[int] = field(default_factory=list)  # submitted, then given up on before finish
    sent: dict[str, bytes] = field(default_factory=dict)  # md5 → the file's bytes
    failures: list[str] = field(default_factory=list)  # every request that got no clear answer, for the report
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def deliver(ledger: Ledger, hosts: list[str], marker: str, data: bytes, *, deadline: float,
            upload: Callable[[str, int, bytes], Answer] | None = None) -> int:
    """One report delivered until acknowledged (or the deadline passes: AssertionError)."""
    md5 = hashlib.md5(data).hexdigest()
    with ledger.lock:
        ledger.sent[md5] = data
    turn = 0
    while True:
        assert time.monotonic() < deadline, f"report {marker} could not be delivered before the deadline: {ledger.failures[-5:]}"
        host = hosts[turn % len(hosts)]
        rid: int | None = None
        try:
            opened = request(host, "submit", report_xml(marker), "text/xml; charset=utf-8")
            if opened.code != 0 or opened.report_id is None:
                raise NoAnswer(f"submit answered {opened.code}")
            rid = opened.report_id
            if upload is not None:
                uploaded = upload(host, rid, data)
            else:
                head, tail, ctype = multipart(rid, f"{marker}.jpg", data)
                uploaded = request(host, "upload", head + data + tail, ctype)
            if uploaded.code != 0 or uploaded.file_id is None:
                raise NoAnswer(f"upload answered {uploaded.code}")
            assert uploaded.md5 == md5, f"the server heard other bytes than were sent ({uploaded.md5} != {md5})"
            info = request(host, "fileinfo", file_details_doc(rid, uploaded.file_id), "text/xml; charset=utf-8")
            if info.code != 0:
                raise NoAnswer(f"fileinfo answered {info.code}")
        except NoAnswer as exc:
            ledger.note(f"{host} {marker} before finish: {exc}")
            if rid is not None:
                with ledger.lock:
                    ledger.abandoned.append(rid)
            turn += 1
            time.sleep(0.3)
            continue
        return _finish(ledger, hosts, turn, rid, md5, uploaded.file_id, deadline)


def _finish(ledger: Ledger, hosts: list[str], turn: int, rid: int, md5: str, file_id: str, deadline: float) -> int:
    lost = False
    while True:
        assert time.monotonic() < deadline, f"report {rid} could not be finished before the deadline: {ledger.failures[-5:]}"
        host = hosts[turn % len(hosts)]
        body, ctype = form(id=rid)
        try:
            done = request(host, "finish", body, ctype)
        except NoAnswer as exc:
            ledger.note(f"{host} finish {rid}: {exc}")
            lost = True
            turn += 1
            time.sleep(0.3)
            continue
        with ledger.lock:
            if done.code == 0:
                assert done.report_id == rid and done.file_ids == [file_id], (rid, file_id, done)
                ledger.acknowledged[rid] = md5
                ledger.acknowledged_files[rid] = done.file_ids
                return rid
            if done.code == 5102 and lost:
                ledger.by_5102.add(rid)
                ledger.acknowledged_files[rid] = [file_id]
                ledger.acknowledged[rid] = md5
                return rid
        ledger.note(f"{host} finish {rid} answered {done.code}")  # e.g. 1300 while the database restarts: nothing changed
        turn += 1
        time.sleep(0.3)
