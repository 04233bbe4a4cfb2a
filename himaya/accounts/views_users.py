"""Supervisors manage the users of their unit; auditors read the list (SPEC §1, §3.10).

Views parse input and call the selectors and services, which decide: a user of
another unit does not exist here (404), a role that may not gets 403.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from himaya.accounts import selectors, services
from himaya.accounts.forms_users import UserCreateForm, UserRolesForm
from himaya.accounts.models import User
from himaya.accounts.permissions import Action, Kind, allowed, check


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    """The unit's users; supervisors also create one here (POST)."""
    check(request.user, Action.VIEW, Kind.USER)
    form = UserCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        check(request.user, Action.MANAGE, Kind.USER)
        if form.is_valid():
            try:
                created = services.user_create(
                    username=form.cleaned_data["username"], full_name=form.cleaned_data["full_name"],
                    password=form.cleaned_data["password"], roles=form.cleaned_data["roles"], actor=request.user,
                )
            except services.AccountError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("%(name)s can now log in; they enrol their second factor at the first login.") % {"name": created.username})
                return redirect("accounts:users")
        status = 400
    users = selectors.user_list_for_user(user=request.user)
    return render(request, "accounts/users/list.html", {"users": users, "form": form}, status=status)


@login_required
@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    target = selectors.user_get_for_user(user=request.user, pk=pk)
    return render(request, "accounts/users/detail.html", {
        "target": target,
        "is_self": target.pk == request.user.pk,
        "roles_form": UserRolesForm(initial={"roles": target.roles}),
        "may_manage": allowed(request.user, Action.MANAGE, Kind.USER),
    })


def _managed(request: HttpRequest, pk: int) -> User:
    return selectors.user_get_for_user(user=request.user, pk=pk, action=Action.MANAGE)


@login_required
@require_POST
def user_roles(request: HttpRequest, pk: int) -> HttpResponse:
    target = _managed(request, pk)
    form = UserRolesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose at least one role."))
        return redirect("accounts:user", pk=target.pk)
    try:
        services.user_set_roles(actor=request.user, user=target, roles=form.cleaned_data["roles"])
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The roles of %(name)s are saved.") % {"name": target.username})
    return redirect("accounts:user", pk=target.pk)


@login_required
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    target = _managed(request, pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(actor=request.user, user=target, active=active)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, (_("%(name)s is active again.") if active else _("%(name)s is deactivated: they can no longer log in.")) % {"name": target.username})
    return redirect("accounts:user", pk=target.pk)


@login_required
@require_POST
def user_second_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    target = _managed(request, pk)
    services.user_second_factor_reset(actor=request.user, user=target)
    messages.success(request, _("The second factor of %(name)s is reset: they enrol a new one at their next login.") % {"name": target.username})
    return redirect("accounts:user", pk=target.pk)


@login_required
@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    target = _managed(request, pk)
    services.user_unlock(actor=request.user, user=target)
    messages.success(request, _("%(name)s is unlocked.") % {"name": target.username})
    return redirect("accounts:user", pk=target.pk)
