"""Lockout and throttling of failed authentications (SPEC §3.10).

Counted per key in `AuthFailure`: an account name (the login: wrong passwords and
wrong second-factor codes), a provider's reporter name (/ispws/), and an address
per channel (login, API tokens, provider API). A key that reaches its limit within
the window is locked for HIMAYA_LOCKOUT_MINUTES: while locked, even the right
credentials are refused. A supervisor's unlock (services.user_unlock) or the lock's
expiry ends it; a complete login clears the account's count.

Why not django-axes: it has one failure limit for all its lockout parameters (an
account and an address could not have 20 and 100), and it hooks into Django's
login only; the API tokens and the provider API have their own authentication, and
the provider API's fast path must not read the database per successful request.

Nothing is written on success; a failure writes one row in its own transaction.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from himaya.accounts.models import AuthFailure

Scope = AuthFailure.Scope
ACCOUNT_SCOPES = frozenset({Scope.USER, Scope.REPORTER})


def limit(scope: str) -> int:
    if scope in ACCOUNT_SCOPES:
        return settings.HIMAYA_LOCKOUT_ACCOUNT_FAILURES
    return settings.HIMAYA_LOCKOUT_ADDRESS_FAILURES


def lock_duration() -> timedelta:
    return timedelta(minutes=settings.HIMAYA_LOCKOUT_MINUTES)


def _key(key: str | None) -> str:
    return (key or "")[:200]


def lock_end(*pairs: tuple[str, str | None]) -> datetime | None:
    """When the last lock among these (scope, key) ends, or None if none is locked now. One query."""
    query = Q()
    for scope, key in pairs:
        if key:
            query |= Q(scope=scope, key=_key(key))
    if not query:
        return None
    return AuthFailure.objects.filter(query, locked_until__gt=timezone.now()).aggregate(end=Max("locked_until"))["end"]


def locked(*pairs: tuple[str, str | None]) -> bool:
    """Is any of these (scope, key) locked now?"""
    return lock_end(*pairs) is not None


def failure_record(*, scope: str, key: str | None) -> bool:
    """Count one failure for the key; returns True when this failure locked it."""
    if not key:
        return False
    key = _key(key)
    now = timezone.now()
    with transaction.atomic():
        row, _ = AuthFailure.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults=dict(first_at=now, last_at=now))
        if (row.locked_until is not None and row.locked_until <= now) or (
                row.locked_until is None and row.first_at < now - lock_duration()):
            row.failures, row.first_at, row.locked_until = 0, now, None  # a new window
        row.failures += 1
        row.last_at = now
        newly = row.locked_until is None and row.failures >= limit(scope)
        if newly:
            row.locked_until = now + lock_duration()
        row.save()
        if newly:
            _lock_event(scope=scope, key=key, failures=row.failures, until=row.locked_until)
    if secrets.randbelow(100) == 0:
        _forget_old(now)
    return newly


def _forget_old(now: datetime) -> int:
    """Rows of keys that failed long ago and are not locked: a spray of made-up names
    must not grow the table for ever (done now and then, on a failure)."""
    stale = now - 2 * lock_duration()
    return AuthFailure.objects.filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now), last_at__lt=stale).delete()[0]


def failures_clear(*, scope: str, key: str | None) -> int:
    if not key:
        return 0
    return AuthFailure.objects.filter(scope=scope, key=_key(key)).delete()[0]


def _lock_event(*, scope: str, key: str, failures: int, until: datetime) -> None:
    from himaya.accounts import events
    from himaya.accounts.models import Reporter, User

    if scope == Scope.USER:
        events.user_locked_event(username=key, user=User.objects.filter(username=key).first(), failures=failures, until=until)
    elif scope == Scope.REPORTER:
        events.reporter_locked_event(username=key, reporter=Reporter.objects.filter(username=key).first(), failures=failures, until=until)
    else:
        events.address_throttled_event(scope=scope, address=key, failures=failures, until=until)


def client_address(request: object) -> str:
    """The client's address: REMOTE_ADDR, or behind a reverse proxy the header it sets
    (HIMAYA_CLIENT_ADDRESS_HEADER, e.g. X-Real-IP; trust it only if the proxy always
    sets it). Lockouts count per address: behind a proxy, without it, every client
    would share the proxy's."""
    meta = getattr(request, "META", {})
    header = settings.HIMAYA_CLIENT_ADDRESS_HEADER
    if header:
        value = meta.get("HTTP_" + header.upper().replace("-", "_"), "").split(",")[0].strip()
        if value:
            return value[:200]
    return meta.get("REMOTE_ADDR", "") or "unknown"
