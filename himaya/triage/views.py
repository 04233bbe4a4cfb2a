"""The triage queue, the override of one report, and the rule sets (SPEC §3.5).

Views parse the request and call selectors (permission in the queryset) and
services (writes with their audit events)."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from himaya.accounts.permissions import Action, Kind, allowed, check
from himaya.core.rendering import escape_text, object_address
from himaya.core.report_extras import report_extras
from himaya.reports.selectors import report_get_for_user, report_queryset_for_user
from himaya.triage.forms import BulkForm, OverrideForm
from himaya.triage.labels import DECISION_LABELS, PHRASE_LABELS, PRIORITY_LABELS, RULE_LABELS
from himaya.triage.models import ReportTriage
from himaya.triage.pagination import CappedPaginator
from himaya.triage.rules import TIERS
from himaya.triage.selectors import ruleset_versions_for_user, triage_queue_for_user
from himaya.triage.services import report_triage_override, report_triage_review, ruleset_active, ruleset_publish
from himaya.triage.validation import PHRASE_CATEGORIES, RuleSetError

PAGE_SIZE = 50
QUEUE_FIELDS = ("report_id", "effective_priority", "override_priority", "score", "reasons", "due_at", "reviewed_at",
                "report__id", "report__finished_at", "report__linkage__report_id", "report__linkage__decision",
                "report__linkage__country", "report__linkage__region", "report__linkage__unit_cluster_id")


def _can_triage(user) -> bool:  # type: ignore[no-untyped-def]
    return allowed(user, Action.CHANGE, Kind.TRIAGE)


def _can_edit_rules(user) -> bool:  # type: ignore[no-untyped-def]
    """The rule set is national: supervisors of the national unit publish it, the others read it."""
    return allowed(user, Action.MANAGE, Kind.RULE_SET)


def _when(moment: datetime) -> dict[str, str]:
    local = timezone.localtime(moment)
    return {"iso": local.isoformat(), "text": local.strftime("%Y-%m-%d %H:%M")}


def _queue_row(t: ReportTriage, *, now: datetime, queue_url: str, detail_url: Callable[[int], str], words: dict[str, Any]) -> dict[str, Any]:
    """What one queue row shows, as plain values. Made here rather than by filters
    and tags in the template: per row those were most of the page's CPU, and the
    page is what 20 analysts reload all day (SPEC §5, bench/bench_queue.py).
    `words`: the page's labels, translated once per page (`_queue_words`)."""
    linkage = getattr(t.report, "linkage", None)
    where = ""
    if linkage is not None:
        where = words["decisions"].get(linkage.decision, linkage.decision)
    return {
        "id": t.report_id, "tier": t.effective_priority, "tier_label": words["tiers"].get(t.effective_priority, t.effective_priority),
        "overridden": bool(t.override_priority), "score": t.score,
        "select_label": words["select"] % {"id": t.report_id},
        "detail_url": detail_url(t.report_id),
        "reasons": [words["rules"].get(r["rule"], r["rule"]) for r in t.reasons[:3]],  # labels.rule_label
        "decision": where, "country": linkage.country if linkage else "", "region": linkage.region if linkage else "",
        "cluster": linkage.unit_cluster_id if linkage else None,
        "cluster_url": f"{queue_url}?cluster={linkage.unit_cluster_id}&reviewed=all" if linkage else "",
        "received": _when(t.report.finished_at) if t.report.finished_at else None, "due": _when(t.due_at),
        "overdue": t.reviewed_at is None and t.due_at < now, "reviewed": t.reviewed_at is not None,
    }


def _queue_words() -> dict[str, Any]:
    """The queue's labels in the active language, once per page rather than once per row."""
    return {"select": _("Select report %(id)s"), "tiers": {k: str(v) for k, v in PRIORITY_LABELS.items()},
            "decisions": {k: str(v) for k, v in DECISION_LABELS.items()}, "rules": {k: str(v) for k, v in RULE_LABELS.items()}}


def _queue_row_html(row: dict[str, Any], *, can_triage: bool, labels: dict[str, str]) -> SafeString:
    """A queue row's cells up to its case cell (a template tag of himaya.cases renders
    that one): the HTML of the template loop it replaces, as one string with every
    value escaped, instead of some thirty template nodes per row (bench/RESULTS.md,
    session 11: the rows were most of the page's CPU)."""
    e = escape_text
    rid = e(row["id"])
    check = f'<td><input type="checkbox" name="reports" value="{rid}" aria-label="{e(row["select_label"])}"></td>' if can_triage else ""
    where = "—"
    if row["decision"]:
        where = e(row["decision"])
        if row["country"]:
            where += f' <bdi>({e(row["country"])}{" · " + e(row["region"]) if row["region"] else ""})</bdi>'
    if row["overdue"]:
        mark = f'<span class="badge--overdue">{e(labels["overdue"])}</span>'
    elif row["reviewed"]:
        mark = f'<span class="chip">{e(labels["reviewed"])}</span>'
    else:
        mark = ""
    tier = e(row["tier"])
    changed = f'<span class="badge--override">{e(labels["changed"])}</span>' if row["overridden"] else ""
    reasons = "".join(f'<span class="chip">{e(label)}</span>' for label in row["reasons"]) or '<span class="muted">—</span>'
    cluster = f'<a href="{e(row["cluster_url"])}"><bdi>{e(row["cluster"])}</bdi></a>' if row["cluster_url"] else ""
    received = (f'<time datetime="{e(row["received"]["iso"])}" dir="ltr">{e(row["received"]["text"])}</time>'
                if row["received"] else "")
    return mark_safe(
        f'\n    <tr class="queue-row{" is-p1" if row["tier"] == "P1" else ""}" data-report="{rid}">\n      {check}\n'
        f'      <td><span class="tier tier--{tier}" title="{e(row["tier_label"])}">{tier}</span>\n        {changed}</td>\n'
        f'      <td class="num">{e(row["score"])}</td>\n'
        f'      <td><a class="report-link" href="{e(row["detail_url"])}#triage"><bdi>{rid}</bdi></a></td>\n'
        f'      <td>{reasons}</td>\n'
        f'      <td>{where}</td>\n'
        f'      <td>{cluster}</td>\n'
        f'      <td class="nowrap">{received}</td>\n'
        f'      <td class="nowrap"><time datetime="{e(row["due"]["iso"])}" dir="ltr">{e(row["due"]["text"])}</time>\n        {mark}</td>\n'
        f'      <td class="queue-case">')


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    priority = request.GET.get("priority", "")
    priority = priority if priority in TIERS else ""
    decision = request.GET.get("decision", "")
    decision = decision if decision in ("ours", "foreign", "unknown") else ""
    overdue = {"1": True, "0": False}.get(request.GET.get("overdue", ""))
    reviewed = {"1": True, "all": None}.get(request.GET.get("reviewed", ""), False)
    cluster_raw = request.GET.get("cluster", "").strip()
    cluster = int(cluster_raw) if cluster_raw.isdigit() and len(cluster_raw) < 19 else None
    qs = triage_queue_for_user(request.user, priority=priority, decision=decision, cluster=cluster, overdue=overdue, reviewed=reviewed, now=now)

    if request.method == "POST":
        if not _can_triage(request.user):
            raise PermissionDenied
        raw_ids = [int(x) for x in request.POST.getlist("reports") if x.isdigit() and len(x) < 19]
        # Only reports this user may see are valid choices: checked through the queryset.
        visible = set(report_queryset_for_user(request.user).filter(id__in=raw_ids).values_list("id", flat=True))  # type: ignore[arg-type]
        form = BulkForm(request.POST, report_ids=sorted(visible))
        if form.is_valid() and visible:
            chosen = [i for i in form.cleaned_data["reports"] if i in visible]
            if form.cleaned_data["action"] == "review":
                n = report_triage_review(report_ids=chosen, actor=request.user)
                messages.success(request, _("%(n)d reports marked as reviewed.") % {"n": n})
            else:
                for rid in chosen:
                    report_triage_override(report_id=rid, actor=request.user, reason=form.cleaned_data["reason"], priority=form.cleaned_data["priority"])
                messages.success(request, _("Priority changed for %(n)d reports.") % {"n": len(chosen)})
        else:
            messages.error(request, _("Choose reports and an action (a priority needs a reason)."))
        return HttpResponseRedirect(request.get_full_path())

    # Only what a row shows (_queue_row): the rest of the report and of its linkage
    # (evidence, notes, classification) is JSON, decoded for nothing.
    qs = qs.only(*QUEUE_FIELDS)
    # Counted up to a cap: a full count of a large unit's queue is most of the page's time.
    page = CappedPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    queue_url = reverse("triage:queue")
    detail_url = object_address("reports:detail")
    words = _queue_words()
    rows = [_queue_row(t, now=now, queue_url=queue_url, detail_url=detail_url, words=words) for t in page.object_list]
    extras = report_extras([row["id"] for row in rows])  # the case, its assignees, its due time (himaya.cases)
    can_triage = _can_triage(request.user)
    labels = {"changed": _("changed by a person"), "overdue": _("Overdue"), "reviewed": _("Reviewed")}
    for row in rows:
        row["case"] = extras[row["id"]].get("case")
        row["html"] = _queue_row_html(row, can_triage=can_triage, labels=labels)
    return render(request, "triage/queue.html", {
        "page": page, "rows": rows, "query": query.urlencode(),
        "priority": priority, "decision": decision, "overdue": request.GET.get("overdue", ""),
        "reviewed": request.GET.get("reviewed", ""), "cluster": cluster_raw,
        "priorities": list(PRIORITY_LABELS.items()), "can_triage": can_triage,
        "filtered": bool(priority or decision or overdue is not None or cluster is not None or reviewed is not False),
    })


@login_required
@require_POST
def override(request: HttpRequest, pk: int) -> HttpResponse:
    report = report_get_for_user(user=request.user, report_id=pk, audit=False)  # type: ignore[arg-type]
    check(request.user, Action.CHANGE, Kind.TRIAGE, report)
    form = OverrideForm(request.POST)
    if form.is_valid() and hasattr(report, "triage"):
        classification = None
        if form.cleaned_data["change_classification"]:
            base = report.triage.override_classification or report.triage.classification
            classification = {**base, "offences": form.cleaned_data["offences"]}
        report_triage_override(report_id=report.id, actor=request.user, reason=form.cleaned_data["reason"],
                               priority=form.cleaned_data["priority"], classification=classification)
        messages.success(request, _("The priority decision was recorded."))
    else:
        messages.error(request, _("Not recorded: give a reason, and a priority or offence categories."))
    return HttpResponseRedirect(reverse("reports:detail", args=[report.id]) + "#triage")


@login_required
def rules(request: HttpRequest) -> HttpResponse:
    check(request.user, Action.VIEW, Kind.RULE_SET)
    version, data = ruleset_active()
    editable = _can_edit_rules(request.user)
    error = ""
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        new = json.loads(json.dumps(data))
        try:
            for spec in new["rules"]:
                name = spec["rule"]
                spec["weight"] = int(request.POST.get(f"weight-{name}", spec.get("weight", 0)))
                spec["enabled"] = request.POST.get(f"enabled-{name}") == "on"
                for bound in ("floor", "cap"):
                    value = request.POST.get(f"{bound}-{name}", "")
                    if value in TIERS:
                        spec[bound] = value
                    else:
                        spec.pop(bound, None)
            for tier in ("P1", "P2", "P3"):
                new["thresholds"][tier] = int(request.POST.get(f"threshold-{tier}", new["thresholds"][tier]))
            for tier in TIERS:
                new["service_targets"][tier] = int(request.POST.get(f"target-{tier}", new["service_targets"][tier]))
            for cat in PHRASE_CATEGORIES:
                if f"phrases-{cat}" in request.POST:
                    new["phrases"][cat] = [line.strip() for line in request.POST[f"phrases-{cat}"].splitlines() if line.strip()]
            rs = ruleset_publish(actor=request.user, data=new, note=request.POST.get("note", "")[:1000])
        except (ValueError, RuleSetError) as exc:
            error = str(exc)
        else:
            messages.success(request, _("Rule set version %(v)d is in force; open reports are being re-triaged.") % {"v": rs.version})
            return HttpResponseRedirect(reverse("triage:rules"))
    rows = [{"spec": s, "label": RULE_LABELS.get(s["rule"], s["rule"]), "enabled": s.get("enabled", True)} for s in data["rules"]]
    phrases = [{"key": k, "label": PHRASE_LABELS[k], "text": "\n".join(data["phrases"].get(k, []))} for k in PHRASE_CATEGORIES]
    return render(request, "triage/rules.html", {
        "version": version, "rows": rows, "thresholds": data["thresholds"], "targets": data["service_targets"],
        "phrases": phrases, "editable": editable, "error": error, "tiers": TIERS,
        "versions": ruleset_versions_for_user(user=request.user),
    })
