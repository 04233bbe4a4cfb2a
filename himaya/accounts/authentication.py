"""How /api/v1/ knows who calls (SPEC §3.10).

* `ApiTokenAuthentication`: `Authorization: Token <token>`. Only the token's SHA-256
  is stored; an expired or revoked token, or an inactive user's, is refused (401).
  A token is its own second factor: it is made only by a session that passed the
  second factor (the "my API tokens" page) or by the operator on the server
  (`himaya create_token`), is shown once, expires and can be revoked. Bad tokens
  are counted per address; an address over the limit is answered 429 until the
  throttle expires, whatever token it sends.
* `VerifiedSessionAuthentication`: the browser's session, only once the second
  factor is verified (an unverified session is anonymous to the API).
"""
from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header

from himaya.accounts import throttle
from himaya.accounts.models import ApiToken, AuthFailure

KEYWORD = "Token"
LAST_USED_PRECISION = timedelta(minutes=1)  # one write per token per minute at most


class ApiTokenAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        from himaya.accounts.services import token_digest

        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        address = throttle.client_address(request._request)
        until = throttle.lock_end((AuthFailure.Scope.API_ADDRESS, address))
        if until is not None:
            raise exceptions.Throttled(wait=math.ceil((until - timezone.now()).total_seconds()),
                                       detail=_("Too many failed authentications from this address; try again later."))
        if len(parts) != 2:
            throttle.failure_record(scope=AuthFailure.Scope.API_ADDRESS, key=address)
            raise exceptions.AuthenticationFailed(_("Invalid token header: Token followed by the token, without spaces."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        token = ApiToken.objects.select_related("user", "user__unit").filter(key_hash=token_digest(raw)).first() if raw else None
        if token is None or not token.is_usable or not token.user.is_active:
            throttle.failure_record(scope=AuthFailure.Scope.API_ADDRESS, key=address)
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return KEYWORD


class VerifiedSessionAuthentication(SessionAuthentication):
    """The session, once its second factor is verified (django_otp's OTPMiddleware)."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_active or not getattr(user, "is_verified", lambda: False)():
            return None
        self.enforce_csrf(request)
        return user, None


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=KEYWORD)


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = VerifiedSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from django.conf import settings

        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
