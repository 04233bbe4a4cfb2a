"""Rate limits and the proof of work's bookkeeping, in the database (no Redis
needed on the embedded default). Addresses are kept only as a keyed hash, in
counters of fixed windows that are swept once old.

What a flood costs us: a request without a solved proof of work is refused
before any of this runs (pow.verify is one HMAC and one SHA-256), so it writes
nothing; only solved submissions, challenges and receipt attempts count here.
"""
from __future__ import annotations

import ipaddress
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from himaya.accounts.throttle import client_address
from himaya.portal.conf import setting
from himaya.portal.models import PortalCounter, PowSpent
from himaya.portal.pow import MAX_AGE_SECONDS

DEFAULTS = {
    "challenges": (60, 600),  # challenges (form pages) per address per 10 minutes
    "submissions": (10, 3600),  # solved submissions per address per hour
    "wrong_receipts": (10, 900),  # wrong receipts per address per 15 minutes, then wait
    "replies": (30, 3600),  # messages from one reporter per hour
}
GLOBAL_BUSY = 300  # challenges a minute, across all addresses, beyond which the work doubles and more


def clock() -> float:
    return time.time()


def limit(kind: str) -> tuple[int, int]:
    return getattr(settings, "HIMAYA_PORTAL_LIMITS", {}).get(kind, DEFAULTS[kind])


def address_of(request: HttpRequest) -> str:
    """A keyed hash of the client address (an IPv6 client by its /64). The address
    is the one the lockouts use, so behind a reverse proxy (HIMAYA_CLIENT_ADDRESS_HEADER)
    clients are not all counted as the proxy."""
    raw = client_address(request)
    try:
        ip = ipaddress.ip_address(raw)
        if ip.version == 6:
            raw = str(ipaddress.ip_network(f"{ip}/64", strict=False))
    except ValueError:
        pass
    return salted_hmac("himaya.portal.address", raw, algorithm="sha256").hexdigest()[:32]


def _window(seconds: int, now: float) -> int:
    return int(now // seconds) * seconds


def count(kind: str, who: str, *, now: float | None = None) -> int:
    _, seconds = limit(kind)
    now = now if now is not None else clock()
    return PortalCounter.objects.filter(key=f"{kind}:{who}", window=_window(seconds, now)).aggregate(n=Sum("count"))["n"] or 0


def over(kind: str, who: str, *, now: float | None = None) -> bool:
    return count(kind, who, now=now) >= limit(kind)[0]


def hit(kind: str, who: str, *, now: float | None = None) -> int:
    """Count one more; the count in the current window after it."""
    _, seconds = limit(kind)
    now = now if now is not None else clock()
    key, window = f"{kind}:{who}", _window(seconds, now)
    with transaction.atomic():
        _increment(key, window)
    if random.random() < 0.01:
        sweep(now=now)
    return PortalCounter.objects.filter(key=key, window=window).values_list("count", flat=True).first() or 0


def pow_difficulty(*, now: float | None = None) -> int:
    """The base work, more when the whole portal is busy: a flood makes every new
    challenge harder, but a challenge already issued keeps the difficulty it was
    issued with, so a solved submission is never refused for the flood."""
    base = setting("HIMAYA_PORTAL_POW_BITS", 17, int)
    now = now if now is not None else clock()
    recent = PortalCounter.objects.filter(key__startswith="challenges-all", window=_window(60, now)).aggregate(n=Sum("count"))["n"] or 0
    return base + (2 if recent > GLOBAL_BUSY else 0) + (2 if recent > 4 * GLOBAL_BUSY else 0)


def challenge_issued(*, now: float | None = None) -> None:
    now = now if now is not None else clock()
    _increment("challenges-all", _window(60, now))


def _increment(key: str, window: int) -> None:
    """One more in the (key, window) counter; the first of a window creates it, and
    of two first requests at once the loser adds to the winner's row."""
    if not PortalCounter.objects.filter(key=key, window=window).update(count=F("count") + 1):
        try:
            with transaction.atomic():
                PortalCounter.objects.create(key=key, window=window, count=1)
        except IntegrityError:
            PortalCounter.objects.filter(key=key, window=window).update(count=F("count") + 1)


def pow_spend(nonce: str) -> bool:
    """True the first time a challenge is used, False for a replay."""
    try:
        with transaction.atomic():
            PowSpent.objects.create(nonce=nonce, spent_at=timezone.now())
    except IntegrityError:
        return False
    return True


def sweep(*, now: float | None = None) -> None:
    now = now if now is not None else clock()
    longest = max(seconds for _, seconds in DEFAULTS.values())
    PortalCounter.objects.filter(window__lt=now - 2 * longest).delete()
    # A spent challenge older than any challenge still accepted is no longer needed.
    PowSpent.objects.filter(spent_at__lt=timezone.now() - timedelta(seconds=MAX_AGE_SECONDS + 120)).delete()
