"""The portal's settings: a Django setting when one is set (tests), else the
environment variable of the same name, else the default."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings


def setting(name: str, default: Any, cast: Callable[[str], Any] = str) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    return cast(raw) if raw not in (None, "") else default


def helplines(raw: str) -> list[tuple[str, str]]:
    """"police:100,child:121" → [("police", "100"), ("child", "121")]."""
    return [tuple(part.split(":", 1)) for part in raw.split(",") if ":" in part]  # type: ignore[misc]
