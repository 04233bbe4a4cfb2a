"""Templates ask the one table whether to show a control: `{% if user|may:"change:triage" %}`."""
from __future__ import annotations

from typing import Any

from django import template

from himaya.accounts.permissions import allowed

register = template.Library()


@register.filter
def may(user: Any, what: str) -> bool:
    """`"action:kind"`, e.g. `"manage:hash_list"`."""
    action, _, kind = what.partition(":")
    return allowed(user, action, kind)
