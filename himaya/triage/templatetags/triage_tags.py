from __future__ import annotations

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


@register.filter
def decision_label(name: str) -> str:
    return str(labels.DECISION_LABELS.get(name, name))


@register.filter
def offence_label(name: str) -> str:
    return str(labels.OFFENCE_LABELS.get(name, name))


@register.filter
def kind_label(name: str) -> str:
    return str(labels.KIND_LABELS.get(name, name))


@register.filter
def weak_label(name: str) -> str:
    return str(labels.WEAK_LABELS.get(name, name))


@register.filter
def source_label(name: str) -> str:
    return str(labels.SOURCE_LABELS.get(name, name))


@register.filter
def priority_label(name: str) -> str:
    return str(labels.PRIORITY_LABELS.get(name, name))


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
