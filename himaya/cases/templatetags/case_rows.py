"""Rows that a page repeats (a report's case in the queue and the reports list, the
rows of "my work"), rendered in Python: the same HTML as the template loops they
replace, without a dozen template nodes, a `reverse()`, a date filter and a
`get_FOO_display()` per row (bench/RESULTS.md, session 11: those were most of
the pages' CPU, and 20 people reload them all day, SPEC §5). Every value is
escaped as the template escaped it."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from himaya.cases.models import CaseStatus, LegalRequestKind, ReferralKind, ReferralState, TaskKind
from himaya.cases.presentation import choice_label
from himaya.core.rendering import escape_text, object_address

register = template.Library()


e = escape_text


def address(name: str) -> Callable[[Any], str]:
    """An object's address by URL name, escaped: reversed once per call of a tag, not once per row."""
    url = object_address(name)
    return lambda pk: e(url(pk))


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d")


@register.simple_tag
def report_case(case: dict[str, Any] | None) -> SafeString:
    """A report's case (himaya.cases.selectors.report_case_info): its reference, its
    assignees and its next due time."""
    if not case:
        return mark_safe('<span class="muted">—</span>\n')
    names = case["assignees"]
    if names:
        people = e(_(", ")).join(f"<bdi>{e(name)}</bdi>" for name in names)
    else:
        people = f'<span class="muted">{e(_("not assigned"))}</span>'
    due = ""
    if case["due"]:
        late = f' <span class="badge--overdue">{e(_("Overdue"))}</span>' if case["overdue"] else ""
        due = f'<span class="nowrap small">{e(_("due"))} <bdi dir="ltr">{e(case["due"])}</bdi>{late}</span>'
    reference = e(case["reference"])
    return mark_safe(f'<a href="{address("cases:detail")(case["id"])}" data-case-ref="{reference}"><bdi class="code">{reference}</bdi></a>\n'
                     f'<span class="small">{people}</span>\n{due}\n')


@register.simple_tag
def task_rows(tasks: Iterable[Any], late: bool = False) -> SafeString:
    """The rows of a "my work" task table (tasks with their case selected)."""
    url = address("cases:detail")
    cls = ' class="overdue"' if late else ""
    rows = []
    for t in tasks:
        if t.due_at:
            due = f'<bdi dir="ltr">{timezone.localtime(t.due_at).strftime("%Y-%m-%d %H:%M")}</bdi>'
        elif t.due:
            due = f'<bdi dir="ltr">{_day(t.due)}</bdi>'
        else:
            due = "—"
        rows.append(f'\n    <tr data-task="{e(t.pk)}"{cls}>\n      <td><a href="{url(t.case_id)}#tasks"><bdi class="code">{e(t.case.reference)}</bdi></a></td>\n'
                    f'      <td><bdi>{e(t.title)}</bdi></td><td>{e(choice_label(TaskKind, t.kind))}</td>\n      <td>{due}</td>\n    </tr>')
    return mark_safe("".join(rows))


@register.simple_tag
def referral_items(referrals: Iterable[Any]) -> SafeString:
    """The referrals a person answers for, one <li> each (with the victim's case selected)."""
    url = address("cases:detail")
    return mark_safe("".join(
        f'\n    <li><a href="{url(r.victim.case_id)}#victim-{e(r.victim_id)}"><bdi class="code">{e(r.victim.case.reference)}</bdi></a>'
        f' · {e(choice_label(ReferralKind, r.kind))} · <bdi>{e(r.service)}</bdi> · {e(choice_label(ReferralState, r.state))}</li>\n  '
        for r in referrals))


@register.simple_tag
def legal_items(requests: Iterable[Any]) -> SafeString:
    """Legal requests awaiting an answer, one <li> each (with their case selected)."""
    url = address("cases:detail")
    rows = []
    for q in requests:
        overdue = q.overdue
        due = f' · {e(_("due"))} <bdi dir="ltr">{_day(q.due_on)}</bdi>' if q.due_on else ""
        badge = f' <span class="badge badge--alert">{e(_("Overdue"))}</span>' if overdue else ""
        cls = ' class="overdue"' if overdue else ""
        rows.append(f'\n    <li{cls}><a href="{url(q.case_id)}#legal"><bdi class="code">{e(q.case.reference)}</bdi></a>'
                    f' · <bdi>{e(q.provider)}</bdi> · {e(choice_label(LegalRequestKind, q.kind))}{due}{badge}</li>\n  ')
    return mark_safe("".join(rows))


@register.simple_tag
def case_items(cases: Iterable[Any]) -> SafeString:
    """A person's cases, one <li> each."""
    url = address("cases:detail")
    label = e(_("Deadline"))
    rows = []
    for c in cases:
        deadline = f' · {label} <bdi dir="ltr">{_day(c.deadline)}</bdi>' if c.deadline else ""
        rows.append(f'\n    <li><a href="{url(c.pk)}"><bdi class="code">{e(c.reference)}</bdi></a> · <bdi>{e(c.title)}</bdi>'
                    f' · {e(choice_label(CaseStatus, c.status))}{deadline}</li>\n  ')
    return mark_safe("".join(rows))
