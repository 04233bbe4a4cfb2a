"""No role sees a form it cannot submit (issue 13): every page without parameters,
and the page of one object of each kind, as every role of the national unit and
of another unit; every POST form found is submitted as it is shown, and must not
be refused (403)."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.permissions.world import ROLES, World, build_world

# Not staff pages, or pages whose POST ends the session being walked.
SKIP_PREFIXES = ("/ispws/", "/api/", "/health", "/ready", "/metrics", "/portal/", "/i18n/", "/accounts/logout/", "/accounts/login/",
                 "/accounts/second-factor/")
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_ATTR = re.compile(r'(\w[\w-]*)\s*=\s*"([^"]*)"')
_INPUT = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.I)


def _plain_urls(patterns: list[Any], prefix: str = "") -> list[str]:
    """Every URL pattern that takes no parameter, as a path."""
    out: list[str] = []
    for p in patterns:
        route = str(p.pattern)
        if "<" in route or "(?P" in route or "(" in route:
            continue
        route = route.lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(p, URLResolver):
            out += _plain_urls(p.url_patterns, prefix + route)
        elif isinstance(p, URLPattern):
            out.append("/" + prefix + route)
    return sorted(set(out))


def _post_forms(page: str, url: str) -> list[tuple[str, dict[str, str]]]:
    """(action, data) of every POST form, with the values the page gives its fields."""
    forms = []
    for attrs, body in _FORM.findall(page):
        a = dict(_ATTR.findall(attrs))
        if a.get("method", "get").lower() != "post":
            continue
        data: dict[str, str] = {}
        for _tag, field_attrs in _INPUT.findall(body):
            f = dict(_ATTR.findall(field_attrs))
            if "name" in f and f.get("type") not in ("submit", "button", "checkbox", "file"):
                data[f["name"]] = html.unescape(f.get("value", ""))
        forms.append((html.unescape(a.get("action", "")) or url, data))
    return forms


def _object_pages(world: World) -> list[str]:
    own = world.units["own"]
    return [f"/reports/{own.report.id}/", f"/media/files/{own.file.file_id}/", f"/media/lists/{world.national['hash_list'].pk}/retire",
            f"/accounts/users/{own.subject.pk}/", f"/cases/{own.objects['case'].pk}/", f"/reports/{own.objects['portal_report'].id}/",
            f"/portal/staff/{own.objects['portal_report'].id}/"]  # the conversation with a portal reporter, and its reply form


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    return build_world()


def test_no_role_sees_a_form_it_cannot_submit(world: World) -> None:
    urls = [u for u in _plain_urls(get_resolver().url_patterns) if not u.startswith(SKIP_PREFIXES)]
    assert {"/", "/triage/", "/triage/rules/", "/media/lists/", "/audit/", "/accounts/users/", "/accounts/tokens/"} <= set(urls)
    pages = urls + _object_pages(world)
    refused: list[str] = []
    forms_seen: dict[str, int] = {}
    for where in ("own", "other"):
        for role in ROLES:
            client = world.clients[(role, where)]
            for url in pages:
                response = client.get(url)
                if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                    continue
                for action, data in _post_forms(response.content.decode(), url):
                    if action.startswith(("/accounts/logout/", "/i18n/")):
                        continue  # everyone's (logging out, the language): submitting would end the walk's session
                    forms_seen[action.split("?")[0]] = forms_seen.get(action.split("?")[0], 0) + 1
                    answer = client.post(action, data)
                    if answer.status_code == 403:
                        refused.append(f"{role} ({where} unit) sees a form on {url} posting to {action}, and is refused")
    # The walk found the forms that matter (it would pass vacuously otherwise).
    own = world.units["own"]
    for action in (f"/triage/reports/{own.report.id}/override/", "/triage/rules/", "/media/lists/", f"/linking/reports/{own.report.id}/separate/{own.linked.id}/",
                   f"/media/files/{own.file.file_id}/authorise", f"/media/lists/{world.national['hash_list'].pk}/retire",
                   f"/cases/{own.objects['case'].pk}/notes/", f"/cases/{own.objects['case'].pk}/assign/",
                   f"/cases/victims/{own.objects['victim'].pk}/referrals/", f"/cases/legal/{own.objects['legal_request'].pk}/answer/",
                   f"/portal/staff/{own.objects['portal_report'].id}/reply/"):
        assert forms_seen.get(action), f"no page showed a form posting to {action} (to anyone)"
    assert not refused, "\n".join(refused)
