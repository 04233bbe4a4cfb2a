"""API tokens: hashed at rest, shown once, expiring, revocable, listed per user (SPEC §3.10)."""
from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from himaya.accounts.models import ApiToken
from himaya.accounts.services import token_create, user_create, user_set_active
from himaya.audit.models import AuditEvent
from tests.auth_helpers import login_verified

PASSWORD = "a-long-test-password-1"
API = "/api/v1/reports/"


@pytest.fixture
def people(db):  # type: ignore[no-untyped-def]
    return {
        "amal": user_create(username="amal", password=PASSWORD, roles=["intake_analyst"], unit_code="unit-a"),
        "omar": user_create(username="omar", password=PASSWORD, roles=["investigator"], unit_code="unit-a"),
        "sup": user_create(username="sup-a", password=PASSWORD, roles=["supervisor"], unit_code="unit-a"),
        "sup_b": user_create(username="sup-b", password=PASSWORD, roles=["supervisor"], unit_code="unit-b"),
    }


def api(token: str, address: str = "198.51.100.20") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_is_stored_only_as_its_sha256(people):  # type: ignore[no-untyped-def]
    token = token_create(username="amal")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert not any(token in str(value) for value in rows[0])
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert api(token).get(API).status_code == 200


def test_expired_revoked_and_inactive_users_tokens_are_refused(people):  # type: ignore[no-untyped-def]
    expired, revoked, inactive = (token_create(username=name) for name in ("amal", "omar", "sup-a"))
    ApiToken.objects.filter(user=people["amal"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    client = login_verified(Client(), people["omar"])
    client.post(reverse("accounts:token_revoke", args=[ApiToken.objects.get(user=people["omar"]).pk]))
    user_set_active(actor="cli", user=people["sup"], active=False)
    for token in (expired, revoked, inactive, "hmy_not-a-token"):
        response = api(token).get(API)
        assert response.status_code == 401 and response.json()["detail"], token
        assert response["WWW-Authenticate"] == "Token"


def test_create_token_prints_a_token_valid_for_the_days_asked(people, capsys):  # type: ignore[no-untyped-def]
    call_command("create_token", "amal", "--days", "7")
    token = capsys.readouterr().out.strip()
    row = ApiToken.objects.get(user=people["amal"])
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest() and token.startswith(row.prefix)
    assert timedelta(days=7) - timedelta(minutes=1) < row.expires_at - timezone.now() <= timedelta(days=7)
    call_command("create_token", "amal")
    assert ApiToken.objects.filter(user=people["amal"]).order_by("-id").first().expires_at - timezone.now() > timedelta(days=89)
    assert AuditEvent.objects.filter(action="token.created", actor="cli").count() == 2
    for bad in (["amal", "--days", "0"], ["amal", "--days", "99999"], ["nobody"]):
        with pytest.raises(CommandError):
            call_command("create_token", *bad)
    assert ApiToken.objects.count() == 2


def test_the_tokens_page_shows_a_new_token_once_lists_and_revokes(people):  # type: ignore[no-untyped-def]
    client = login_verified(Client(), people["amal"])
    client.cookies["django_language"] = "en"
    response = client.post(reverse("accounts:tokens"), {"name": "nightly export", "days": 30})
    html = response.content.decode()
    row = ApiToken.objects.get(user=people["amal"])
    token = html.split('id="new-token-value">')[1].split("<")[0]
    assert hashlib.sha256(token.encode()).hexdigest() == row.key_hash
    assert api(token).get(API).status_code == 200
    listing = client.get(reverse("accounts:tokens")).content.decode()
    assert "nightly export" in listing and row.prefix in listing and token not in listing
    client.post(reverse("accounts:token_revoke", args=[row.pk]))
    row.refresh_from_db()
    assert row.revoked_at is not None and api(token).get(API).status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", actor="user:amal").count() == 1


def test_only_the_owner_and_the_units_supervisor_revoke_a_token(people):  # type: ignore[no-untyped-def]
    token_create(username="amal")
    row = ApiToken.objects.get(user=people["amal"])
    url = reverse("accounts:token_revoke", args=[row.pk])
    assert login_verified(Client(), people["omar"]).post(url).status_code == 404      # a colleague
    assert login_verified(Client(), people["sup_b"]).post(url).status_code == 404     # another unit's supervisor
    assert "amal" not in login_verified(Client(), people["omar"]).get(reverse("accounts:tokens")).content.decode()
    row.refresh_from_db()
    assert row.revoked_at is None
    supervisor = login_verified(Client(), people["sup"])
    assert row.prefix in supervisor.get(reverse("accounts:tokens")).content.decode()  # the unit's tokens
    assert supervisor.post(url).status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert AuditEvent.objects.get(action="token.revoked").actor == "user:sup-a"


def test_a_hundred_bad_tokens_from_one_address_throttle_it(people, settings):  # type: ignore[no-untyped-def]
    good = token_create(username="amal")
    for i in range(99):
        assert api(f"hmy_guess-{i}", "192.0.2.66").get(API).status_code == 401
    assert api(good, "192.0.2.66").get(API).status_code == 200
    assert api("hmy_guess-99", "192.0.2.66").get(API).status_code == 401
    throttled = api(good, "192.0.2.66").get(API)  # even the right token, from that address
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 3000
    assert api(good, "198.51.100.20").get(API).status_code == 200
    assert AuditEvent.objects.get(action="auth.address_throttled").data["scope"] == "api_address"


def test_an_unverified_session_is_anonymous_to_the_api(people):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(people["amal"])  # the password alone
    assert client.get(API).status_code in (401, 403)
    assert login_verified(Client(), people["amal"]).get(API).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_plain_tokens_and_drops_their_table(people):  # type: ignore[no-untyped-def]
    migration = importlib.import_module("himaya.accounts.migrations.0003_auth_security")
    plain = "0123456789abcdef0123456789abcdef01234567"  # DRF authtoken's form: 40 hex digits
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id bigint)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [plain, timezone.now(), people["amal"].pk])
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(django_apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    row = ApiToken.objects.get(user=people["amal"])
    assert row.key_hash == hashlib.sha256(plain.encode()).hexdigest() and row.name == "migrated"
    assert api(plain).get(API).status_code == 200  # the client keeps working
