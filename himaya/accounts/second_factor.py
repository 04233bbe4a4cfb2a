"""The staff second factor (SPEC §3.10): TOTP with django-otp, and recovery codes.

At the first login after the password, a user without a confirmed TOTP device
enrols: the page shows a QR code (SVG drawn here, no network) and the secret,
the user confirms with a code and is shown RECOVERY_CODES one-time recovery codes
once. Every later login asks for the password, then a TOTP code or one recovery
code (used up). Wrong codes count toward the account's lockout like wrong
passwords. The session reaches nothing else until verified
(himaya.core.middleware.SecondFactorMiddleware).

Recovery codes are kept only as a keyed digest (`recovery_digest`: HMAC-SHA-256
under a key derived from the site's master key, which lives outside the database),
so a copy of the database does not hand out a way past the second factor; the
codes themselves are shown once and never stored. For the same reason the TOTP seed
is sealed under that key (himaya.accounts.models.AuthenticatorDevice, not django-otp's
TOTPDevice, whose table holds seeds in clear).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

import segno
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from himaya.accounts import events, throttle
from himaya.accounts.models import AuthenticatorDevice, AuthFailure, User
from himaya.core.crypto import master_key

RECOVERY_CODES = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


def has_second_factor(user: User) -> bool:
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


def enrolment_device(*, user: User) -> AuthenticatorDevice:
    """The user's unconfirmed TOTP device (the same one until confirmed, so a reload
    shows the same secret)."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = AuthenticatorDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_text(device: AuthenticatorDevice) -> str:
    """The secret as an authenticator app asks for it: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: AuthenticatorDevice) -> str:
    """The otpauth:// address as an inline SVG (no XML declaration, no style attribute)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                                   title="otpauth")


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


@transaction.atomic
def enrolment_confirm(*, user: User, device: AuthenticatorDevice, code: str) -> list[str] | None:
    """Confirm the device with a code from the app: returns the new recovery codes
    (shown once), or None for a wrong code (counted toward the lockout)."""
    device = AuthenticatorDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(_digits(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    AuthenticatorDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _recovery_codes_new(user=user)
    events.user_second_factor_enrolled_event(user=user)
    return codes


def recovery_digest(*, user_id: int, code: str) -> str:
    """What is stored for a recovery code: 16 base32 characters (80 bits) of an HMAC
    keyed outside the database and bound to the user, so a stored value is neither the
    code nor usable for another account. Fits django-otp's StaticToken.token (16)."""
    key = hmac.new(master_key().encryption, b"himaya-recovery-codes", hashlib.sha256).digest()
    mac = hmac.new(key, f"{user_id}:{_digits(code)}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode().lower()


def _recovery_codes_new(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=recovery_digest(user_id=user.pk, code=c))
                                     for c in codes])
    return codes


@dataclass(frozen=True)
class Verification:
    device: object | None      # the device that accepted the code
    wait: bool = False         # the device refuses codes for a while (django-otp's throttling)


@transaction.atomic
def verify(*, user: User, code: str) -> Verification:
    """A TOTP code (six digits) or one recovery code, which is then used up."""
    code = _digits(code)
    if re.fullmatch(r"\d{6}", code):
        devices = list(AuthenticatorDevice.objects.select_for_update().filter(user=user, confirmed=True))
    else:
        devices = list(StaticDevice.objects.select_for_update().filter(user=user, confirmed=True))
    if devices and not any(d.verify_is_allowed()[0] for d in devices):
        return Verification(None, wait=True)
    for device in devices:
        if device.verify_token(recovery_digest(user_id=user.pk, code=code) if isinstance(device, StaticDevice) else code):
            if isinstance(device, StaticDevice):
                events.user_recovery_code_used_event(user=user, remaining=device.token_set.count())
            return Verification(device)
    return Verification(None)


def failure_record(*, user: User, address: str) -> bool:
    """A wrong code counts like a wrong password; True when the account is now locked."""
    locked = throttle.failure_record(scope=AuthFailure.Scope.USER, key=user.get_username())
    throttle.failure_record(scope=AuthFailure.Scope.ADDRESS, key=address)
    return locked


def login_completed(*, user: User) -> None:
    """Password and second factor passed: the account's failure count starts again."""
    throttle.failures_clear(scope=AuthFailure.Scope.USER, key=user.get_username())


@transaction.atomic
def recovery_codes_renew(*, user: User) -> list[str]:
    """New recovery codes for a user who has the second factor (the old ones stop working)."""
    if not has_second_factor(user):
        raise ValueError("no second factor enrolled")
    codes = _recovery_codes_new(user=user)
    events.user_recovery_codes_renewed_event(user=user)
    return codes
