from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from himaya.portal.conf import helplines as conf_helplines
from himaya.portal.conf import setting
from himaya.portal.selectors import StaffPanel, staff_panel

register = template.Library()


@register.simple_tag
def purl(name: str, **kwargs: Any) -> str:
    """A portal address in the page's language (English under /portal/en/)."""
    if translation.get_language() == "en":
        kwargs["lang"] = "en"
    return reverse(f"portal:{name}", kwargs=kwargs or None)


@register.simple_tag(takes_context=True)
def other_language(context: Any) -> str:
    """The same page in the other language (a GET page; after a form, its start)."""
    request = context["request"]
    match = request.resolver_match
    kwargs = {k: v for k, v in match.kwargs.items() if k != "lang"}
    if translation.get_language() != "en":
        kwargs["lang"] = "en"
    return reverse(f"portal:{match.url_name}", kwargs=kwargs or None)


@register.simple_tag
def helplines() -> list[tuple[str, str]]:
    # Palestine's by default (HIMAYA_COUNTRY's default): police 100, the Sawa child protection line 121.
    lines = setting("HIMAYA_PORTAL_HELPLINES", None, conf_helplines) or [("police", "100"), ("child", "121")]
    names = {"police": _("Police (emergency)"), "child": _("Child protection helpline (free)")}
    return [(str(names.get(kind, kind)), number) for kind, number in lines]


@register.simple_tag(takes_context=True)
def portal_panel(context: Any, report: Any) -> StaffPanel | None:
    return staff_panel(user=context["user"], report=report)
