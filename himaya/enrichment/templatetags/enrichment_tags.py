from __future__ import annotations

from typing import Any

from django import template

from himaya.enrichment.selectors import report_enrichment_panel

register = template.Library()


@register.simple_tag
def enrichment_panel(report: Any) -> Any:
    return report_enrichment_panel(report)
