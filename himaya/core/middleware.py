"""Request IDs (CyberTipline documentation §7.5), security headers and the second
factor's gate (SPEC §3.10). The Content-Security-Policy itself comes from django-csp
(settings.CONTENT_SECURITY_POLICY), built once per process by `CSPMiddleware`."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_RO
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import user_has_device


# What django-csp's decorators set on a response to change its policy.
_CSP_RESPONSE_ATTRS = ("_csp_exempt", "_csp_exempt_ro", "_csp_config", "_csp_update", "_csp_replace",
                       "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Nothing a staff member reads may linger in a shared browser cache.
            response.setdefault("Cache-Control", "no-store")
        return response


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware with the policy built once per process and policy.

    django-csp builds the header from the settings on every response (about 5 % of a
    provider report's CPU). Unless a view changed the policy for its response
    (`@csp_update`, `@csp_replace`, `@csp_exempt`...) or the page asked for a nonce,
    the header depends on the settings alone: it is built once by django-csp's own
    `build_policy` and reused, so it is byte for byte what django-csp would send
    (directive order included, which follows the process's string hashing). A
    changed setting (a new value object) is built again. Anything else goes to
    django-csp as before."""

    _built: dict[str, tuple[Any, str]] = {}

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        from django.conf import settings

        if getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _CSP_RESPONSE_ATTRS):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        for name, header in (("CONTENT_SECURITY_POLICY", CSP_HEADER), ("CONTENT_SECURITY_POLICY_REPORT_ONLY", CSP_HEADER_RO)):
            policy = getattr(settings, name, None)
            cached = self._built.get(name)
            if cached is None or cached[0] is not policy:
                cached = self._built[name] = (policy, build_policy(report_only=header == CSP_HEADER_RO))
            value = cached[1]
            if value and header not in response:
                prefixes = (policy or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
                if not request.path_info.startswith(tuple(prefixes)):
                    response[header] = value
        # As django-csp: a nonce asked for after the header is written is an error.
        setattr(request, "csp_nonce", CheckableLazyObject(self._csp_nonce_post_response))
        return response


class ArabicFirstLocaleMiddleware:
    """Arabic unless the user chose otherwise with the language switch (SPEC §3.9/§7).

    Django's LocaleMiddleware would follow the browser's Accept-Language, and a
    unit's workstations often have English browsers; the product is Arabic first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary = response.get("Vary", "")
        if "Cookie" not in patch_vary:
            response["Vary"] = f"{patch_vary}, Cookie" if patch_vary else "Cookie"
        translation.deactivate()
        return response


class ProviderApiShortcut:
    """Sends /ispws/ straight to its view, past sessions, locale, CSRF, auth and messages.

    The provider API authenticates every request itself (HTTP Basic) and answers
    XML; none of that machinery applies to it, and it is the path that must carry
    hundreds of reports a second. Request IDs and security headers (earlier in
    MIDDLEWARE) still apply.
    """

    PREFIX = "/ispws/"
    _named: dict[tuple[Any, str], Any] = {}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(self.PREFIX):
            from django.urls import get_urlconf, resolve

            # The named endpoints resolved once per process and URLconf (resolving walks
            # the site's URL patterns on every request); any other path as before.
            key = (get_urlconf(), path)
            match = self._named.get(key)
            if match is None:
                match = resolve(path)
                if match.url_name and not match.args and not match.kwargs and len(self._named) < 64:
                    self._named[key] = match
            return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)


class SecondFactorMiddleware:
    """Until the second factor is verified, a logged-in session reaches only the
    enrolment and verification pages, logout and the language switch (SPEC §3.10).

    Runs after django_otp's OTPMiddleware (`request.user.is_verified()`). Pages
    redirect to the verification (or, for a user without a device, the enrolment)
    page. /api/ is left to its authentication classes: a session counts there only
    once verified, and an API token is its own factor (himaya.accounts.authentication).
    The provider API, the portal, health, readiness, metrics (its own bearer token)
    and static files need no staff login.
    """

    OPEN_URL_NAMES = frozenset({"accounts:login", "accounts:logout", "accounts:enrol", "accounts:verify", "set_language",
                                "health", "ready", "metrics"})
    OPEN_PREFIXES = ("/api/", "/ispws/", "/portal/", "/static/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        if request.path_info.startswith(self.OPEN_PREFIXES):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in self.OPEN_URL_NAMES:
            return None
        target = "accounts:verify" if user_has_device(user, confirmed=True) else "accounts:enrol"
        query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
        return redirect(f"{reverse(target)}?{query}" if query else reverse(target))
