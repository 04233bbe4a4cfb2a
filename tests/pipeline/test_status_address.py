"""/ispws/status says where the caller is from as the lockouts count it (accounts'
client_address): behind the reverse proxy, the address the proxy reports."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_status_names_the_address_the_proxy_reports(provider, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_CLIENT_ADDRESS_HEADER = "X-Real-IP"
    answer = provider.client.get("/ispws/status", HTTP_AUTHORIZATION=provider.auth, HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="127.0.0.1")
    assert answer.status_code == 200
    assert b"Remote Ip : 203.0.113.9" in answer.content


def test_status_names_the_direct_address_without_a_proxy(provider, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_CLIENT_ADDRESS_HEADER = ""
    answer = provider.client.get("/ispws/status", HTTP_AUTHORIZATION=provider.auth, HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="198.51.100.4")
    assert b"Remote Ip : 198.51.100.4" in answer.content
