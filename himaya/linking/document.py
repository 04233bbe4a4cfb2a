"""What linking reads from the stored report tree (JSON form of
himaya.intake.cybertip.Node: {"t": tag, "a": attrs, "x": text, "c": children})
that the projection tables do not hold. Pure: no Django."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from himaya.reports.projection import PARTY_CONTAINERS


@dataclass(frozen=True)
class EstimatedLocation:
    role: str
    country: str
    region: str
    city: str
    verified: bool


def _walk(node: dict[str, Any], role: str) -> Iterator[tuple[dict[str, Any], str]]:
    for child in node.get("c", []):
        child_role = PARTY_CONTAINERS.get(child.get("t", ""), role)
        yield child, child_role
        yield from _walk(child, child_role)


def _text(node: dict[str, Any], tag: str) -> str:
    for c in node.get("c", []):
        if c.get("t") == tag:
            return (c.get("x") or "").strip()
    return ""


def prior_reports(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, report id as given) of every priorCTReports."""
    return [(role, (n.get("x") or "").strip()) for n, role in _walk(document, "") if n.get("t") == "priorCTReports" and (n.get("x") or "").strip()]


def estimated_locations(document: dict[str, Any]) -> list[EstimatedLocation]:
    out = []
    for n, role in _walk(document, ""):
        if n.get("t") == "estimatedLocation":
            country = _text(n, "countryCode").upper()
            if len(country) == 2 and country.isalpha():
                out.append(EstimatedLocation(role, country, _text(n, "region"), _text(n, "city"),
                                             (n.get("a") or {}).get("verified", "").strip() in ("true", "1")))
    return out
