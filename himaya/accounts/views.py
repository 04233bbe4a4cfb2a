"""Login (password, then the second factor), enrolment, and "my API tokens"."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from himaya.accounts import second_factor, selectors, throttle
from himaya.accounts.forms import CodeForm, LoginForm, TokenForm
from himaya.accounts.models import ApiToken
from himaya.accounts.permissions import Action, Kind, check, get_for
from himaya.accounts.services import AccountError, api_token_create, api_token_revoke


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


def _to(name: str, request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': _next(request)})}")


def _locked_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.error(request, LoginForm.error_messages["locked"])
    return redirect("accounts:login")


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """First login: set up the authenticator app, then show the recovery codes once."""
    user = request.user
    if second_factor.has_second_factor(user):
        return _to("accounts:verify", request)
    if selectors.user_is_locked(user):
        return _locked_out(request)
    device = second_factor.enrolment_device(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not device.verify_is_allowed()[0]:
        form.add_error("code", _("Too many wrong codes: wait a minute, then enter the current code."))
    elif request.method == "POST" and form.is_valid():
        codes = second_factor.enrolment_confirm(user=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)
            second_factor.login_completed(user=user)
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next(request)})
        if second_factor.failure_record(user=user, address=throttle.client_address(request)):
            return _locked_out(request)
        form.add_error("code", _("That code is not right. Check the time on your phone and enter the current code."))
    return render(request, "accounts/enrol.html", {
        "form": form, "qr_svg": second_factor.qr_svg(device), "secret": second_factor.secret_text(device),
        "issuer": settings.OTP_TOTP_ISSUER, "next": _next(request),
    })


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Every login after the password: a code from the app, or one recovery code."""
    user = request.user
    if not second_factor.has_second_factor(user):
        return _to("accounts:enrol", request)
    if user.is_verified():
        return redirect(_next(request))
    if selectors.user_is_locked(user):
        return _locked_out(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = second_factor.verify(user=user, code=form.cleaned_data["code"])
        if result.device is not None:
            otp_login(request, result.device)
            second_factor.login_completed(user=user)
            if getattr(result.device, "token_set", None) is not None:
                messages.warning(request, _("You used a recovery code; it cannot be used again. "
                                            "Make new recovery codes on the page “My API tokens and security”."))
            return redirect(_next(request))
        if result.wait:
            form.add_error("code", _("Too many wrong codes: wait a minute, then enter the current code."))
        else:
            if second_factor.failure_record(user=user, address=throttle.client_address(request)):
                return _locked_out(request)
            form.add_error("code", _("That code is not right."))
    return render(request, "accounts/verify.html", {"form": form, "next": _next(request)})


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """My API tokens: list, create (shown once), revoke; a supervisor also sees the unit's."""
    user = request.user
    check(user, Action.VIEW, Kind.API_TOKEN)  # the one table: a user with no role has no tokens
    form = TokenForm(request.POST or None, initial={"days": settings.HIMAYA_API_TOKEN_DAYS})
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = api_token_create(actor=user, name=form.cleaned_data["name"], days=form.cleaned_data["days"])
        except AccountError as exc:
            form.add_error(None, str(exc))
        else:
            created = {"token": token, "raw": raw}
            form = TokenForm(initial={"days": settings.HIMAYA_API_TOKEN_DAYS})
    return render(request, "accounts/tokens.html", {
        "form": form, "created": created,
        "own": selectors.api_tokens_own(user),
        "unit_tokens": selectors.api_tokens_of_unit(user),
    })


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_for(ApiToken.objects.select_related("user"), request.user, Action.VIEW, pk=pk)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


@require_POST
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working), shown once."""
    codes = second_factor.recovery_codes_renew(user=request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:tokens")})
