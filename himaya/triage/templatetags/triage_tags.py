from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template

from himaya.triage import labels
from himaya.triage.evidence import evidence_display
from himaya.triage.selectors import report_triage_panel

register = template.Library()


@register.simple_tag
def triage_panel(report: Any) -> Any:
    return report_triage_panel(report)


@register.filter
def rule_label(name: str) -> str:
    return labels.rule_label(name)


@register.filter
def evidence(text: str) -> str:
    return evidence_display(text)


# One filter per label table: `{{ name|decision_label }}` and so on.
_LABEL_FILTERS = {
    "decision_label": labels.DECISION_LABELS,
    "offence_label": labels.OFFENCE_LABELS,
    "kind_label": labels.KIND_LABELS,
    "weak_label": labels.WEAK_LABELS,
    "source_label": labels.SOURCE_LABELS,
    "priority_label": labels.PRIORITY_LABELS,
}


def _label_filter(table: dict) -> Callable[[str], str]:
    return lambda name: str(table.get(name, name))


for _name, _table in _LABEL_FILTERS.items():
    register.filter(_name, _label_filter(_table))


@register.filter
def percent(value: float) -> int:
    return round((value or 0) * 100)


@register.filter
def tens(value: float) -> int:
    """A strength 0..1 as a width class 10..100 (CSP: no inline style)."""
    return max(10, min(100, int(round((value or 0) * 10)) * 10))


@register.simple_tag
def offence_choices() -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in labels.OFFENCE_LABELS.items()]
