from __future__ import annotations

import hashlib
import hmac
import threading
import time

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from rest_framework.authtoken.models import Token

from himaya.accounts.models import Reporter, Role, Unit, User
from himaya.audit.services import audit_record

INTAKE_UNIT_CODE = "intake"


class AccountError(Exception):
    pass


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
        audit_record(actor=None, action="unit.created", target=unit, unit_id=unit.id, data={"code": code})
    return unit


@transaction.atomic
def reporter_create(*, username: str, password: str, unit_code: str | None = None, actor: object = None) -> Reporter:
    if not username.strip():
        raise AccountError("the reporter name must not be blank")
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    unit = unit_get_or_create(code=unit_code)
    reporter, created = Reporter.objects.update_or_create(username=username, defaults=dict(password=make_password(password), unit=unit, is_active=True))
    audit_record(actor=actor, action="reporter.created" if created else "reporter.password_set", target=reporter, unit_id=unit.id, data={"username": username})
    _auth_cache_clear()
    return reporter


@transaction.atomic
def reporter_set_active(*, reporter: Reporter, active: bool, actor: object = None) -> Reporter:
    """Suspend (or restore) a provider: it still authenticates, but may not submit or update."""
    reporter.is_active = active
    reporter.save(update_fields=["is_active"])
    audit_record(actor=actor, action="reporter.restored" if active else "reporter.suspended", target=reporter, unit_id=reporter.unit_id)
    _auth_cache_clear()
    return reporter


@transaction.atomic
def user_create(*, username: str, password: str, roles: list[str], unit_code: str | None = None, actor: object = None) -> User:
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise AccountError(f"unknown role(s): {', '.join(unknown)}; choose from {', '.join(Role.values)}")
    if not roles:
        raise AccountError("a user needs at least one role")
    unit = unit_get_or_create(code=unit_code)
    user, created = User.objects.get_or_create(username=username, defaults=dict(unit=unit))
    user.unit = unit
    user.roles = sorted(set(roles))
    user.set_password(password)
    user.save()
    audit_record(actor=actor, action="user.created" if created else "user.updated", target=user, unit_id=unit.id, data={"username": username, "roles": user.roles})
    return user


@transaction.atomic
def token_create(*, username: str, actor: object = None) -> str:
    try:
        user = User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise AccountError(f"no active user named {username!r}") from None
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_record(actor=actor, action="token.created", target=user, unit_id=user.unit_id)
    return token.key


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


def reporter_authenticate(*, username: str, password: str) -> Reporter | None:
    """Returns the reporter for valid credentials, active or suspended (the caller decides)."""
    mac = hmac.new(_auth_pepper, password.encode(), hashlib.sha256).digest()
    now = time.monotonic()
    with _auth_lock:
        hit = _auth_cache.get(username)
    if hit and hmac.compare_digest(hit[0], mac) and now - hit[3] < _AUTH_TTL_SECONDS:
        if now - hit[2] < _AUTH_REFRESH_SECONDS:
            return hit[1]
        fresh = Reporter.objects.select_related("unit").filter(username=username).first()
        if fresh is not None and fresh.password == hit[1].password:
            with _auth_lock:
                _auth_cache[username] = (mac, fresh, now, hit[3])
            return fresh
    reporter = Reporter.objects.select_related("unit").filter(username=username).first()
    if reporter is None:
        make_password(password)  # same cost for unknown names: no user enumeration by timing
        return None
    if not check_password(password, reporter.password):
        return None
    with _auth_lock:
        _auth_cache[username] = (mac, reporter, now, now)
    return reporter
