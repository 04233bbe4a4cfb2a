"""Bad provider credentials on /ispws/: counted per reporter name and per address
(SPEC §3.10, §4.1). The documented answer for bad authentication is code 2000; a
locked name or a throttled address gets it with HTTP 429 and Retry-After."""
from __future__ import annotations

import base64

import pytest
from django.test import Client

from himaya.accounts import services
from himaya.accounts.services import reporter_create
from himaya.audit.models import AuditEvent
from tests.conftest import Answer

PASSWORD = "provider-pass-1"
ATTACKER = "192.0.2.66"
PLATFORM = "198.51.100.20"


def status(username: str, password: str, address: str) -> Answer:
    auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    return Answer(Client().get("/ispws/status", HTTP_AUTHORIZATION=auth, REMOTE_ADDR=address))


@pytest.fixture
def providers(db):  # type: ignore[no-untyped-def]
    services._auth_cache_clear()
    yield reporter_create(username="examplechat", password=PASSWORD), reporter_create(username="otherchat", password=PASSWORD)
    services._auth_cache_clear()


def test_twenty_bad_passwords_lock_the_reporter_name(providers):  # type: ignore[no-untyped-def]
    for i in range(19):
        answer = status("examplechat", f"wrong-{i}", ATTACKER)
        assert (answer.code, answer.status) == (2000, 401)
    assert status("examplechat", PASSWORD, PLATFORM).code == 0
    services._auth_cache_clear()  # another worker process, which has not seen the right password yet
    assert status("examplechat", "wrong-19", ATTACKER).status == 401
    answer = status("examplechat", PASSWORD, PLATFORM)  # the right password, from the platform's own address
    assert (answer.code, answer.status) == (2000, 429)
    assert 3000 < int(answer.http["Retry-After"]) <= 3600
    assert "WWW-Authenticate" not in answer.http
    event = AuditEvent.objects.get(action="reporter.locked")
    assert event.target_id == str(providers[0].pk) and event.unit_id == providers[0].unit_id
    assert status("otherchat", PASSWORD, PLATFORM).code == 0  # another provider is not affected


def test_a_hundred_bad_credentials_from_one_address_throttle_it(providers):  # type: ignore[no-untyped-def]
    for i in range(100):
        assert status(f"guess-{i}", "wrong", ATTACKER).status == 401
    answer = status("examplechat", PASSWORD, ATTACKER)
    assert (answer.code, answer.status) == (2000, 429)
    xsd = Client().get("/ispws/xsd", HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"examplechat:{PASSWORD}".encode()).decode(),
                       REMOTE_ADDR=ATTACKER)
    assert xsd.status_code == 429
    assert status("examplechat", PASSWORD, PLATFORM).code == 0
    assert AuditEvent.objects.get(action="auth.address_throttled").data["scope"] == "provider_address"


def test_a_successful_request_reads_nothing_to_authenticate(providers, django_assert_num_queries):  # type: ignore[no-untyped-def]
    assert status("examplechat", PASSWORD, PLATFORM).code == 0
    with django_assert_num_queries(0):
        assert status("examplechat", PASSWORD, PLATFORM).code == 0
