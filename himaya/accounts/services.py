from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from himaya.accounts import events, throttle
from himaya.accounts.models import ApiToken, AuthFailure, Reporter, Role, Unit, User
from himaya.accounts.permissions import Action, Kind, check

INTAKE_UNIT_CODE = "intake"


class AccountError(Exception):
    pass


@transaction.atomic
def unit_get_or_create(*, code: str | None = None) -> Unit:
    if code is None:
        unit = Unit.objects.filter(is_intake=True).order_by("id").first()
        if unit:
            return unit
        code = INTAKE_UNIT_CODE
    unit, created = Unit.objects.get_or_create(
        code=code,
        defaults=dict(name=code.replace("-", " ").title(), country=settings.HIMAYA_COUNTRY, is_intake=code == INTAKE_UNIT_CODE,
                      is_national=code == INTAKE_UNIT_CODE),
    )
    if created:
        events.unit_created_event(unit=unit)
    return unit


@transaction.atomic
def reporter_create(*, username: str, password: str, unit_code: str | None = None, actor: object = None) -> Reporter:
    if not username or not username.strip():
        raise AccountError(_("the reporter name must not be empty"))
    if len(username) > Reporter._meta.get_field("username").max_length or ":" in username:
        raise AccountError(_("a reporter name has at most 150 characters and no colon (HTTP Basic authentication)"))
    try:
        validate_password(password)  # the settings' validators, as for staff
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from None
    unit = unit_get_or_create(code=unit_code)
    reporter, created = Reporter.objects.update_or_create(username=username, defaults=dict(password=make_password(password), unit=unit, is_active=True))
    (events.reporter_created_event if created else events.reporter_password_set_event)(actor=actor, reporter=reporter)
    _auth_cache_clear()
    return reporter


@transaction.atomic
def reporter_set_active(*, reporter: Reporter, active: bool, actor: object = None) -> Reporter:
    """Suspend (or restore) a provider: it still authenticates, but may not submit or update."""
    reporter.is_active = active
    reporter.save(update_fields=["is_active"])
    (events.reporter_restored_event if active else events.reporter_suspended_event)(actor=actor, reporter=reporter)
    _auth_cache_clear()
    return reporter


def _is_operator(actor: object) -> bool:
    """The operator's command line (`"cli"`, `permissions.OPERATOR`), the demo loader or
    the system (None): code run on the server, trusted; never a web request."""
    return actor is None or isinstance(actor, str)


def _roles_clean(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise AccountError(_("unknown role(s): %(unknown)s; choose from %(roles)s") % {"unknown": ", ".join(unknown), "roles": ", ".join(Role.values)})
    if not roles:
        raise AccountError(_("a user needs at least one role"))
    return sorted(set(roles))


def _unit_for(*, unit_code: str | None, create_unit: bool) -> Unit:
    """The named unit; an unknown code is refused unless the caller says to create it
    (a typo must not make a new, empty unit). No code: the intake unit, as always."""
    if unit_code is None:
        return unit_get_or_create()
    unit = Unit.objects.filter(code=unit_code).first()
    if unit is not None:
        return unit
    if not create_unit:
        known = ", ".join(Unit.objects.order_by("code").values_list("code", flat=True)) or "—"
        raise AccountError(_("there is no unit %(code)s (units: %(known)s); to create it, say so (--create-unit)") % {"code": unit_code, "known": known})
    try:
        validate_slug(unit_code)
    except ValidationError:
        raise AccountError(_("a unit code has only letters, digits, hyphens and underscores: %(code)s") % {"code": unit_code}) from None
    return unit_get_or_create(code=unit_code)


def _username_clean(username: str) -> str:
    if not username or not username.strip():
        raise AccountError(_("the user name must not be empty"))
    if len(username) > User._meta.get_field("username").max_length:
        raise AccountError(_("the user name is too long"))
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from None
    return username


@transaction.atomic
def user_create(*, username: str, password: str, roles: list[str], unit_code: str | None = None, create_unit: bool = True,
                full_name: str = "", actor: object = None) -> User:
    """A staff account. A supervisor (a `User` actor) creates new users in their own unit
    only; the operator (`himaya create_user`) and the demo may also set an existing
    user's password, roles and unit again. The password passes the configured
    validators; the second factor is enrolled by the user at first login.

    `create_unit`: whether an unknown `unit_code` makes a new unit (the command line
    passes its `--create-unit`); kept True by default for the callers that make
    their units this way."""
    if not _is_operator(actor):
        check(actor, Action.MANAGE, Kind.USER)
    username = _username_clean(username)
    roles = _roles_clean(roles)
    full_name = full_name.strip()
    if not _is_operator(actor):
        if unit_code is not None and unit_code != actor.unit.code:  # type: ignore[attr-defined]
            raise AccountError(_("a supervisor creates users of their own unit only"))
        if User.objects.filter(username__iexact=username).exists():
            raise AccountError(_("a user named %(name)s already exists") % {"name": username})
    try:
        validate_password(password, user=User(username=username, first_name=full_name))
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from None
    unit = _unit_for(unit_code=unit_code, create_unit=create_unit) if _is_operator(actor) else actor.unit  # type: ignore[attr-defined]
    user, created = User.objects.get_or_create(username=username, defaults=dict(unit=unit))
    user.unit = unit
    user.roles = roles
    if full_name or created:
        # One field for a whole name (Arabic names do not split into first and last).
        user.first_name, user.last_name = full_name, ""
    user.set_password(password)
    user.save()
    if created:
        events.user_created_event(actor=actor, user=user)
    else:
        events.user_updated_event(actor=actor, user=user)
    return user


@transaction.atomic
def user_set_roles(*, actor: object, user: User, roles: list[str]) -> User:
    """A supervisor of the user's unit (or the operator) sets the user's roles. A supervisor
    keeps their own supervisor role: the unit is never left without the one changing it."""
    if not _is_operator(actor):
        check(actor, Action.MANAGE, Kind.USER, user)
    roles = _roles_clean(roles)
    user = User.objects.select_for_update().get(pk=user.pk)
    old = list(user.roles or [])
    if not _is_operator(actor) and user.pk == actor.pk and Role.SUPERVISOR in old and Role.SUPERVISOR not in roles:  # type: ignore[attr-defined]
        raise AccountError(_("you cannot remove your own supervisor role; another supervisor can"))
    if sorted(old) == roles:
        return user
    user.roles = roles
    user.save(update_fields=["roles"])
    events.user_roles_changed_event(actor=actor, user=user, old=old, new=roles)
    return user


@transaction.atomic
def user_set_active(*, actor: object, user: User, active: bool) -> User:
    """Deactivate (or reactivate) an account: an inactive user cannot log in, and their
    sessions and API tokens stop working at the next request. Nothing is deleted.
    A supervisor cannot deactivate themselves."""
    if not _is_operator(actor):
        check(actor, Action.MANAGE, Kind.USER, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not active and not _is_operator(actor) and user.pk == actor.pk:  # type: ignore[attr-defined]
        raise AccountError(_("you cannot deactivate your own account; another supervisor can"))
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    if active:
        events.user_reactivated_event(actor=actor, user=user)
    else:
        events.user_deactivated_event(actor=actor, user=user)
    return user


@transaction.atomic
def user_second_factor_reset(*, actor: User, user: User) -> None:
    """Remove the user's TOTP devices and recovery codes: at the next login the user
    enrols again, and sessions verified with the removed device are no longer verified."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from himaya.accounts.models import AuthenticatorDevice

    check(actor, Action.MANAGE, Kind.USER, user)
    devices = AuthenticatorDevice.objects.filter(user=user).delete()[1].get("accounts.AuthenticatorDevice", 0)
    devices += TOTPDevice.objects.filter(user=user).delete()[1].get("otp_totp.TOTPDevice", 0)  # a plain seed (none since 0005)
    devices += StaticDevice.objects.filter(user=user).delete()[1].get("otp_static.StaticDevice", 0)
    events.user_second_factor_reset_event(actor=actor, user=user, devices=devices)


@transaction.atomic
def user_unlock(*, actor: User, user: User) -> None:
    """End the lockout of the account (failed passwords or second-factor codes)."""
    check(actor, Action.MANAGE, Kind.USER, user)
    cleared = throttle.failures_clear(scope=AuthFailure.Scope.USER, key=user.username)
    events.user_unlocked_event(actor=actor, user=user, cleared=cleared)


TOKEN_PREFIX = "hmy_"
TOKEN_MAX_DAYS = 3650


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _token_issue(*, actor: object, user: User, name: str, days: int | None) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise AccountError(_("A token needs a name."))
    if len(name) > 100:
        raise AccountError(_("A token's name has at most 100 characters."))
    days = settings.HIMAYA_API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= TOKEN_MAX_DAYS:
        raise AccountError(_("A token is valid for 1 to %(max)d days.") % {"max": TOKEN_MAX_DAYS})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=token_digest(raw), prefix=raw[:len(TOKEN_PREFIX) + 4],
                                    expires_at=timezone.now() + timedelta(days=days))
    events.token_created_event(actor=actor, token=token)
    return token, raw


@transaction.atomic
def token_create(*, username: str, name: str = "command line", days: int | None = None, actor: object = None) -> str:
    """An API token for the user, made by the operator (`himaya create_token`); returns it (shown once)."""
    try:
        user = User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise AccountError(_("no active user named %(name)r") % {"name": username}) from None
    return _token_issue(actor=actor, user=user, name=name, days=days)[1]


@transaction.atomic
def api_token_create(*, actor: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A user makes a token for themself (the "my API tokens" page); returns it with the token, shown once."""
    check(actor, Action.CREATE, Kind.API_TOKEN)
    return _token_issue(actor=actor, user=actor, name=name, days=days)


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """One's own token, or (a supervisor) any token of the unit."""
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.user_id == actor.pk:
        check(actor, Action.CHANGE, Kind.API_TOKEN)
    else:
        if getattr(actor, "unit_id", None) is None or token.user.unit_id != actor.unit_id:
            raise Http404("not found")
        check(actor, Action.MANAGE, Kind.API_TOKEN)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        events.token_revoked_event(actor=actor, token=token)
    return token


# Argon2 is deliberately slow (tens of ms); a provider sends thousands of requests
# with the same credentials. A successful check is remembered, keyed by an HMAC of
# the password so the password itself is never kept in memory: for a few seconds
# without touching the database, then for minutes as long as the stored hash is
# unchanged. A suspension or password change takes effect within REFRESH seconds.
_AUTH_TTL_SECONDS = 300
_AUTH_REFRESH_SECONDS = 5
_auth_cache: dict[str, tuple[bytes, Reporter, float, float]] = {}
_auth_lock = threading.Lock()
_auth_pepper = hashlib.sha256(settings.SECRET_KEY.encode() + b"reporter-auth-cache").digest() if settings.configured else b""


def _auth_cache_clear() -> None:
    with _auth_lock:
        _auth_cache.clear()


class AuthThrottled(Exception):
    """Too many failed authentications for this name or from this address: refused,
    even with the right credentials, until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


def _reporter_lock_end(username: str, address: str | None) -> datetime | None:
    return throttle.lock_end((AuthFailure.Scope.REPORTER, username), (AuthFailure.Scope.PROVIDER_ADDRESS, address))


def reporter_authenticate(*, username: str, password: str, address: str | None = None) -> Reporter | None:
    """Returns the reporter for valid credentials, active or suspended (the caller decides).

    Failures are counted per reporter name and per address (himaya.accounts.throttle);
    a locked name or address raises AuthThrottled. The lock is read only where the
    database is read anyway (a cache miss, or the refresh every REFRESH seconds), so
    a successful request within REFRESH seconds of the last check reads nothing, and
    a lock takes effect on a name's cached credentials within REFRESH seconds."""
    mac = hmac.new(_auth_pepper, password.encode(), hashlib.sha256).digest()
    now = time.monotonic()
    with _auth_lock:
        hit = _auth_cache.get(username)
    if hit and hmac.compare_digest(hit[0], mac) and now - hit[3] < _AUTH_TTL_SECONDS:
        if now - hit[2] < _AUTH_REFRESH_SECONDS:
            return hit[1]
        fresh = Reporter.objects.select_related("unit").filter(username=username).first()
        if fresh is not None and fresh.password == hit[1].password:
            until = _reporter_lock_end(username, address)
            if until is not None:
                raise AuthThrottled(until)
            with _auth_lock:
                _auth_cache[username] = (mac, fresh, now, hit[3])
            return fresh
    until = _reporter_lock_end(username, address)
    if until is not None:
        raise AuthThrottled(until)  # before Argon2: a locked name costs the server nothing
    reporter = Reporter.objects.select_related("unit").filter(username=username).first()
    if reporter is None:
        make_password(password)  # same cost for unknown names: no user enumeration by timing
    if reporter is None or not check_password(password, reporter.password):
        throttle.failure_record(scope=AuthFailure.Scope.REPORTER, key=username)
        throttle.failure_record(scope=AuthFailure.Scope.PROVIDER_ADDRESS, key=address)
        return None
    with _auth_lock:
        _auth_cache[username] = (mac, reporter, now, now)
    return reporter
