"""A flood of portal submissions never reaches Django (SPEC §5: staff pages keep
their speed under a flood of 1,000 unsolved submissions).

The WSGI application is wrapped by `PortalGate`: a POST to the report form whose
proof of work is missing, forged or unsolved (one HMAC and one SHA-256, the same
`pow.verify` the view runs) is answered here, before Django's request, middleware,
URL resolution, session or database: the refusal page Django itself rendered the
first time for that path (its headers included — security headers, language), then
replayed byte for byte. The request body is never read. An expired challenge and
every solved submission go on to the view, which checks the same proof again and
spends it — so the gate can only refuse what the view would refuse.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from himaya.portal import pow

REPORT_PATHS = frozenset({"/portal/report/", "/portal/en/report/"})

StartResponse = Callable[..., Any]


class PortalGate:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._refusals: dict[str, tuple[str, list[tuple[str, str]], bytes]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or path not in REPORT_PATHS or not self._refuses(environ):
            return self.app(environ, start_response)
        cached = self._refusals.get(path)
        if cached is None:
            return self._learn(path, environ, start_response)
        status, headers, body = cached
        start_response(status, list(headers))
        return [body]

    @staticmethod
    def _refuses(environ: dict[str, Any]) -> bool:
        query = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=10)
        try:
            pow.verify((query.get("c") or [""])[0], (query.get("n") or [""])[0])
        except pow.PowRefused as refused:
            return str(refused) != "expired"  # an expired one is the view's to explain
        except Exception:  # noqa: BLE001 - anything odd is the view's to judge, never the gate's to crash on
            return False
        return False

    def _learn(self, path: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The first refusal goes through Django (which renders it); its answer is kept."""
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in seen.get("headers", []) if k.lower() not in ("set-cookie", "date")]
        if seen.get("status", "").startswith("403") and not any(k.lower() == "set-cookie" for k, _ in seen.get("headers", [])):
            with self._lock:
                self._refusals.setdefault(path, (seen["status"], headers, body))
        return [body]


def gated(app: Callable[..., Iterable[bytes]]) -> PortalGate:
    return PortalGate(app)
