"""The audit log for auditors and supervisors (SPEC §3.10): read, filter, export, and
check the chain. Views parse the request and call selectors and services."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.audit.forms import AuditFilterForm
from himaya.audit.presentation import action_label, describe, event_rows
from himaya.audit.selectors import audit_chain_state_for_user, audit_event_list, audit_event_page
from himaya.audit.services import audit_export_record, audit_verify_record

PAGE_SIZE = 50


def _require(user: Any, action: Action) -> None:
    if not allowed(user, action, Kind.AUDIT_EVENT):
        raise PermissionDenied(f"{action} audit_event")


def _before(request: HttpRequest) -> int | None:
    try:
        value = int(request.GET.get("before", ""))
    except ValueError:
        return None
    return value if 0 < value <= 2**63 - 1 else None


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.VIEW)
    form = AuditFilterForm(request.GET)
    filters = form.filters()
    before = _before(request)
    events, next_before = audit_event_page(user=request.user, filters=filters, before=before, size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("before", None)
    return render(request, "audit/log.html", {
        "form": form, "rows": event_rows(events), "filtered": bool(filters.as_dict()), "query": query.urlencode(),
        "next_before": next_before, "first_page": before is None,
        "chain": audit_chain_state_for_user(user=request.user), "national": bool(getattr(request.user.unit, "is_national", False)),
        "may_export": allowed(request.user, Action.EXPORT, Kind.AUDIT_EVENT),
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _require(request.user, Action.EXPORT)
    form = AuditFilterForm(request.GET)
    filters = form.filters()
    events = audit_event_list(user=request.user, filters=filters, action=Action.EXPORT)
    audit_export_record(actor=request.user, unit_id=request.user.unit_id, filters=filters.as_dict(), count=events.count())  # type: ignore[union-attr]
    # The chain position counts every unit's events: only the national unit sees it.
    national = bool(getattr(request.user.unit, "is_national", False))
    writer = csv.writer(_Echo())
    header = ["id", "seq", "at", "actor", "action", "event", "description", "target_type", "target_id", "content_hash", "hash"]

    language = translation.get_language()

    def rows() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        with translation.override(language):  # the body is written after the view has returned
            for e in events.iterator(chunk_size=2000):
                yield writer.writerow([_cell(v) for v in (
                    e.id, e.seq if national else ("sealed" if e.seq else ""), e.at.isoformat(), e.actor, e.action, action_label(e.action), describe(e),
                    e.target_type, e.target_id, e.content_hash, e.hash,
                )])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="himaya-audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    _require(request.user, Action.VIEW)
    outcome = audit_verify_record(actor=request.user)
    if outcome.intact:
        messages.success(request, _("The audit chain is intact."))
    else:
        messages.error(request, _("The audit chain is broken: the log was altered outside Himaya."))
    return HttpResponseRedirect(reverse("audit:log"))
