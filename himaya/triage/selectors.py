"""Reads of triage results. Filled in by the linking/triage capability."""
from __future__ import annotations

from typing import Any


def report_triage_summary(report: Any) -> dict[str, Any]:
    """The SPEC §4.3 triage fields of one report."""
    return {"priority": None, "score": None, "reasons": [], "classification": None,
            "jurisdiction": None, "cluster": None, "linked_reports": []}
