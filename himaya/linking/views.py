"""A person's decision that two linked reports are not the same person, and its
undoing. Views parse the request and call selectors (permission in the
queryset) and services (writes with their audit events)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.linking.forms import SeparateForm
from himaya.linking.selectors import link_separation_get_for_user, report_pair_get_for_user
from himaya.linking.services import link_separate, link_separation_undo


def _back(report_id: int) -> HttpResponse:
    return HttpResponseRedirect(reverse("reports:detail", args=[report_id]) + "#linked-title")


@login_required
@require_POST
def separate(request: HttpRequest, pk: int, other: int) -> HttpResponse:
    report_pair_get_for_user(user=request.user, report_id=pk, other_id=other)
    if not allowed(request.user, Action.CHANGE, Kind.LINK):
        raise PermissionDenied
    form = SeparateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not recorded: give a reason."))
        return _back(pk)
    try:
        link_separate(actor=request.user, report_id=pk, other_id=other, reason=form.cleaned_data["reason"])
    except ValueError:
        messages.error(request, _("Not recorded: these reports are not linked, or already separated."))
    else:
        messages.success(request, _("Recorded: these reports are not the same person. Their link no longer merges them."))
    return _back(pk)


@login_required
@require_POST
def separation_undo(request: HttpRequest, pk: int) -> HttpResponse:
    sep = link_separation_get_for_user(user=request.user, separation_id=pk)
    if not allowed(request.user, Action.CHANGE, Kind.LINK):
        raise PermissionDenied
    back = request.POST.get("report", "")
    report_id = int(back) if back.isdigit() and int(back) in (sep.low_id, sep.high_id) else sep.low_id
    link_separation_undo(actor=request.user, separation_id=sep.id)
    messages.success(request, _("The separation was undone."))
    return _back(report_id)
