from __future__ import annotations

from typing import Any

from django import template

from himaya.exchange.matching_selectors import partner_matches_of_report

register = template.Library()


@register.simple_tag(takes_context=True)
def partner_matches(context: Any, report: Any) -> list[Any]:
    """`{% partner_matches report as matches %}`"""
    return partner_matches_of_report(user=context["request"].user, report=report)
