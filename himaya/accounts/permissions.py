"""Who may do what: the one table (SPEC §1, §3.10).

Every selector starts from `restrict(queryset, user, action)`; every service
calls `check(...)` (or `require(...)`) itself, so a caller cannot forget; views,
templates (the `may` filter), the API and the commands ask `allowed(...)` the
same question. Nothing else in the code decides permission by role.

The answer has two parts:

* the **role** part: `TABLE[kind][action]` is the set of roles that may do it;
  a user with none of them gets 403 (`PermissionDenied`);
* the **unit** part: an object of another unit does not exist for the user
  (404, `Http404`), and is never counted. `scope` says how a kind belongs to a
  unit: `UNIT` (through `UNIT_PATH`, a field path on the model), `NATIONAL`
  (shared by every unit of the installation: hash lists, the triage rule set —
  everyone reads them, only supervisors of the national unit change them), or
  `OWNER` (a user's own things, such as API tokens; supervisors manage those of
  their unit).

A model joins the table by naming its kind and unit path as class attributes:

    class Report(models.Model):
        PERMISSION_KIND = Kind.REPORT
        UNIT_PATH = "unit"

A superuser has no implicit access to case data (need-to-know): operators work
through the command line, and staff through roles.

Some actions need more than a role: seeing media also needs the explicit
`media.view_media` grant (never an auditor), and a locked file a recorded
warrant. Those conditions live with the media selectors and are asked after
this table.
"""
from __future__ import annotations

import enum
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from himaya.accounts.models import Role


class Action(enum.StrEnum):
    VIEW = "view"                    # see the object (lists, pages, API reads)
    VIEW_IDENTITY = "view_identity"  # see who a person is: names, dates of birth, contact
    VIEW_MEDIA = "view_media"        # see a file's pixels (plus the explicit grant)
    CREATE = "create"
    CHANGE = "change"
    ASSIGN = "assign"                # give work to people
    EXPORT = "export"                # take it out of the system (files, CSV, documents)
    MANAGE = "manage"                # administer: accounts, lists, rules, unlocks


class Kind(enum.StrEnum):
    # what exists now
    REPORT = "report"
    MEDIA = "media"                  # a report's files: their hashes follow the report, pixels need VIEW_MEDIA
    TRIAGE = "triage"                # a report's priority, its overrides and reviews
    LINK = "link"                    # links between reports, clusters, "not the same person"
    HASH_LIST = "hash_list"
    RULE_SET = "rule_set"
    AUDIT_EVENT = "audit_event"
    USER = "user"
    REPORTER = "reporter"            # a provider's machine account
    API_TOKEN = "api_token"
    # cases (SPEC §3.6)
    CASE = "case"
    TASK = "task"
    VICTIM = "victim"
    REFERRAL = "referral"
    SUSPECT = "suspect"
    LEGAL_REQUEST = "legal_request"
    ATTACHMENT = "attachment"        # a case's files (warrants, answers, consent forms)
    # statistics (SPEC §3.7), portal (§3.9), exchange (§3.8)
    STATISTICS = "statistics"
    PORTAL_MESSAGE = "portal_message"
    PARTNER = "partner"


class Scope(enum.StrEnum):
    UNIT = "unit"
    NATIONAL = "national"
    OWNER = "owner"


IA, INV, PROS, CP, SUP, AUD = (Role.INTAKE_ANALYST, Role.INVESTIGATOR, Role.PROSECUTOR, Role.CHILD_PROTECTION,
                               Role.SUPERVISOR, Role.AUDITOR)
EVERYONE = frozenset(Role)
WORKERS = frozenset({IA, INV, PROS, CP, SUP})  # everyone but the auditor (read-only, no media, no identities)


def _r(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


# kind -> action -> roles. An action missing from a kind's row is allowed to nobody.
TABLE: dict[Kind, dict[Action, frozenset[Role]]] = {
    Kind.REPORT: {
        Action.VIEW: EVERYONE,
        Action.VIEW_IDENTITY: WORKERS,
        Action.EXPORT: _r(INV, PROS, SUP),
    },
    Kind.MEDIA: {
        Action.VIEW: EVERYONE,                # hashes, verdicts, matches
        Action.VIEW_MEDIA: WORKERS,           # and the explicit grant
        Action.CHANGE: _r(INV, PROS, SUP),    # record a legal authorisation (and the explicit grant)
    },
    Kind.TRIAGE: {
        Action.VIEW: EVERYONE,
        Action.CHANGE: _r(IA, SUP),           # override priority or classification, mark reviewed
    },
    Kind.LINK: {
        Action.VIEW: EVERYONE,
        Action.CHANGE: _r(IA, SUP),           # "not the same person", and undoing it
    },
    Kind.HASH_LIST: {
        Action.VIEW: EVERYONE,
        Action.EXPORT: _r(SUP),
        Action.MANAGE: _r(SUP),               # of the national unit only (Scope.NATIONAL)
    },
    Kind.RULE_SET: {
        Action.VIEW: EVERYONE,
        Action.MANAGE: _r(SUP),               # of the national unit only (Scope.NATIONAL)
    },
    Kind.AUDIT_EVENT: {
        Action.VIEW: _r(AUD, SUP),
        Action.EXPORT: _r(AUD, SUP),
    },
    Kind.USER: {
        Action.VIEW: _r(SUP, AUD),
        Action.MANAGE: _r(SUP),               # create, roles, deactivate, reset second factor, unlock
    },
    Kind.REPORTER: {
        Action.VIEW: _r(SUP, AUD),
        Action.MANAGE: _r(SUP),
    },
    Kind.API_TOKEN: {
        Action.VIEW: EVERYONE,                # one's own (Scope.OWNER); supervisors: their unit's
        Action.CREATE: EVERYONE,
        Action.CHANGE: EVERYONE,              # revoke one's own
        Action.MANAGE: _r(SUP),               # revoke anyone's in the unit
    },
    Kind.CASE: {
        Action.VIEW: EVERYONE,
        Action.CREATE: _r(IA, INV, SUP),
        Action.CHANGE: _r(INV, PROS, SUP),    # status moves, notes, attachments, deadlines, merges
        Action.ASSIGN: _r(SUP),
        Action.EXPORT: _r(INV, PROS, SUP, AUD),
    },
    Kind.TASK: {
        Action.VIEW: EVERYONE,
        Action.CREATE: _r(INV, PROS, CP, SUP),
        Action.CHANGE: _r(INV, PROS, CP, SUP),
    },
    Kind.VICTIM: {
        Action.VIEW: EVERYONE,
        Action.VIEW_IDENTITY: _r(CP, INV, PROS, SUP),  # SPEC §4.3; investigators and prosecutors of the case
        Action.CREATE: _r(CP, INV, SUP),
        Action.CHANGE: _r(CP, INV, SUP),
    },
    Kind.REFERRAL: {
        Action.VIEW: EVERYONE,
        Action.CREATE: _r(CP, SUP),
        Action.CHANGE: _r(CP, SUP),
    },
    Kind.SUSPECT: {
        Action.VIEW: EVERYONE,
        Action.CREATE: _r(INV, PROS, SUP),
        Action.CHANGE: _r(INV, PROS, SUP),
    },
    Kind.LEGAL_REQUEST: {
        Action.VIEW: EVERYONE,
        Action.CREATE: _r(INV, PROS, SUP),
        Action.CHANGE: _r(INV, PROS, SUP),
        Action.EXPORT: _r(INV, PROS, SUP),
    },
    Kind.ATTACHMENT: {
        Action.VIEW: EVERYONE,                # that it exists: name, size, who, when
        Action.CREATE: _r(INV, PROS, CP, SUP),
        Action.EXPORT: WORKERS,               # its content (not the auditor, who sees no files)
    },
    Kind.STATISTICS: {
        Action.VIEW: _r(SUP, AUD, PROS, IA),
        Action.EXPORT: _r(SUP, AUD),
    },
    Kind.PORTAL_MESSAGE: {
        Action.VIEW: _r(IA, CP, SUP),         # the reporter's words and contact (audited)
        Action.VIEW_IDENTITY: _r(IA, CP, SUP),
        Action.CREATE: _r(IA, CP, SUP),       # answer the reporter
    },
    Kind.PARTNER: {
        Action.VIEW: _r(SUP, AUD, INV, PROS),
        Action.MANAGE: _r(SUP),               # keys, partners, referral packages
        Action.EXPORT: _r(SUP),
    },
}

SCOPE: dict[Kind, Scope] = {kind: Scope.UNIT for kind in Kind} | {
    Kind.HASH_LIST: Scope.NATIONAL,
    Kind.RULE_SET: Scope.NATIONAL,
    Kind.API_TOKEN: Scope.OWNER,
}
# National kinds: who may change them besides holding the role (a supervisor of the national unit).
NATIONAL_CHANGES = frozenset({Action.CREATE, Action.CHANGE, Action.MANAGE})


class Operator(str):
    """Whoever runs a `himaya` command on the server. The operator acts for the
    installation (they hold the database and the keys anyway): the table does not
    restrict them, and the audit log records them by this name (`cli`). Services
    that change things take `actor: User | Operator`; only commands pass one."""


OPERATOR = Operator("cli")


def roles_of(user: Any) -> frozenset[Role]:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    if getattr(user, "unit_id", None) is None:
        return frozenset()  # a staff member belongs to a unit, or sees nothing
    return frozenset(Role(r) for r in (user.roles or []) if r in Role.values)


def allowed(user: Any, action: Action | str, kind: Kind | str) -> bool:
    """May the user's roles do this to objects of this kind (of their own unit)?"""
    action, kind = Action(action), Kind(kind)
    if isinstance(user, Operator):
        return True
    if not roles_of(user) & TABLE[kind].get(action, frozenset()):
        return False
    if SCOPE[kind] is Scope.NATIONAL and action in NATIONAL_CHANGES:
        return bool(getattr(user.unit, "is_national", False))
    return True


def _kind_of(model: type[Model]) -> Kind:
    kind = getattr(model, "PERMISSION_KIND", None)
    if kind is None:
        raise ImproperlyConfigured(f"{model._meta.label} has no PERMISSION_KIND: add it to himaya.accounts.permissions")
    return Kind(kind)


def restrict(queryset: QuerySet[Any], user: Any, action: Action | str = Action.VIEW) -> QuerySet[Any]:
    """The objects of `queryset` the user may do `action` to: none at all when the
    role may not, else those of the user's unit (all, for a national kind; the
    user's own, or the unit's for a manager, for an owner kind)."""
    if not allowed(user, action, _kind_of(queryset.model)):
        return queryset.none()
    return _in_scope(queryset, user)


def _in_scope(queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """The unit part alone: the objects that exist for this user, whatever the role."""
    model = queryset.model
    kind = _kind_of(model)
    scope = SCOPE[kind]
    if scope is Scope.NATIONAL or isinstance(user, Operator):
        return queryset
    path = getattr(model, "UNIT_PATH", None)
    unit_id = getattr(user, "unit_id", None)
    if unit_id is None:
        return queryset.none()
    if scope is Scope.OWNER:
        owner = getattr(model, "OWNER_PATH", "user")
        if allowed(user, Action.MANAGE, kind) and path:
            return queryset.filter(**{path: unit_id})
        return queryset.filter(**{owner: user.pk})
    if path is None:
        raise ImproperlyConfigured(f"{model._meta.label} has no UNIT_PATH")
    return queryset.filter(**{path: unit_id})


def unit_of(obj: Model) -> int | None:
    """The id of the unit an object belongs to, following its UNIT_PATH."""
    path = getattr(type(obj), "UNIT_PATH", None)
    if path is None:
        return None
    value: Any = obj
    parts = path.split("__")
    for i, part in enumerate(parts):
        if i == len(parts) - 1:
            return getattr(value, part if part.endswith("_id") else f"{part}_id", None) if value is not None else None
        value = getattr(value, part, None)
    return None


def check(user: Any, action: Action | str, kind: Kind | str, obj: Model | None = None) -> None:
    """Raise unless allowed: Http404 for an object of another unit (it does not exist
    for this user, whatever the role), PermissionDenied (403) for a role that may not."""
    kind = Kind(kind)
    if isinstance(user, Operator):
        return
    if obj is not None and SCOPE[kind] is Scope.UNIT:
        if getattr(user, "unit_id", None) is None or unit_of(obj) != user.unit_id:
            raise Http404("not found")
    if not allowed(user, action, kind):
        raise PermissionDenied(f"{action} {kind}")


def get_for(queryset: QuerySet[Any], user: Any, action: Action | str = Action.VIEW, **lookup: Any) -> Any:
    """One object of the user's unit, else 404 whatever the role; then 403 if the
    role may not see it or do `action`.

    The order matters: a user must not learn from a 403 that another unit's object
    exists, so the unit decides first (as `check` does)."""
    kind = _kind_of(queryset.model)
    obj = _in_scope(queryset, user).filter(**lookup).first()
    if obj is None:
        raise Http404("not found")
    for needed in {Action.VIEW, Action(action)}:
        if not allowed(user, needed, kind):
            raise PermissionDenied(f"{needed} {kind}")
    return obj
