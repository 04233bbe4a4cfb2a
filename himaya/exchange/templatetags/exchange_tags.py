from __future__ import annotations

from typing import Any

from django import template

from himaya.exchange.selectors import case_panel, report_panel

register = template.Library()


@register.simple_tag(takes_context=True)
def exchange_report_panel(context: Any, report: Any) -> dict[str, Any] | None:
    return report_panel(user=context["request"].user, report=report)


@register.simple_tag(takes_context=True)
def exchange_case_panel(context: Any, case: Any) -> dict[str, Any] | None:
    return case_panel(user=context["request"].user, case=case)
