"""Pages of the exchange with partner units: partners and their keys, referrals and
their states, and the actions a supervisor takes on them. Views parse the request
and call selectors and services; packages are handed out as downloads."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.exchange.errors import ExchangeError, PackageRefused
from himaya.exchange.forms import OutcomeForm, PackageImportForm, PartnerAddForm, ReferForm, upload_bytes
from himaya.exchange.models import Direction
from himaya.exchange.package import grouped
from himaya.exchange.selectors import partner_get, partner_list, referral_get, referral_list, unit_fingerprint
from himaya.exchange.services import (
    package_import, partner_add, referral_acknowledge, referral_package, referral_report_outcome, unit_key_export,
)


def _require(user: Any, action: Action) -> None:
    if not allowed(user, action, Kind.PARTNER):
        raise PermissionDenied(f"{action} partner")


def _download(data: bytes, name: str, content_type: str = "application/zip") -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def partners(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.VIEW)
    may_manage = allowed(request.user, Action.MANAGE, Kind.PARTNER)
    rows = [{"partner": p, "fingerprint": grouped(p.fingerprint)} for p in partner_list(user=request.user)]
    return render(request, "exchange/partners.html", {
        "rows": rows, "may_manage": may_manage, "form": PartnerAddForm() if may_manage else None,
        "own_fingerprint": grouped(unit_fingerprint(user=request.user)) if may_manage else "",
    })


@login_required
@require_POST
def partner_create(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.MANAGE)
    form = PartnerAddForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            partner = partner_add(name=form.cleaned_data["name"], country=form.cleaned_data["country"],
                                  key_file=form.cleaned_data["public_key"], actor=request.user)
        except ExchangeError as exc:
            form.add_error(None, exc.translated())
        else:
            messages.success(request, _("Partner %(name)s registered. Compare its fingerprint with the partner by another channel.")
                             % {"name": partner.name})
            return HttpResponseRedirect(reverse("exchange:partners"))
    rows = [{"partner": p, "fingerprint": grouped(p.fingerprint)} for p in partner_list(user=request.user)]
    return render(request, "exchange/partners.html", {
        "rows": rows, "may_manage": True, "form": form, "own_fingerprint": grouped(unit_fingerprint(user=request.user)),
    }, status=400)


@login_required
@require_POST
def key_export(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.MANAGE)
    data = unit_key_export(actor=request.user)
    return _download(data, "himaya-public-key.json", "application/json")


@login_required
@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.VIEW)
    direction = request.GET.get("direction", "")
    if direction not in Direction.values:
        direction = ""
    may_manage = allowed(request.user, Action.MANAGE, Kind.PARTNER)
    return render(request, "exchange/referrals.html", {
        "referrals": referral_list(user=request.user, direction=direction), "direction": direction, "directions": Direction.choices,
        "may_manage": may_manage, "import_form": PackageImportForm() if may_manage else None,
        "outcome_form": OutcomeForm() if may_manage else None,
    })


@login_required
@require_POST
def import_package(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.MANAGE)
    form = PackageImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a package file to import."))
        return HttpResponseRedirect(reverse("exchange:referrals"))
    try:
        result = package_import(data=upload_bytes(form.cleaned_data["package"]), actor=request.user)
    except PackageRefused as exc:
        messages.error(request, _("Package refused, nothing imported: %(reason)s") % {"reason": exc.translated()})
    except ExchangeError as exc:
        messages.error(request, exc.translated())
    else:
        if result.kind == "referral":
            messages.success(request, _("Referral from %(partner)s imported: %(n)d new report(s), %(known)d already here.") % {
                "partner": result.partner, "n": len(result.imported), "known": len(result.known)})
        elif result.kind == "receipt":
            messages.success(request, _("%(partner)s acknowledged the referral.") % {"partner": result.partner})
        else:
            messages.success(request, _("%(partner)s reported an outcome.") % {"partner": result.partner})
    return HttpResponseRedirect(reverse("exchange:referrals"))


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_get(user=request.user, referral_id=pk)  # another unit's: 404, whatever the role
    _require(request.user, Action.MANAGE)
    try:
        data = referral_acknowledge(package_id=str(referral.package_id), actor=request.user)
    except ExchangeError as exc:
        messages.error(request, exc.translated())
        return HttpResponseRedirect(reverse("exchange:referrals"))
    return _download(data, f"receipt-{referral.package_id}.zip")


@login_required
@require_POST
def outcome(request: HttpRequest, pk: int) -> HttpResponse:
    referral = referral_get(user=request.user, referral_id=pk)
    _require(request.user, Action.MANAGE)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an outcome."))
        return HttpResponseRedirect(reverse("exchange:referrals"))
    try:
        data = referral_report_outcome(package_id=str(referral.package_id), kind=form.cleaned_data["kind"],
                                       text=form.cleaned_data["text"], actor=request.user)
    except ExchangeError as exc:
        messages.error(request, exc.translated())
        return HttpResponseRedirect(reverse("exchange:referrals"))
    return _download(data, f"outcome-{referral.package_id}.zip")


@login_required
@require_POST
def refer(request: HttpRequest) -> HttpResponse:
    """From a report's page (or a case's): a package of the reports for the partner, as a download."""
    form = ReferForm(request.POST)
    if not form.is_valid():
        _require(request.user, Action.EXPORT)
        messages.error(request, _("Choose a partner and the reports to refer."))
        return HttpResponseRedirect(reverse("exchange:referrals"))
    partner = partner_get(user=request.user, partner_id=form.cleaned_data["partner"])  # another unit's: 404
    _require(request.user, Action.EXPORT)
    report_ids = form.cleaned_data["reports"]
    case_id = form.cleaned_data.get("case")
    if case_id:
        from himaya.cases.selectors import case_get_for_user, case_report_ids

        case = case_get_for_user(user=request.user, case_id=case_id)  # type: ignore[arg-type]
        report_ids = case_report_ids(case)
    try:
        referral, data = referral_package(report_ids=report_ids, partner_name=partner.name, case_id=case_id, actor=request.user)
    except ExchangeError as exc:
        messages.error(request, exc.translated())
        return HttpResponseRedirect(reverse("exchange:referrals"))
    return _download(data, f"referral-{referral.package_id}.zip")
