"""Small helpers for pages that render repeated rows in Python rather than as template
loops (the queue, "my work", the case page: bench/RESULTS.md, session 11)."""
from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from django.urls import reverse

_MARKER = 7_654_321_987


def escape_text(value: Any) -> str:
    """What django.utils.html.escape gives, without making a SafeString of each value."""
    return html.escape(str(value))


def object_address(name: str) -> Callable[[Any], str]:
    """An object's address by URL name (one argument, its id): `reverse()` once per
    page, not once per row."""
    head, tail = reverse(name, args=[_MARKER]).split(str(_MARKER))
    return lambda pk: f"{head}{pk}{tail}"
