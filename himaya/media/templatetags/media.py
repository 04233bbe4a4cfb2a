from __future__ import annotations

from typing import Any

from django import template

from himaya.media.selectors import can_view_media, file_is_locked, file_media_summary

register = template.Library()


@register.simple_tag
def media_summary(report_file: Any) -> dict[str, Any]:
    return file_media_summary(report_file)


@register.simple_tag
def media_viewable(user: Any) -> bool:
    return can_view_media(user)


@register.simple_tag
def media_locked(report_file: Any) -> bool:
    return file_is_locked(report_file)


@register.filter
def media_actor(label: str) -> str:
    """An audit actor label as a person reads it: the username, or who acted when no user did."""
    from django.utils.translation import gettext as _

    if not label:
        return "—"
    if label.startswith("user:"):
        return label.removeprefix("user:")
    return {"cli": _("command line"), "system": _("system")}.get(label, label)
