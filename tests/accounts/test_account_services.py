"""Second-factor reset and unlock (the supervisors' buttons call these)."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from himaya.accounts import throttle
from himaya.accounts.models import AuthenticatorDevice, AuthFailure
from himaya.accounts.selectors import user_is_locked
from himaya.accounts.services import user_create, user_second_factor_reset, user_unlock
from himaya.audit.models import AuditEvent

PASSWORD = "a-long-test-password-1"


@pytest.fixture
def people(db):
    return {
        "sup": user_create(username="sup-a", password=PASSWORD, roles=["supervisor"], unit_code="unit-a"),
        "amal": user_create(username="amal", password=PASSWORD, roles=["investigator"], unit_code="unit-a"),
        "inv": user_create(username="inv-a", password=PASSWORD, roles=["investigator"], unit_code="unit-a"),
        "sup_b": user_create(username="sup-b", password=PASSWORD, roles=["supervisor"], unit_code="unit-b"),
    }


def _lock(username: str) -> None:
    for _ in range(20):
        throttle.failure_record(scope=AuthFailure.Scope.USER, key=username)


def test_unlock_clears_the_lock_with_an_audit_event(people):
    _lock("amal")
    assert user_is_locked(people["amal"])
    assert AuditEvent.objects.filter(action="user.locked", target_id=str(people["amal"].pk)).count() == 1
    user_unlock(actor=people["sup"], user=people["amal"])
    assert not user_is_locked(people["amal"])
    event = AuditEvent.objects.get(action="user.unlocked")
    assert event.actor == "user:sup-a" and event.target_id == str(people["amal"].pk)


def test_unlock_and_reset_need_a_supervisor_of_the_same_unit(people):
    _lock("amal")
    with pytest.raises(PermissionDenied):
        user_unlock(actor=people["inv"], user=people["amal"])
    with pytest.raises(Http404):
        user_unlock(actor=people["sup_b"], user=people["amal"])
    with pytest.raises(Http404):
        user_second_factor_reset(actor=people["sup_b"], user=people["amal"])
    assert user_is_locked(people["amal"])
    assert not AuditEvent.objects.filter(action__in=["user.unlocked", "user.second_factor_reset"]).exists()


def test_second_factor_reset_removes_devices_and_codes(people):
    amal = people["amal"]
    AuthenticatorDevice.objects.create(user=amal, name="default", confirmed=True)
    static = StaticDevice.objects.create(user=amal, name="recovery", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd1234")
    other = AuthenticatorDevice.objects.create(user=people["inv"], name="default", confirmed=True)
    user_second_factor_reset(actor=people["sup"], user=amal)
    assert not AuthenticatorDevice.objects.filter(user=amal).exists()
    assert not StaticDevice.objects.filter(user=amal).exists() and not StaticToken.objects.exists()
    assert AuthenticatorDevice.objects.filter(pk=other.pk).exists()
    event = AuditEvent.objects.get(action="user.second_factor_reset")
    assert event.data["devices"] == 2 and event.actor == "user:sup-a"


def test_behind_a_proxy_the_address_comes_from_the_header_named(settings, rf):  # type: ignore[no-untyped-def]
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="192.0.2.7")
    assert throttle.client_address(request) == "10.0.0.1"
    settings.HIMAYA_CLIENT_ADDRESS_HEADER = "X-Real-IP"
    assert throttle.client_address(request) == "192.0.2.7"
    assert throttle.client_address(rf.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"  # header missing


def test_old_failures_are_forgotten_but_not_locks(db):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    old = now - timedelta(hours=3)
    AuthFailure.objects.create(scope="user", key="old", failures=3, first_at=old, last_at=old)
    AuthFailure.objects.create(scope="user", key="locked", failures=20, first_at=old, last_at=old, locked_until=now + timedelta(minutes=5))
    AuthFailure.objects.create(scope="user", key="recent", failures=1, first_at=now, last_at=now)
    assert throttle._forget_old(now) == 1
    assert set(AuthFailure.objects.values_list("key", flat=True)) == {"locked", "recent"}
