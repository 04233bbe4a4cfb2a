"""The permission matrix, generated from the one table (issue 13, SPEC §1, §3.10, §4.3).

Every kind × every role × every action × (own unit, other unit), through the UI
and through the API where one exists:

* own unit, the role may: 2xx or 3xx (and what the page is about is there);
* own unit, the role may not: 403 (or, for what a page shows, it is not shown);
* another unit's object: 404 whatever the role (a list never shows it).

National kinds (hash lists, the triage rule set) belong to no unit: every unit's
staff read them, only supervisors of the national unit change them.

This file carries its own copy of the table (EXPECTED): the code's TABLE must
equal it cell by cell. Each kind has a small entry in REGISTRY (how to find its
object in a unit, and the UI page or API call that exercises each action); a kind
of the table whose models exist but that has no entry fails, and so does an action
of the table with no probe (or no stated reason why it has none).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client

from himaya.accounts.permissions import NATIONAL_CHANGES, SCOPE, TABLE, Action, Kind, Scope
from tests.permissions.world import (
    CASE_VICTIM_BORN, CASE_VICTIM_LAST, ROLES, SUPERUSER, VICTIM_FIRST, VICTIM_LAST, World, build_world,
)

IA, INV, PROS, CP, SUP, AUD = "intake_analyst", "investigator", "prosecutor", "child_protection", "supervisor", "auditor"
EVERYONE = {IA, INV, PROS, CP, SUP, AUD}
WORKERS = {IA, INV, PROS, CP, SUP}

# The table as the product decided it (SPEC §1): kind -> action -> roles. Written out, not imported.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "report": {"view": EVERYONE, "view_identity": WORKERS, "export": {INV, PROS, SUP}},
    "media": {"view": EVERYONE, "view_media": WORKERS, "change": {INV, PROS, SUP}},
    "triage": {"view": EVERYONE, "change": {IA, SUP}},
    "link": {"view": EVERYONE, "change": {IA, SUP}},
    "hash_list": {"view": EVERYONE, "export": {SUP}, "manage": {SUP}},
    "rule_set": {"view": EVERYONE, "manage": {SUP}},
    "audit_event": {"view": {AUD, SUP}, "export": {AUD, SUP}},
    "user": {"view": {SUP, AUD}, "manage": {SUP}},
    "reporter": {"view": {SUP, AUD}, "manage": {SUP}},
    "api_token": {"view": EVERYONE, "create": EVERYONE, "change": EVERYONE, "manage": {SUP}},
    "case": {"view": EVERYONE, "create": {IA, INV, SUP}, "change": {INV, PROS, SUP}, "assign": {SUP}, "export": {INV, PROS, SUP, AUD}},
    "task": {"view": EVERYONE, "create": {INV, PROS, CP, SUP}, "change": {INV, PROS, CP, SUP}},
    "victim": {"view": EVERYONE, "view_identity": {CP, INV, PROS, SUP}, "create": {CP, INV, SUP}, "change": {CP, INV, SUP}},
    "referral": {"view": EVERYONE, "create": {CP, SUP}, "change": {CP, SUP}},
    "suspect": {"view": EVERYONE, "create": {INV, PROS, SUP}, "change": {INV, PROS, SUP}},
    "legal_request": {"view": EVERYONE, "create": {INV, PROS, SUP}, "change": {INV, PROS, SUP}, "export": {INV, PROS, SUP}},
    "attachment": {"view": EVERYONE, "create": {INV, PROS, CP, SUP}, "export": WORKERS},
    "statistics": {"view": {SUP, AUD, PROS, IA}, "export": {SUP, AUD}},
    "portal_message": {"view": {IA, CP, SUP}, "view_identity": {IA, CP, SUP}, "create": {IA, CP, SUP}},
    "partner": {"view": {SUP, AUD, INV, PROS}, "manage": {SUP}, "export": {SUP}},
}
NATIONAL = {"hash_list", "rule_set"}


# ---------------------------------------------------------------- the registry

@dataclass
class Probe:
    """One UI page or API call that exercises an action on an object."""

    via: str                                      # "ui" or "api"
    call: Callable[[Client, Any, World], Any]     # (client, object, world) -> response
    # What the answer shows when allowed; when given, "not allowed" means "not shown" (a page
    # that is the reader's anyway, showing less) and another unit's object means "never shown".
    shows: Callable[[Any], str] | None = None
    hidden: tuple[str, ...] = ()                  # shown instead, when not allowed (any of these)
    denied: int = 403                             # the answer when the role may not (an owner kind: 404)
    lists: bool = False                           # a list: another unit's object is absent (200), never a 404
    own_only: bool = False                        # about the user's own things (Scope.OWNER): no other unit's object to ask for
    # Creating from objects named in the request (opening a case from reports): a role that may
    # not create is refused before anything is looked up, so another unit's objects answer 403
    # too (the same answer as for objects that do not exist: nothing is learned).
    role_first: bool = False


@dataclass
class Entry:
    find: Callable[[World, str], Any]             # the kind's object in "own"/"other" unit (a national kind: the one object)
    probes: dict[str, list[Probe]] = field(default_factory=dict)
    no_surface: dict[str, str] = field(default_factory=dict)  # an action with no UI or API today, and where it is done instead


def _get(url: Callable[[Any], str]) -> Callable[[Client, Any, World], Any]:
    return lambda client, obj, world: client.get(url(obj))


def _post(url: Callable[[Any], str], data: Callable[[Any, World], dict[str, Any]] | None = None) -> Callable[[Client, Any, World], Any]:
    return lambda client, obj, world: client.post(url(obj), data(obj, world) if data else {})


def _separation_undo(client: Client, obj: Any, world: World) -> Any:
    from himaya.linking.models import LinkSeparation

    lo, hi = sorted([obj.id, obj.linkage_other])
    sep = LinkSeparation.objects.filter(low_id=lo, high_id=hi, undone_at__isnull=True).first()
    if sep is None:
        from django.utils import timezone

        sep = LinkSeparation.objects.create(low_id=lo, high_id=hi, reason="matrix", created_by=world.users[(SUP, "own")], created_at=timezone.now())
    return client.post(f"/linking/separations/{sep.id}/undo/", {"report": str(obj.id)})


def _rules_form(obj: Any, world: World) -> dict[str, Any]:
    from himaya.triage.services import ruleset_active

    _, data = ruleset_active()
    form: dict[str, Any] = {"note": "matrix"}
    for spec in data["rules"]:
        form[f"weight-{spec['rule']}"] = spec.get("weight", 0)
        if spec.get("enabled", True):
            form[f"enabled-{spec['rule']}"] = "on"
    return form


def _token_of(user: Any) -> Any:
    from himaya.accounts.models import ApiToken
    from himaya.accounts.permissions import OPERATOR
    from himaya.accounts.services import token_create

    token_create(username=user.username, name="matrix", days=30, actor=OPERATOR)
    return ApiToken.objects.filter(user=user).order_by("-pk").first()


def _revoke_own(client: Client, obj: Any, world: World) -> Any:
    user = next(u for key, u in world.users.items() if world.clients[key] is client)
    return client.post(f"/accounts/tokens/{_token_of(user).pk}/revoke/")


def _revoke_subjects(client: Client, obj: Any, world: World) -> Any:
    return client.post(f"/accounts/tokens/{_token_of(obj).pk}/revoke/")


def _placeholders() -> tuple[str, ...]:
    """The identity placeholder as the API writes it, in either language."""
    from django.utils import translation

    from himaya.reports.presentation import IDENTITY_HIDDEN

    out = []
    for language in ("ar", "en"):
        with translation.override(language):
            out.append(f'"last_name":"{IDENTITY_HIDDEN}"')
    return tuple(out)


def _report(world: World, where: str) -> Any:
    report = world.units[where].report
    report.linkage_other = world.units[where].linked.id
    return report


def _api(method: str, url: Callable[[Any], str], data: Callable[[Any, World], dict[str, Any]]) -> Callable[[Client, Any, World], Any]:
    """A JSON call to the API (POST or PATCH)."""
    return lambda client, obj, world: getattr(client, method)(url(obj), data(obj, world), content_type="application/json")


def _where(world: World, unit_id: int) -> str:
    return next(where for where, uw in world.units.items() if uw.unit.id == unit_id)


def _thing(kind: str) -> Callable[[World, str], Any]:
    return lambda world, where: world.units[where].objects[kind]


_fresh = itertools.count(1)


def _fresh_report_id(world: World, case: Any) -> int:
    """A report of the case's unit in no case yet (a report joins one case only)."""
    from tests.linking.factory import Person, report_xml, store

    unit = world.units[_where(world, case.unit_id)].unit
    return store(report_xml(suspect=Person(esp_id=f"matrix-fresh-{next(_fresh)}")), unit=unit, process=False).id


def _case_open_ui(client: Client, case: Any, world: World) -> Any:
    return client.post("/cases/open/", {"title": "matrix", "report": str(_fresh_report_id(world, case))})


def _case_open_api(client: Client, case: Any, world: World) -> Any:
    return client.post("/api/v1/cases/", {"title": "matrix", "reports": [_fresh_report_id(world, case)]}, content_type="application/json")


def _assignees(case: Any, world: World) -> dict[str, Any]:
    """The same assignees the world gave the case: the unit's investigator and prosecutor
    (who see the victim's identity only while assigned)."""
    where = _where(world, case.unit_id)
    return {"users": [f"{INV}-{where}", f"{PROS}-{where}"]}


def _supervisor_of(world: World, unit_id: int) -> Any:
    return world.users[(SUP, _where(world, unit_id))]


def _fresh_referral(world: World, referral: Any) -> Any:
    """A referral still "requested" (a move is made once: the workflow goes forward only)."""
    from himaya.cases.services import referral_create

    return referral_create(actor=_supervisor_of(world, referral.victim.case.unit_id), victim=referral.victim, kind="shelter",
                           service="Matrix shelter (example)")


def _fresh_legal_request(world: World, legal: Any) -> Any:
    """A legal request not answered yet (an answer is recorded once)."""
    from himaya.cases.services import legal_request_create

    return legal_request_create(actor=_supervisor_of(world, legal.case.unit_id), case=legal.case, provider="MatrixChat fresh",
                                kind="content", legal_basis="Art. 6 (example)")


def _referral_move(via: str) -> Callable[[Client, Any, World], Any]:
    def call(client: Client, referral: Any, world: World) -> Any:
        fresh = _fresh_referral(world, referral)
        if via == "ui":
            return client.post(f"/cases/referrals/{fresh.pk}/state/", {"state": "accepted"})
        return client.post(f"/api/v1/referrals/{fresh.pk}/state/", {"state": "accepted"}, content_type="application/json")
    return call


def _legal_answer(via: str) -> Callable[[Client, Any, World], Any]:
    def call(client: Client, legal: Any, world: World) -> Any:
        fresh = _fresh_legal_request(world, legal)
        if via == "ui":
            return client.post(f"/cases/legal/{fresh.pk}/answer/", {"result": "no_data"})
        return client.post(f"/api/v1/legal-requests/{fresh.pk}/answer/", {"result": "no_data"}, content_type="application/json")
    return call


def _identity_notice() -> tuple[str, ...]:
    """What the case page says instead of the victims' names, in either language."""
    from django.utils import translation
    from django.utils.html import escape
    from django.utils.translation import gettext

    out = []
    for language in ("ar", "en"):
        with translation.override(language):
            out.append(str(escape(gettext("Names and dates of birth are shown only to child-protection officers, supervisors, and the "
                                          "investigators and prosecutors assigned to the case."))))
    return tuple(out)


def _portal(world: World, where: str) -> Any:
    from types import SimpleNamespace

    objects = world.units[where].objects
    return SimpleNamespace(id=objects["portal_report"].id, text=objects["portal_message"], phone=objects["portal_phone"])


def _matrix_file() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("matrix.txt", b"matrix upload")


def _where_of(attachment: Any) -> str:
    return "own" if attachment.name == "matrix-own.txt" else "other"


_case_page = lambda x: f"/cases/{x.case_id}/"  # noqa: E731 - the case page of a task, suspect, legal request or victim
PORTAL_PANEL = ('id="portal-title"',)  # the report page's portal panel, there but without the messages

def _partner_key_file() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from himaya.exchange.package import key_document

    key = key_document(signing=SigningKey.generate(), encryption=PrivateKey.generate(), unit="Matrix newcomer", country="EG")
    return SimpleUploadedFile("partner-key.json", key)


def _partner_add(client: Client, partner: Any, world: World) -> Any:
    return client.post("/exchange/partners/add/", {"name": f"matrix-new-{next(_fresh)}", "country": "EG", "public_key": _partner_key_file()})


def _received(partner: Any, world: World) -> Any:
    return world.units[_where(world, partner.unit_id)].objects["partner_referral_received"]


def _refer(client: Client, partner: Any, world: World) -> Any:
    report = world.units[_where(world, partner.unit_id)].report
    return client.post("/exchange/refer/", {"partner": partner.pk, "reports": str(report.id)})


REGISTRY: dict[str, Entry] = {
    "report": Entry(
        find=_report,
        probes={
            "view": [Probe("ui", _get(lambda r: f"/reports/{r.id}/")), Probe("api", _get(lambda r: f"/api/v1/reports/{r.id}/")),
                     Probe("ui", _get(lambda r: "/?status=all"), shows=lambda r: f'href="/reports/{r.id}/"', lists=True)],
            "view_identity": [
                Probe("ui", _get(lambda r: f"/reports/{r.id}/"), shows=lambda r: VICTIM_LAST, hidden=('class="muted identity-hidden"',)),
                Probe("api", _get(lambda r: f"/api/v1/reports/{r.id}/"), shows=lambda r: f'"last_name":"{VICTIM_LAST}"', hidden=_placeholders()),
            ],
        },
        no_surface={"export": "himaya export_report ID (the operator's command line); no page or API exports a report yet"},
    ),
    "media": Entry(
        find=lambda world, where: world.units[where].file,
        probes={
            "view": [Probe("ui", _get(lambda f: f"/reports/{f.report_id}/"), shows=lambda f: f.md5),
                     Probe("api", _get(lambda f: f"/api/v1/reports/{f.report_id}/"), shows=lambda f: f'"md5":"{f.md5}"')],
            "view_media": [Probe("ui", _get(lambda f: f"/media/files/{f.file_id}/"))],
            "change": [Probe("ui", _post(lambda f: f"/media/files/{f.file_id}/authorise",
                                         lambda f, w: {"warrant_number": "W-1", "granted_on": "2026-11-01", "granted_by": "Judge Example"}))],
        },
    ),
    "triage": Entry(
        find=_report,
        probes={
            "view": [Probe("ui", _get(lambda r: f"/reports/{r.id}/"), shows=lambda r: 'id="triage-title"'),
                     Probe("ui", _get(lambda r: "/triage/?reviewed=all"), shows=lambda r: f'data-report="{r.id}"', lists=True),
                     Probe("api", _get(lambda r: f"/api/v1/reports/{r.id}/"), shows=lambda r: '"priority":"P')],
            "change": [Probe("ui", _post(lambda r: f"/triage/reports/{r.id}/override/", lambda r, w: {"priority": "P2", "reason": "matrix"}))],
        },
    ),
    "link": Entry(
        find=_report,
        probes={
            "view": [Probe("ui", _get(lambda r: f"/reports/{r.id}/"), shows=lambda r: f'data-linked="{r.linkage_other}"'),
                     Probe("api", _get(lambda r: f"/api/v1/reports/{r.id}/"), shows=lambda r: f'"linked_reports":[{{"id":{r.linkage_other},')],
            "change": [Probe("ui", _post(lambda r: f"/linking/reports/{r.id}/separate/{r.linkage_other}/", lambda r, w: {"reason": "matrix"})),
                       Probe("ui", _separation_undo)],
        },
    ),
    "hash_list": Entry(
        find=lambda world, where: world.national["hash_list"],
        probes={
            "view": [Probe("ui", _get(lambda h: "/media/lists/"), shows=lambda h: h.name)],
            "export": [Probe("ui", _get(lambda h: f"/media/lists/{h.pk}/export.vics.json"))],
            "manage": [Probe("ui", _get(lambda h: f"/media/lists/{h.pk}/retire"))],
        },
    ),
    "rule_set": Entry(
        find=lambda world, where: world.national["rule_set"],
        probes={
            "view": [Probe("ui", _get(lambda rs: "/triage/rules/"))],
            "manage": [Probe("ui", _post(lambda rs: "/triage/rules/", _rules_form))],
        },
    ),
    "audit_event": Entry(
        find=lambda world, where: world.units[where],
        probes={
            "view": [Probe("ui", _get(lambda uw: f"/audit/?actor={uw.audit_actor}"), shows=lambda uw: uw.audit_target, lists=True)],
            "export": [Probe("ui", _get(lambda uw: f"/audit/export.csv?actor={uw.audit_actor}"), shows=lambda uw: uw.audit_target, lists=True)],
        },
    ),
    "user": Entry(
        find=lambda world, where: world.units[where].subject,
        probes={
            "view": [Probe("ui", _get(lambda u: f"/accounts/users/{u.pk}/")),
                     Probe("ui", _get(lambda u: "/accounts/users/"), shows=lambda u: u.username, lists=True)],
            "manage": [Probe("ui", _post(lambda u: f"/accounts/users/{u.pk}/unlock"))],
        },
    ),
    "reporter": Entry(
        find=lambda world, where: None,
        no_surface={"view": "himaya create_reporter (the operator's command line); no page lists providers yet",
                    "manage": "himaya create_reporter (the operator's command line)"},
    ),
    "api_token": Entry(
        find=lambda world, where: world.units[where].subject,
        probes={
            "view": [Probe("ui", _get(lambda u: "/accounts/tokens/"), own_only=True)],
            "create": [Probe("ui", _post(lambda u: "/accounts/tokens/", lambda u, w: {"name": "matrix", "days": 30}), own_only=True)],
            "change": [Probe("ui", _revoke_own, own_only=True)],
            # Another person's token does not exist for who may not manage the unit's tokens (Scope.OWNER).
            "manage": [Probe("ui", _revoke_subjects, denied=404)],
        },
    ),
    "case": Entry(
        find=_thing("case"),
        probes={
            "view": [Probe("ui", _get(lambda c: f"/cases/{c.pk}/")), Probe("api", _get(lambda c: f"/api/v1/cases/{c.pk}/")),
                     Probe("ui", _get(lambda c: "/cases/?status=all"), shows=lambda c: f'data-case="{c.pk}"', lists=True),
                     Probe("api", _get(lambda c: "/api/v1/cases/"), shows=lambda c: f'"reference":"{c.reference}"', lists=True)],
            "create": [Probe("ui", _case_open_ui, role_first=True), Probe("api", _case_open_api, role_first=True)],
            "change": [Probe("ui", _post(lambda c: f"/cases/{c.pk}/notes/", lambda c, w: {"text": "matrix note"})),
                       Probe("api", _api("post", lambda c: f"/api/v1/cases/{c.pk}/notes/", lambda c, w: {"text": "matrix note"}))],
            "assign": [Probe("ui", _post(lambda c: f"/cases/{c.pk}/assign/", _assignees)),
                       Probe("api", _api("post", lambda c: f"/api/v1/cases/{c.pk}/assign/", _assignees))],
            # The timeline for the court file (CSV and the printable page).
            "export": [Probe("ui", _get(lambda c: f"/cases/{c.pk}/timeline.csv")), Probe("ui", _get(lambda c: f"/cases/{c.pk}/timeline/"))],
        },
    ),
    "task": Entry(
        find=_thing("task"),
        probes={
            "view": [Probe("ui", _get(_case_page), shows=lambda t: f'data-task="{t.pk}"'), Probe("api", _get(lambda t: f"/api/v1/tasks/{t.pk}/"))],
            "create": [Probe("ui", _post(lambda t: f"/cases/{t.case_id}/tasks/", lambda t, w: {"kind": "other", "title": "matrix task"})),
                       Probe("api", _api("post", lambda t: f"/api/v1/cases/{t.case_id}/tasks/", lambda t, w: {"kind": "other", "title": "matrix task"}))],
            "change": [Probe("ui", _post(lambda t: f"/cases/tasks/{t.pk}/status/", lambda t, w: {"status": "done"})),
                       Probe("api", _api("patch", lambda t: f"/api/v1/tasks/{t.pk}/", lambda t, w: {"done": True}))],
        },
    ),
    "victim": Entry(
        find=_thing("victim"),
        probes={
            "view": [Probe("ui", _get(_case_page), shows=lambda v: f'data-victim="{v.pk}"'), Probe("api", _get(lambda v: f"/api/v1/victims/{v.pk}/"))],
            # Investigators and prosecutors see it as the case's assignees (the world assigns them).
            "view_identity": [
                Probe("ui", _get(_case_page), shows=lambda v: CASE_VICTIM_LAST, hidden=_identity_notice()),
                Probe("ui", _get(_case_page), shows=lambda v: CASE_VICTIM_BORN, hidden=_identity_notice()),
                Probe("api", _get(lambda v: f"/api/v1/victims/{v.pk}/"), shows=lambda v: f'"last_name":"{CASE_VICTIM_LAST}"',
                      hidden=('"identity_shown":false',)),
                Probe("api", _get(lambda v: f"/api/v1/victims/{v.pk}/"), shows=lambda v: f'"date_of_birth":"{CASE_VICTIM_BORN}"',
                      hidden=('"identity_shown":false',)),
            ],
            "create": [Probe("ui", _post(lambda v: f"/cases/{v.case_id}/victims/", lambda v, w: {"identification": "unidentified", "age_range": "13-15"})),
                       Probe("api", _api("post", lambda v: "/api/v1/victims/", lambda v, w: {"case": v.case_id, "age_range": "13-15"}))],
            "change": [Probe("ui", _post(lambda v: f"/cases/victims/{v.pk}/", lambda v, w: {"sex": "female"})),
                       Probe("api", _api("patch", lambda v: f"/api/v1/victims/{v.pk}/", lambda v, w: {"sex": "female"}))],
        },
    ),
    "referral": Entry(
        find=_thing("referral"),
        probes={
            "view": [Probe("ui", _get(lambda r: f"/cases/{r.victim.case_id}/"), shows=lambda r: f'data-referral="{r.pk}"'),
                     Probe("api", _get(lambda r: f"/api/v1/victims/{r.victim_id}/"), shows=lambda r: f'"service":"{r.service}"')],
            "create": [Probe("ui", _post(lambda r: f"/cases/victims/{r.victim_id}/referrals/", lambda r, w: {"kind": "education", "service": "Matrix school"})),
                       Probe("api", _api("post", lambda r: f"/api/v1/victims/{r.victim_id}/referrals/",
                                         lambda r, w: {"kind": "education", "service": "Matrix school"}))],
            "change": [Probe("ui", _referral_move("ui")), Probe("api", _referral_move("api"))],
        },
    ),
    "suspect": Entry(
        find=_thing("suspect"),
        probes={
            "view": [Probe("ui", _get(_case_page), shows=lambda s: f'data-suspect="{s.pk}"'), Probe("api", _get(lambda s: f"/api/v1/suspects/{s.pk}/"))],
            "create": [Probe("ui", _post(lambda s: f"/cases/{s.case_id}/suspects/", lambda s, w: {"label": "matrix suspect"})),
                       Probe("api", _api("post", lambda s: "/api/v1/suspects/", lambda s, w: {"case": s.case_id, "label": "matrix suspect"}))],
            "change": [Probe("ui", _post(lambda s: f"/cases/suspects/{s.pk}/status/", lambda s, w: {"status": "identified"})),
                       Probe("api", _api("patch", lambda s: f"/api/v1/suspects/{s.pk}/", lambda s, w: {"label": "matrix suspect (renamed)"}))],
        },
    ),
    "legal_request": Entry(
        find=_thing("legal_request"),
        probes={
            "view": [Probe("ui", _get(_case_page), shows=lambda q: f'data-legal="{q.pk}"'),
                     Probe("api", _get(lambda q: f"/api/v1/legal-requests/{q.pk}/"))],
            "create": [Probe("ui", _post(lambda q: f"/cases/{q.case_id}/legal/",
                                         lambda q, w: {"provider": "MatrixMail", "kind": "preservation", "legal_basis": "Art. 7 (example)"})),
                       Probe("api", _api("post", lambda q: f"/api/v1/cases/{q.case_id}/legal-requests/",
                                         lambda q, w: {"provider": "MatrixMail", "kind": "preservation", "legal_basis": "Art. 7 (example)"}))],
            "change": [Probe("ui", _legal_answer("ui")), Probe("api", _legal_answer("api"))],
            # The request as a document, in Arabic and in English.
            "export": [Probe("ui", _get(lambda q: f"/cases/legal/{q.pk}/document/?lang=ar"), shows=lambda q: q.provider),
                       Probe("ui", _get(lambda q: f"/cases/legal/{q.pk}/document/?lang=en"), shows=lambda q: q.provider)],
        },
    ),
    "attachment": Entry(
        find=_thing("attachment"),
        probes={
            "view": [Probe("ui", _get(lambda a: f"/cases/{a.case_id}/"), shows=lambda a: f'data-attachment="{a.pk}"'),
                     Probe("api", _get(lambda a: f"/api/v1/attachments/{a.pk}/")),
                     Probe("api", _get(lambda a: f"/api/v1/cases/{a.case_id}/attachments/"), shows=lambda a: f'"id":{a.pk},')],
            "create": [Probe("ui", _post(lambda a: f"/cases/{a.case_id}/attachments/", lambda a, w: {"file": _matrix_file()})),
                       Probe("api", _post(lambda a: f"/api/v1/cases/{a.case_id}/attachments/", lambda a, w: {"file": _matrix_file()}))],
            "export": [Probe("ui", _get(lambda a: f"/cases/attachments/{a.pk}/"), shows=lambda a: f"matrix attachment {_where_of(a)}"),
                       Probe("api", _get(lambda a: f"/api/v1/attachments/{a.pk}/content/"), shows=lambda a: f"matrix attachment {_where_of(a)}")],
        },
    ),
    "portal_message": Entry(
        find=_portal,
        probes={
            # The report page only links to the conversation; reading it is its own page.
            "view": [Probe("ui", _get(lambda p: f"/portal/staff/{p.id}/"), shows=lambda p: p.text),
                     Probe("ui", _get(lambda p: f"/reports/{p.id}/"), shows=lambda p: f'href="/portal/staff/{p.id}/"', hidden=PORTAL_PANEL)],
            "view_identity": [Probe("ui", _get(lambda p: f"/portal/staff/{p.id}/contact/"), shows=lambda p: p.phone),
                              Probe("ui", _get(lambda p: f"/reports/{p.id}/"), shows=lambda p: f'href="/portal/staff/{p.id}/contact/"',
                                    hidden=PORTAL_PANEL)],
            "create": [Probe("ui", _post(lambda p: f"/portal/staff/{p.id}/reply/", lambda p, w: {"text": "matrix reply"}))],
        },
    ),
    # Partner units, their keys and the referrals exchanged with them (SPEC §3.8).
    "partner": Entry(
        find=_thing("partner"),
        probes={
            "view": [Probe("ui", _get(lambda p: "/exchange/partners/"), shows=lambda p: p.fingerprint[:4] + " " + p.fingerprint[4:8], lists=True),
                     Probe("ui", _get(lambda p: "/exchange/referrals/"), shows=lambda p: f'<bdi>{p.name}</bdi>', lists=True)],
            "manage": [Probe("ui", _partner_add, own_only=True),
                       Probe("ui", lambda client, p, world: client.post(f"/exchange/referrals/{_received(p, world).pk}/ack/")),
                       Probe("ui", lambda client, p, world: client.post(f"/exchange/referrals/{_received(p, world).pk}/outcome/",
                                                                        {"kind": "arrest", "text": "matrix"}))],
            "export": [Probe("ui", _refer)],
        },
    ),
    # A unit's figures: the dashboard names the unit whose counts it shows (another unit's never);
    # the XLSX export is about the user's own unit only (there is no other unit's to ask for).
    "statistics": Entry(
        find=lambda world, where: world.units[where].unit,
        probes={
            "view": [Probe("ui", _get(lambda u: "/stats/"), shows=lambda u: f'data-unit="{u.name}"', lists=True)],
            "export": [Probe("ui", _get(lambda u: "/stats/export/"), own_only=True),
                       Probe("ui", _get(lambda u: "/stats/report/"), own_only=True)],  # the national report's form
        },
    ),
}
# Kinds of the table whose objects are still being built, and why nothing can be probed yet:
# listed here until their models exist; a model naming one of them fails
# `test_every_kind_with_models_is_registered`.
NOT_BUILT_YET: dict[str, str] = {}


# ---------------------------------------------------------------- the table itself

def test_the_code_table_is_the_expected_table_cell_by_cell() -> None:
    differ = []
    assert {k.value for k in Kind} == set(EXPECTED), "a kind was added to or removed from the table: add it here too"
    for kind in Kind:
        for action in Action:
            code = {r.value for r in TABLE[kind].get(action, frozenset())}
            mine = EXPECTED[kind.value].get(action.value, set())
            if code != mine:
                differ.append(f"{kind.value}.{action.value}: the code says {sorted(code)}, this test {sorted(mine)}")
    assert not differ, "the table changed:\n" + "\n".join(differ)
    assert {k.value for k, s in SCOPE.items() if s is Scope.NATIONAL} == NATIONAL


def test_every_kind_with_models_is_registered() -> None:
    with_models: dict[str, list[str]] = {}
    for model in apps.get_models():
        kind = getattr(model, "PERMISSION_KIND", None)
        if kind is not None:
            with_models.setdefault(Kind(kind).value, []).append(model._meta.label)
    unregistered = {k: v for k, v in with_models.items() if k not in REGISTRY}
    assert not unregistered, f"kinds with models but no entry in REGISTRY (tests/permissions/test_matrix.py): {unregistered}"
    assert set(REGISTRY) | set(NOT_BUILT_YET) == set(EXPECTED) and not set(REGISTRY) & set(NOT_BUILT_YET)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_action_of_a_registered_kind_is_probed(kind: str) -> None:
    entry = REGISTRY[kind]
    unprobed = set(EXPECTED[kind]) - set(entry.probes) - set(entry.no_surface)
    assert not unprobed, f"{kind}: actions of the table with no probe and no stated reason: {sorted(unprobed)}"
    assert not set(entry.probes) & set(entry.no_surface)


# ---------------------------------------------------------------- the matrix

def may(role: str, kind: str, action: str, where: str) -> bool:
    """The answer the test's own table gives; the national unit is "own"."""
    if role == SUPERUSER or role not in EXPECTED[kind].get(action, set()):
        return False
    return not (kind in NATIONAL and action in {a.value for a in NATIONAL_CHANGES} and where != "own")


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _compact(text: str) -> str:
    return re.sub(r'":\s+', '":', re.sub(r",\s+", ",", text))


def _verdict(probe: Probe, response: Any, obj: Any, *, allowed: bool, other: bool, national: bool) -> str | None:
    """None when the answer is right, else what is wrong."""
    status = response.status_code
    ok = 200 <= status < 400
    body = _compact(_body(response)) if probe.shows and status == 200 else ""
    if other and not national:
        if probe.lists:
            return None if (status in (200, 403) and probe.shows(obj) not in body) else f"another unit's object listed ({status})"
        if probe.role_first and not allowed:
            return None if status == probe.denied else f"{status}, not {probe.denied}, where the role may not (asked before any lookup)"
        return None if status == 404 else f"{status}, not 404, for another unit's object"
    if allowed:
        if not ok:
            return f"{status} where allowed"
        if 300 <= status < 400 and response.get("Location", "").startswith(("/accounts/login", "/accounts/second-factor")):
            return f"{status} to {response['Location']} where allowed (sent to the login, not served)"
        if probe.shows and status == 200 and probe.shows(obj) not in body:
            return "allowed, but not shown"
        return None
    if probe.shows and not probe.lists and status == 200:
        if probe.shows(obj) in body:
            return "shown to a role that may not see it"
        return None if not probe.hidden or any(h in body for h in probe.hidden) else "no placeholder where it is hidden"
    if probe.lists and status == 200:
        return None if probe.shows(obj) not in body else "listed to a role that may not see it"
    return None if status == probe.denied else f"{status}, not {probe.denied}, where the role may not"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Built once for the module, in a transaction rolled back at its end; each test
    (with `db`) runs in a savepoint of it, so what one test changes the next never sees."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def test_matrix_every_kind_role_action_and_unit_through_ui_and_api(db, world: World) -> None:  # type: ignore[no-untyped-def]
    """One world, every cell; every wrong cell is listed (not just the first)."""
    wrong: list[str] = []
    cells = 0
    for kind, entry in REGISTRY.items():
        for action, probes in entry.probes.items():
            for where in ("own", "other"):
                obj = entry.find(world, where)
                national = kind in NATIONAL
                for role in ROLES:
                    # Another unit's object, seen from the own unit's users; a national object, by each unit's users.
                    user_where = where if national else "own"
                    client = world.clients[(role, user_where)]
                    allowed = may(role, kind, action, user_where)
                    for probe in probes:
                        if probe.own_only and where == "other":
                            continue
                        cells += 1
                        response = probe.call(client, obj, world)
                        problem = _verdict(probe, response, obj, allowed=allowed, other=where == "other", national=national)
                        if problem:
                            wrong.append(f"{kind}.{action} {probe.via} as {role} ({where} unit): {problem}")
    assert cells > 300
    assert not wrong, f"{len(wrong)} of {cells} cells wrong:\n" + "\n".join(wrong)


def test_victim_identity_for_investigators_and_prosecutors_only_on_their_cases(db, world: World) -> None:  # type: ignore[no-untyped-def]
    """The matrix sees investigators and prosecutors as the case's assignees (the world
    assigns them); one of the unit who is not assigned sees the victim but not who the
    child is (SPEC §4.3; himaya.cases.services.may_view_identity)."""
    from himaya.accounts.models import User
    from tests.auth_helpers import login_verified

    own = world.units["own"]
    victim = own.objects["victim"]
    for role in (INV, PROS):
        for who, client in (("assigned", world.clients[(role, "own")]),
                            ("not assigned", login_verified(Client(), User.objects.create(username=f"{role}-not-assigned", unit=own.unit,
                                                                                          roles=[role])))):
            page, api = client.get(f"/cases/{victim.case_id}/"), client.get(f"/api/v1/victims/{victim.pk}/")
            assert page.status_code == api.status_code == 200, (role, who)
            shown = who == "assigned"
            assert (CASE_VICTIM_LAST in page.content.decode(), CASE_VICTIM_BORN in page.content.decode()) == (shown, shown), (role, who)
            assert (api.json()["last_name"], api.json()["date_of_birth"], api.json()["identity_shown"]) == (
                (CASE_VICTIM_LAST, CASE_VICTIM_BORN, True) if shown else (None, None, False)), (role, who)
