"""Reads of accounts (SPEC §3.10)."""
from __future__ import annotations

from django_otp import user_has_device

from himaya.accounts import throttle
from himaya.accounts.models import ApiToken, AuthFailure, User
from himaya.accounts.permissions import Action, Kind, allowed, get_for, restrict


def user_is_locked(user: User) -> bool:
    """Is the account locked by failed logins (until unlocked or the lock expires)?"""
    return throttle.locked((AuthFailure.Scope.USER, user.username))


# user management (himaya.accounts.views_users)

def user_list_for_user(*, user: User) -> list[User]:
    """The users of the viewer's unit (supervisors and auditors), by name; each with
    `is_locked` and `has_second_factor` set for the list."""
    users = list(restrict(User.objects.select_related("unit"), user, Action.VIEW).order_by("username"))
    for u in users:
        u.is_locked = user_is_locked(u)
        u.has_second_factor = user_has_device(u)
    return users


def user_get_for_user(*, user: User, pk: int, action: Action | str = Action.VIEW) -> User:
    """One user of the viewer's unit: 404 for another unit's (whatever the role), then
    403 for a role that may not do `action`."""
    target = get_for(User.objects.select_related("unit"), user, action, pk=pk)
    target.is_locked = user_is_locked(target)
    target.has_second_factor = user_has_device(target)
    return target


# API tokens (himaya.accounts.views: "my API tokens")

def api_tokens_own(user: User) -> list[ApiToken]:
    """The user's own tokens, newest first (never the token itself: only its prefix)."""
    return list(restrict(ApiToken.objects.all(), user, Action.VIEW).filter(user=user))


def api_tokens_of_unit(user: User) -> list[ApiToken]:
    """For a supervisor: the other tokens of the unit that are still usable (to revoke)."""
    from django.utils import timezone

    if not allowed(user, Action.MANAGE, Kind.API_TOKEN):
        return []
    return list(restrict(ApiToken.objects.select_related("user"), user, Action.MANAGE)
                .exclude(user=user).filter(revoked_at__isnull=True, expires_at__gt=timezone.now()))
