from __future__ import annotations

from typing import Any

from django import template

from himaya.linking.selectors import links_with_separations

register = template.Library()


@register.simple_tag
def linked_reports(report: Any, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`{% linked_reports report panel.links as links %}`: each link with its separation."""
    return links_with_separations(report.id, links)
