"""The staff login: password, then the second factor; lockout and throttling (SPEC §3.10)."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken

from himaya.accounts.models import AuthenticatorDevice, AuthFailure
from himaya.accounts.selectors import user_is_locked
from himaya.accounts.services import user_create, user_second_factor_reset, user_unlock
from himaya.audit.models import AuditEvent
from tests.auth_helpers import login_verified, totp_code, totp_device

PASSWORD = "a-long-test-password-1"
LOCKED = "Too many failed attempts"
ATTACKER = "192.0.2.66"      # documentation addresses (RFC 5737)
COLLEAGUE = "198.51.100.20"


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    amal = user_create(username="amal", password=PASSWORD, roles=["intake_analyst"], unit_code="unit-a")
    sup = user_create(username="sup-a", password=PASSWORD, roles=["supervisor"], unit_code="unit-a")
    return {"amal": amal, "sup": sup}


def english() -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def password_step(client: Client, username: str, password: str, address: str = COLLEAGUE):  # type: ignore[no-untyped-def]
    return client.post(reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def full_login(client: Client, user, address: str = COLLEAGUE) -> bool:  # type: ignore[no-untyped-def]
    """Password and code; True when the staff pages open."""
    if password_step(client, user.username, PASSWORD, address).status_code != 302:
        return False
    device = totp_device(user)
    AuthenticatorDevice.objects.filter(pk=device.pk).update(last_t=-1)  # several logins within one 30-second step
    client.post(reverse("accounts:verify"), {"code": totp_code(device, ahead=1)}, REMOTE_ADDR=address)
    return client.get(reverse("reports:list")).status_code == 200


def test_twenty_wrong_passwords_lock_the_account_until_a_supervisor_unlocks_it(people):  # type: ignore[no-untyped-def]
    amal = people["amal"]
    totp_device(amal)
    for i in range(19):
        assert password_step(english(), "amal", f"wrong-{i}", ATTACKER).status_code == 200
    assert not user_is_locked(amal)
    response = password_step(english(), "amal", "wrong-19", ATTACKER)
    assert LOCKED in response.content.decode()
    assert user_is_locked(amal)
    event = AuditEvent.objects.get(action="user.locked")
    assert event.target_id == str(amal.pk) and event.unit_id == amal.unit_id and event.data["failures"] == 20

    # the right password, from the user's own computer, does not log in
    client = english()
    response = password_step(client, "amal", PASSWORD, COLLEAGUE)
    assert response.status_code == 200 and LOCKED in response.content.decode()
    assert client.get(reverse("reports:list")).status_code == 302
    assert not full_login(english(), amal)

    user_unlock(actor=people["sup"], user=amal)
    assert AuditEvent.objects.filter(action="user.unlocked", actor="user:sup-a").count() == 1
    assert full_login(english(), amal)


def test_the_lock_expires(people):  # type: ignore[no-untyped-def]
    amal = people["amal"]
    totp_device(amal)
    for i in range(20):
        password_step(english(), "amal", f"wrong-{i}", ATTACKER)
    assert not full_login(english(), amal)
    lock = AuthFailure.objects.get(scope=AuthFailure.Scope.USER, key="amal")
    assert timedelta(minutes=59) < lock.locked_until - timezone.now() <= timedelta(minutes=60)  # HIMAYA_LOCKOUT_MINUTES
    AuthFailure.objects.filter(pk=lock.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert full_login(english(), amal)
    assert not AuthFailure.objects.filter(scope=AuthFailure.Scope.USER, key="amal").exists()  # a complete login clears the count


def test_a_name_that_is_no_account_locks_the_same_way(db):  # type: ignore[no-untyped-def]
    """No enumeration: an unknown name is counted and locked like an existing one."""
    for i in range(20):
        password_step(english(), "nobody", f"wrong-{i}", ATTACKER)
    assert AuthFailure.objects.get(scope=AuthFailure.Scope.USER, key="nobody").locked_until is not None
    assert LOCKED in password_step(english(), "nobody", "whatever", COLLEAGUE).content.decode()


def test_a_hundred_wrong_tries_from_one_address_throttle_it(people):  # type: ignore[no-untyped-def]
    amal = people["amal"]
    totp_device(amal)
    for i in range(99):  # password spraying: one try per name, no account reaches its limit
        password_step(english(), f"name-{i}", "spray-password", ATTACKER)
    assert full_login(english(), amal, ATTACKER)
    Client().post(reverse("accounts:logout"))
    password_step(english(), "name-99", "spray-password", ATTACKER)
    event = AuditEvent.objects.get(action="auth.address_throttled")
    assert event.target_id == ATTACKER and event.data["scope"] == "address"
    # from that address even the right password fails; from another it works
    response = password_step(english(), "amal", PASSWORD, ATTACKER)
    assert response.status_code == 200 and LOCKED in response.content.decode()
    assert not user_is_locked(amal)
    assert full_login(english(), amal, COLLEAGUE)


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)  # django-otp's own delay between tries, off to count quickly
def test_wrong_second_factor_codes_count_toward_the_lock(people):  # type: ignore[no-untyped-def]
    amal = people["amal"]
    device = totp_device(amal)
    right = totp_code(device, ahead=1)
    client = english()
    assert password_step(client, "amal", PASSWORD).status_code == 302
    for i in range(19):
        wrong = f"{(int(right) + 1 + i) % 1_000_000:06d}"
        response = client.post(reverse("accounts:verify"), {"code": wrong}, REMOTE_ADDR=ATTACKER)
        assert response.status_code == 200 and "not right" in response.content.decode()
    response = client.post(reverse("accounts:verify"), {"code": "000000" if right != "000000" else "111111"}, REMOTE_ADDR=ATTACKER)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")  # logged out, locked
    assert user_is_locked(amal)
    assert client.get(reverse("reports:list")).status_code == 302
    assert password_step(english(), "amal", PASSWORD).status_code == 200  # the password step is locked too


def test_until_verified_the_session_reaches_only_the_second_factor_pages(people):  # type: ignore[no-untyped-def]
    client = english()
    assert password_step(client, "amal", PASSWORD).status_code == 302
    enrol = reverse("accounts:enrol")
    for url in ("/", "/triage/", "/media/lists/", "/accounts/tokens/", "/reports/1/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(enrol), url
    assert client.post("/accounts/tokens/", {"name": "x", "days": 5}).status_code == 302
    assert client.get("/api/v1/reports/").status_code in (401, 403)
    assert client.get(enrol).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(enrol).status_code == 302  # anonymous again: to the login


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0, OTP_STATIC_THROTTLE_FACTOR=0)
def test_enrolment_then_logins_with_a_code_and_with_a_recovery_code(people):  # type: ignore[no-untyped-def]
    client = english()
    assert password_step(client, "amal", PASSWORD).status_code == 302
    page = client.get(reverse("accounts:enrol")).content.decode()
    assert "<svg" in page and "<script" not in page.split("</head>")[1]
    secret = re.search(r'data-secret="([A-Z2-7 ]+)"', page).group(1).replace(" ", "")
    assert client.get(reverse("accounts:enrol")).content.decode().count(secret[:4]) >= 1  # a reload shows the same secret
    assert client.post(reverse("accounts:enrol"), {"code": "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"}).status_code == 200
    assert not AuthenticatorDevice.objects.get(user=people["amal"]).confirmed
    response = client.post(reverse("accounts:enrol"), {"code": pyotp.TOTP(secret).now(), "next": "/triage/"})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(codes) == 10 and StaticToken.objects.count() == 10
    assert AuditEvent.objects.filter(action="user.second_factor_enrolled", target_id=str(people["amal"].pk)).exists()
    assert client.get("/").status_code == 200
    client.post(reverse("accounts:logout"))

    # the next login: password, then a recovery code (used up)
    client = english()
    password_step(client, "amal", PASSWORD)
    assert client.get("/")["Location"].startswith(reverse("accounts:verify"))
    assert client.post(reverse("accounts:verify"), {"code": codes[0]}).status_code == 302
    assert client.get("/").status_code == 200
    assert StaticToken.objects.count() == 9
    client.post(reverse("accounts:logout"))
    client = english()
    password_step(client, "amal", PASSWORD)
    assert client.post(reverse("accounts:verify"), {"code": codes[0]}).status_code == 200  # not twice
    assert client.post(reverse("accounts:verify"), {"code": pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=30))}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_second_factor_reset_sends_the_user_to_enrol_again(people):  # type: ignore[no-untyped-def]
    client = login_verified(english(), people["amal"])
    assert client.get("/").status_code == 200
    user_second_factor_reset(actor=people["sup"], user=people["amal"])
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:enrol"))


def test_the_enrolment_page_is_not_for_a_user_who_has_a_second_factor(people):  # type: ignore[no-untyped-def]
    """Someone with the password alone cannot add their own authenticator."""
    totp_device(people["amal"])
    client = english()
    password_step(client, "amal", PASSWORD)
    response = client.get(reverse("accounts:enrol"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:verify"))
    assert AuthenticatorDevice.objects.filter(user=people["amal"]).count() == 1


def test_the_second_factor_and_token_pages_need_no_inline_script_or_style(people):  # type: ignore[no-untyped-def]
    """The CSP allows scripts and styles from /static/ only; the QR code is markup, not a style."""
    client = english()
    password_step(client, "amal", PASSWORD)
    pages = [client.get(reverse("accounts:enrol"))]
    verified = login_verified(english(), people["sup"])
    pages += [verified.get(reverse("accounts:tokens")), verified.post(reverse("accounts:tokens"), {"name": "n", "days": 3}),
              verified.post(reverse("accounts:recovery_codes"))]
    assert AuditEvent.objects.filter(action="user.recovery_codes_renewed", actor="user:sup-a").count() == 1
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert " style=" not in html and "<style" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"\son[a-z]+=\"", html)


def test_recovery_codes_are_not_kept_in_the_database_and_a_stored_value_opens_nothing(people):  # type: ignore[no-untyped-def]
    """A copy of the database must not hand out a way past the second factor: what is
    stored for a recovery code is a keyed digest bound to the user, not the code."""
    from django.db import connection
    from django_otp.plugins.otp_static.models import StaticDevice

    from himaya.accounts.second_factor import recovery_codes_renew

    totp_device(people["amal"])
    codes = recovery_codes_renew(user=people["amal"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM otp_static_statictoken")
        stored = [row[0] for row in cursor.fetchall()]
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert not any(code in value or value in code for code in codes for value in stored)

    client = english()
    password_step(client, "amal", PASSWORD)
    assert client.post(reverse("accounts:verify"), {"code": stored[0]}).status_code == 200  # the stored value is refused
    assert StaticToken.objects.count() == 10
    StaticDevice.objects.update(throttling_failure_count=0)  # django-otp makes the next try wait after a wrong one
    assert client.post(reverse("accounts:verify"), {"code": codes[3].upper()}).status_code == 302  # the code itself opens
    assert StaticToken.objects.count() == 9


def test_codes_stored_plain_before_the_digest_keep_working_after_the_migration(people):  # type: ignore[no-untyped-def]
    """Users printed their codes before codes were digested: the migration digests them in place."""
    import importlib

    from django.apps import apps as django_apps
    from django_otp.plugins.otp_static.models import StaticDevice

    totp_device(people["amal"])
    static = StaticDevice.objects.create(user=people["amal"], name="recovery codes", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd2345")
    migration = importlib.import_module("himaya.accounts.migrations.0004_recovery_codes_digested")
    migration.digest_plain_codes(django_apps, None)
    assert StaticToken.objects.get().token != "abcd2345"
    client = english()
    password_step(client, "amal", PASSWORD)
    assert client.post(reverse("accounts:verify"), {"code": "abcd2345"}).status_code == 302
