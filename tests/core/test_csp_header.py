"""The Content-Security-Policy header, built once per process by
himaya.core.middleware.CSPMiddleware, is byte for byte what django-csp's own
middleware sends: on a page, on the provider API, after a change of the policy, and
on responses a view gave a policy of its own."""
from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

pytestmark = pytest.mark.django_db

LIBRARY = "csp.middleware.CSPMiddleware"
OURS = "himaya.core.middleware.CSPMiddleware"
HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")


def _headers(client, settings, middleware: str, path: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    from himaya.core.middleware import CSPMiddleware as Ours

    settings.MIDDLEWARE = [middleware if m in (LIBRARY, OURS) else m for m in settings.MIDDLEWARE]
    calls = []
    original = Ours.process_response

    def spy(self, request, response):  # type: ignore[no-untyped-def]
        calls.append(request.path)
        return original(self, request, response)

    Ours.process_response = spy  # type: ignore[method-assign]
    try:
        response = Client().get(path, **extra)  # a new client: a client loads the middleware once
    finally:
        Ours.process_response = original  # type: ignore[method-assign]
    assert bool(calls) == (middleware == OURS)
    return {h: response.get(h) for h in HEADERS} | {"status": response.status_code}


@pytest.mark.parametrize("path", ["/accounts/login/", "/ispws/status", "/portal/", "/no-such-page/"])
def test_a_page_and_the_provider_api_carry_django_csps_header(client, settings, provider, path) -> None:  # type: ignore[no-untyped-def]
    assert OURS in settings.MIDDLEWARE
    extra = {"HTTP_AUTHORIZATION": provider.auth} if path.startswith("/ispws/") else {}
    for _ in range(2):  # built, then reused
        ours = _headers(client, settings, OURS, path, **extra)
        library = _headers(client, settings, LIBRARY, path, **extra)
        assert ours == library
    assert ours["Content-Security-Policy"] and "frame-ancestors 'none'" in ours["Content-Security-Policy"]
    assert ours["Content-Security-Policy-Report-Only"] is None


def test_a_changed_policy_is_sent_at_once(client, settings) -> None:  # type: ignore[no-untyped-def]
    before = _headers(client, settings, OURS, "/accounts/login/")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["'self'", "https://maps.example"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'none'"]}, "EXCLUDE_URL_PREFIXES": ["/ispws/"]}
    ours = _headers(client, settings, OURS, "/accounts/login/")
    assert ours == _headers(client, settings, LIBRARY, "/accounts/login/")
    assert ours["Content-Security-Policy"] != before and "https://maps.example" in ours["Content-Security-Policy"]
    assert ours["Content-Security-Policy-Report-Only"] == "default-src 'none'"
    ours = _headers(client, settings, OURS, "/portal/")
    assert ours == _headers(client, settings, LIBRARY, "/portal/")


def test_a_views_own_policy_a_nonce_and_an_exemption_are_django_csps() -> None:
    from csp.exceptions import CSPNonceError
    from csp.middleware import CSPMiddleware as Library

    from himaya.core.middleware import CSPMiddleware as Ours

    def respond(kind: str):  # type: ignore[no-untyped-def]
        def view(request):  # type: ignore[no-untyped-def]
            response = HttpResponse("x")
            if kind == "update":
                response._csp_update = {"img-src": ["https://tiles.example"]}
            elif kind == "replace":
                response._csp_replace = {"script-src": ["'self'", "https://cdn.example"]}
            elif kind == "exempt":
                response._csp_exempt = True
            elif kind == "nonce":
                str(request.csp_nonce)
            elif kind == "set":
                response["Content-Security-Policy"] = "default-src 'none'"
            return response
        return view

    for kind in ("plain", "update", "replace", "exempt", "nonce", "set"):
        got = []
        for middleware in (Ours, Library):
            request = RequestFactory().get("/somewhere/")
            mw = middleware(respond(kind))
            response = mw(request)
            value = response.get("Content-Security-Policy")
            if kind == "nonce":  # a nonce per request: the rest is the same
                value = value.replace(request._csp_nonce, "N")
            got.append(value)
            if kind != "nonce":
                with pytest.raises(CSPNonceError):  # a nonce asked for after the header is written
                    str(request.csp_nonce)
        assert got[0] == got[1], kind
        assert (got[0] is None) == (kind == "exempt"), kind
