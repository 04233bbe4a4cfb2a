"""What later apps add to a report's row in the earlier apps' lists.

The triage queue and the reports list (earlier in the flow) show each report's
case, assignees and due time, which the cases app (later) knows. The earlier app
does not import the later one: the later one registers a provider here in its
`AppConfig.ready()`, and the lists ask for one page of ids at once (a fixed
number of queries per page, never one per row).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Provider = Callable[[list[int]], dict[int, dict[str, Any]]]
_PROVIDERS: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    """`provider(report_ids)` answers {report id: {field: value}} for the ids it knows."""
    _PROVIDERS[name] = provider


def report_extras(report_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """{report id: {name: what that app says about it}} for one page of rows (already
    restricted to what the reader may see); a report nobody knows about maps to {}."""
    ids = list(dict.fromkeys(report_ids))
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return out
    for name, provider in _PROVIDERS.items():
        for report_id, value in provider(ids).items():
            if report_id in out:
                out[report_id][name] = value
    return out
