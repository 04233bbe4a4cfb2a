"""The staff login's password check (SPEC §3.10): Django's, refused while the account
name or the address is locked (himaya.accounts.throttle), so the right password does
not log in until a supervisor unlocks the account or the lock expires."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from himaya.accounts import throttle
from himaya.accounts.models import AuthFailure


def login_locked(*, username: str | None, request: Any) -> bool:
    address = throttle.client_address(request) if request is not None else None
    return throttle.locked((AuthFailure.Scope.USER, username), (AuthFailure.Scope.ADDRESS, address))


class LockoutModelBackend(ModelBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any) -> Any:
        if username is None:
            username = kwargs.get("username")
        if login_locked(username=username, request=request):
            raise PermissionDenied("locked")  # authenticate() stops here and counts it as a failure
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """user_login_failed: a wrong password (or a locked name) counts for the account name
    and for the address."""
    throttle.failure_record(scope=AuthFailure.Scope.USER, key=credentials.get("username"))
    if request is not None:
        throttle.failure_record(scope=AuthFailure.Scope.ADDRESS, key=throttle.client_address(request))
