"""The TOTP seed is sealed under the site key (SPEC §3.10): a copy of the database holds
no seed of an enrolled user, a sealed seed does not open another account, and users
enrolled while seeds were kept in clear (django-otp's TOTPDevice) keep their
authenticator after migration 0005."""
from __future__ import annotations

import base64
import binascii
import importlib
import re
import time

import pyotp
from cryptography.exceptions import InvalidTag
import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from himaya.accounts.models import AuthenticatorDevice
from himaya.accounts.services import user_create
from tests.auth_helpers import totp_code, totp_device
from tests.raw_bytes import raw_database

PASSWORD = "a-long-test-password-1"
migration = importlib.import_module("himaya.accounts.migrations.0005_totp_seed_sealed")


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    return {name: user_create(username=name, password=PASSWORD, roles=["intake_analyst"], unit_code="unit-a")
            for name in ("amal", "basel", "carim")}


def seed_forms(seed: bytes) -> list[bytes]:
    """The ways a seed can be written down: raw, hex (django-otp's column), base32 (the app's)."""
    b32 = base64.b32encode(seed)
    return [seed, binascii.hexlify(seed), b32, b32.rstrip(b"=")]


def password_step(client: Client, username: str) -> None:
    assert client.post(reverse("accounts:login"), {"username": username, "password": PASSWORD}).status_code == 302


def test_no_seed_of_an_enrolled_user_is_in_the_raw_database(people):  # type: ignore[no-untyped-def]
    # amal enrols through the pages (the secret shown, confirmed with a code) and logs in again
    client = Client()
    password_step(client, "amal")
    page = client.get(reverse("accounts:enrol")).content.decode()
    secret = re.search(r'data-secret="([A-Z2-7 ]+)"', page).group(1).replace(" ", "")
    assert client.post(reverse("accounts:enrol"), {"code": pyotp.TOTP(secret).now()}).status_code == 200
    client = Client()
    password_step(client, "amal")
    device = AuthenticatorDevice.objects.get(user=people["amal"])
    assert client.post(reverse("accounts:verify"), {"code": totp_code(device, ahead=1)}).status_code == 302
    assert client.get("/").status_code == 200
    # basel was made enrolled (as the tests' helper does); carim was enrolled before 0005
    seeds = {"amal": device.bin_key, "basel": totp_device(people["basel"]).bin_key}
    plain = TOTPDevice.objects.create(user=people["carim"], name="authenticator", confirmed=True)
    seeds["carim"] = plain.bin_key
    migration.seal_plain_seeds(django_apps, None)
    assert base64.b32encode(seeds["amal"]).decode().rstrip("=") == secret
    assert AuthenticatorDevice.objects.filter(confirmed=True).count() == 3

    database = raw_database()
    assert len(database) > 50
    for name, seed in seeds.items():
        for needle in seed_forms(seed):
            assert not any(needle.lower() in value.lower() for value in database), (name, needle)


def test_a_sealed_seed_copied_onto_another_account_does_not_open_it(people):  # type: ignore[no-untyped-def]
    """The seal is bound to the user: someone who may write to the database but has no
    key cannot give another account a seed they know."""
    mine = totp_device(people["amal"])
    theirs = totp_device(people["basel"])
    AuthenticatorDevice.objects.filter(pk=theirs.pk).update(sealed_key=mine.sealed_key)
    theirs.refresh_from_db()
    with pytest.raises(InvalidTag):  # an error to be seen, not a wrong code
        theirs.verify_token(totp_code(mine, ahead=1))
    assert AuthenticatorDevice.objects.get(pk=theirs.pk).last_t == -1


def test_a_user_enrolled_before_the_seal_logs_in_with_the_same_code(people):  # type: ignore[no-untyped-def]
    amal = people["amal"]
    plain = TOTPDevice.objects.create(user=amal, name="authenticator", confirmed=True, drift=1)
    app = pyotp.TOTP(base64.b32encode(plain.bin_key).decode())  # the app on the user's phone
    now = time.time()
    used = app.at(now)  # the code of the last login before the upgrade
    TOTPDevice.objects.filter(pk=plain.pk).update(last_t=int(now // plain.step))
    created = TOTPDevice.objects.get(pk=plain.pk).created_at

    migration.seal_plain_seeds(django_apps, None)

    assert not TOTPDevice.objects.exists()
    sealed = AuthenticatorDevice.objects.get(user=amal)
    assert sealed.confirmed and sealed.drift == 1 and sealed.created_at == created
    assert bytes(plain.bin_key) not in bytes(sealed.sealed_key)
    client = Client()
    password_step(client, "amal")
    assert client.get("/")["Location"].startswith(reverse("accounts:verify"))  # enrolled: not sent to enrol again
    assert client.post(reverse("accounts:verify"), {"code": used}).status_code == 200  # the replay guard moved too
    AuthenticatorDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert client.post(reverse("accounts:verify"), {"code": app.at(time.time() + 30)}).status_code == 302
    assert client.get("/").status_code == 200


def test_the_migration_runs_back_to_the_same_seed(people):  # type: ignore[no-untyped-def]
    device = totp_device(people["amal"])
    seed = device.bin_key
    migration.unseal_seeds(django_apps, None)
    AuthenticatorDevice.objects.all().delete()
    assert TOTPDevice.objects.get(user=people["amal"]).bin_key == seed
    migration.seal_plain_seeds(django_apps, None)
    assert AuthenticatorDevice.objects.get(user=people["amal"]).bin_key == seed
