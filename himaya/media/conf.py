"""Matching thresholds (SPEC §3.2): a site setting wins, then the environment, then the default."""
from __future__ import annotations

import os

from django.conf import settings


def _setting(name: str, default: str) -> str:
    return str(getattr(settings, name, os.environ.get(name, default)))


def pdq_max_distance() -> int:
    return int(_setting("HIMAYA_PDQ_MAX_DISTANCE", "31"))


def pdq_min_quality() -> int:
    return int(_setting("HIMAYA_PDQ_MIN_QUALITY", "50"))


def vpdq_match_share() -> float:
    return float(_setting("HIMAYA_VPDQ_MATCH_SHARE", "0.8"))


def max_decode_bytes() -> int:
    return int(_setting("HIMAYA_MEDIA_MAX_DECODE_BYTES", str(512 * 1024 * 1024)))


def pdq_index_layout() -> str:
    """"compact" (the default: the hashes alone, 32 bytes per hash — SPEC §5's memory
    target; batches as fast as "fast"; a batch of one file ~0.4 s at 10 M list hashes)
    or "fast" (multi-index tables: ~93 bytes per hash, a lone query in milliseconds). Both the re-match job and arrivals match in batches: arriving files
    waiting to be matched are taken together by the next worker to finish hashing, so under
    load the batches grow. bench/RESULTS.md has the numbers."""
    value = _setting("HIMAYA_PDQ_INDEX_LAYOUT", "compact")
    from himaya.media.index import LAYOUTS

    if value not in LAYOUTS:
        raise ValueError(f"HIMAYA_PDQ_INDEX_LAYOUT must be one of {', '.join(LAYOUTS)}, not {value!r}")
    return value
