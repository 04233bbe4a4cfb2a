"""The WSGI gate answers a flood of unsolved submissions without Django: the first
refusal of a path is Django's own page, every later one a replay of it; anything
solved, expired or not a submission goes through to Django."""
from __future__ import annotations

import io
import time
from urllib.parse import quote

import pytest
from django.core.handlers.wsgi import WSGIHandler

from himaya.portal import pow
from himaya.portal.gate import PortalGate
from himaya.reports.models import Report
from tests.portal.conftest import form_fields, unsolved


class Counting:
    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.django(environ, start_response)


def call(app, method: str, path: str, query: str = "", body: bytes = b""):  # type: ignore[no-untyped-def]
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "198.51.100.7",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "HTTP_HOST": "testserver",
    }
    seen = {}

    def start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        seen["status"], seen["headers"] = status, dict(headers)

    result = app(environ, start_response)
    content = b"".join(result)
    getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], content


@pytest.mark.django_db(transaction=True)
def test_unsolved_floods_stop_at_the_gate_and_solved_ones_pass(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["testserver"]
    inner = Counting()
    gate = PortalGate(inner)
    body = "&".join(f"{k}={quote(v)}" for k, v in form_fields().items()).encode()
    challenge = pow.challenge_new(difficulty=8)
    first = call(gate, "POST", "/portal/report/", f"c={quote(challenge)}&n={unsolved(challenge)}", body)
    assert first[0].startswith("403") and inner.calls == 1  # Django rendered the first refusal
    for query in ("", "c=forged&n=1", f"c={quote(challenge)}&n={unsolved(challenge)}"):
        again = call(gate, "POST", "/portal/report/", query, body)
        assert again[0] == first[0] and again[2] == first[2] and "تعذّر إرسال البلاغ" in again[2].decode()
        assert again[1].get("Content-Security-Policy") == first[1].get("Content-Security-Policy") is not None
    assert inner.calls == 1  # ...and none of the later ones reached it
    english = call(gate, "POST", "/portal/en/report/", "", body)
    assert english[0].startswith("403") and "could not be sent" in english[2].decode() and inner.calls == 2

    expired = pow.challenge_new(difficulty=8, now=time.time() - pow.MAX_AGE_SECONDS - 10)
    status, _, content = call(gate, "POST", "/portal/report/", f"c={quote(expired)}&n={pow.solve(expired)}", body)
    assert inner.calls == 3 and status.startswith("200") and "data-challenge" in content.decode()  # the view explains
    assert call(gate, "GET", "/portal/report/")[0].startswith("200") and inner.calls == 4
    solved = pow.challenge_new(difficulty=8)
    status, _, content = call(gate, "POST", "/portal/report/", f"c={quote(solved)}&n={pow.solve(solved)}", body)
    assert status.startswith("200") and "data-receipt" in content.decode() and inner.calls == 5
    assert Report.objects.count() == 1
