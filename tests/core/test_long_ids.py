"""An id too large for the database in any URL is a 404 (or a clear 400), never a 500."""
from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from himaya.accounts.services import user_create

pytestmark = pytest.mark.django_db
HUGE = "9" * 20


def _patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    found = []
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            found += _patterns(p, route)
        elif isinstance(p, URLPattern) and "<" in route:
            found.append(route)
    return found


def _fill(route: str) -> str:
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"<(?:id|int):\w+>", HUGE, route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", HUGE, route)  # the API router's regex groups
    route = re.sub(r"<\w+:\w+>|<\w+>", HUGE, route)
    return "/" + route.replace("\\", "").replace("\\.", ".")


def test_a_twenty_digit_id_never_makes_a_500(client):
    from tests.auth_helpers import login_verified  # the staff login with its second factor

    user = user_create(username="long-ids", password="a-long-password-1", roles=["supervisor"], unit_code="intake")
    login_verified(client, user)
    urls = sorted({_fill(r) for r in _patterns(get_resolver())})
    assert any("/reports/" in u for u in urls) and any(u.startswith("/api/v1/") for u in urls), urls
    for url in urls:
        for method in ("get", "post"):
            answer = getattr(client, method)(url)
            assert answer.status_code < 500, (method, url, answer.status_code)
