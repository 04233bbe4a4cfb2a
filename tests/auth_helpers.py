"""Logging staff in with the second factor (SPEC §3.10), for tests.

Every staff page needs a session whose second factor is verified. Tests that are
not about the login itself use `login_verified`; the login's own tests go through
the pages (tests/accounts).
"""
from __future__ import annotations

import base64
import time
from typing import Any

import pyotp
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from himaya.accounts.models import AuthenticatorDevice


def totp_device(user: Any) -> AuthenticatorDevice:
    """The user's confirmed TOTP device (made if missing)."""
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    return device or AuthenticatorDevice.objects.create(user=user, name="authenticator", confirmed=True)


def totp_code(device: AuthenticatorDevice, *, ahead: int = 0) -> str:
    """The device's current code (`ahead` steps later: a code not used yet, within the
    tolerance of one step)."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).at(time.time() + ahead * device.step)


def login_verified(client: Client, user: Any, password: str | None = None) -> Client:
    """Log the user in with a verified second factor (as after password and code).
    With `password`, the password is checked as the login page does (client.login)."""
    device = totp_device(user)
    if password is None:
        client.force_login(user)
    else:
        assert client.login(username=user.get_username(), password=password)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def login_with_password(client: Client, username: str, password: str) -> Client:
    """The whole login through the pages: password, then a code from the user's device."""
    from himaya.accounts.models import User

    user = User.objects.get(username=username)
    device = totp_device(user)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content[:500]
    response = client.post("/accounts/second-factor/verify/", {"code": totp_code(device, ahead=1)})
    assert response.status_code == 302, response.content[:500]
    return client
