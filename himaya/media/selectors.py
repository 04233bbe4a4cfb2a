"""Reads of media state (hashes, list matches). Filled in by the media capability."""
from __future__ import annotations

from typing import Any


def file_media_summary(report_file: Any) -> dict[str, Any]:
    """The SPEC §4.3 media fields of one report file."""
    return {"pdq": None, "pdq_quality": None, "status": "pending", "matches": []}
