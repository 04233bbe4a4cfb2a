"""Offline IP → country (and region where the data has it). No network calls.

Two sources, the first that answers wins:

1. a ranges file loaded by `himaya geoip update FILE` into HIMAYA_HOME/geoip/ranges.csv
   (CSV rows `start,end,country[,region]`, IPv4 or IPv6, e.g. an IP2Location LITE or
   DB-IP lite country/region export converted to ranges, or a unit's own list);
2. the `iptocc` package: country from the five Regional Internet Registries'
   delegation files, embedded in the wheel (MIT/Apache-2.0). It knows countries
   only — the region comes from (1) or from the report's estimatedLocation.

The RIR data says where a block is *registered*; for a national ISP's customers
that is the country they are in, for cloud and VPN ranges it may not be. That is
why an IP is one piece of evidence among several, never the decision alone.
"""
from __future__ import annotations

import bisect
import functools
import csv
import io
import ipaddress
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import iptocc


@dataclass(frozen=True)
class Place:
    country: str
    region: str = ""
    source: str = ""


class RangeTable:
    def __init__(self, rows: list[tuple[int, int, int, str, str]]) -> None:
        # (version, start, end, country, region), sorted by (version, start)
        rows.sort()
        self._keys = [(r[0], r[1]) for r in rows]
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Place | None:
        key = (address.version, int(address))
        i = bisect.bisect_right(self._keys, key) - 1
        if i >= 0:
            version, start, end, country, region = self._rows[i]
            if version == address.version and start <= int(address) <= end:
                return Place(country, region, "ranges")
        return None


def parse_ranges(text: str) -> list[tuple[int, int, int, str, str]]:
    """`start,end,country[,region]` (a header line and # comments are skipped); a CIDR in
    `start` with an empty `end` is accepted too. Raises ValueError naming the bad line."""
    rows: list[tuple[int, int, int, str, str]] = []
    for n, rec in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not rec or rec[0].lstrip().startswith("#"):
            continue
        if n == 1 and rec[0].strip().lower() in ("start", "ip_from", "network", "from"):
            continue
        try:
            first = rec[0].strip()
            if "/" in first:
                net = ipaddress.ip_network(first, strict=False)
                start, end = net.network_address, net.broadcast_address
                country_at = 2 if len(rec) > 2 and not rec[1].strip() else 1
            elif first.isdigit():  # IP2Location CSVs give integers
                start, end = ipaddress.ip_address(int(first)), ipaddress.ip_address(int(rec[1].strip()))
                country_at = 2
            else:
                start, end = ipaddress.ip_address(first), ipaddress.ip_address(rec[1].strip())
                country_at = 2
            country = rec[country_at].strip().upper()
            region = rec[country_at + 1].strip() if len(rec) > country_at + 1 else ""
        except (ValueError, IndexError) as exc:
            raise ValueError(f"line {n}: {exc}") from None
        if start.version != end.version or int(end) < int(start):
            raise ValueError(f"line {n}: bad range")
        if len(country) != 2 or not country.isalpha() or country == "-":
            continue  # "-" / "ZZ": unassigned
        rows.append((start.version, int(start), int(end), country, region[:100]))
    return rows


@functools.lru_cache(maxsize=8)  # asked once per report in a rebuild: a million Path objects otherwise
def ranges_path(home: Path) -> Path:
    return Path(home) / "geoip" / "ranges.csv"


_lock = threading.Lock()
_cache: dict[str, object] = {"mtime": None, "table": None, "path": None, "checked": 0.0}
RECHECK_SECONDS = 2.0  # an update by another process is seen within this; one by this process at once


def _table(path: Path | None) -> RangeTable | None:
    if path is None:
        return None
    now = time.monotonic()
    if _cache["path"] == path and now - _cache["checked"] < RECHECK_SECONDS:  # type: ignore[operator]
        return _cache["table"]  # type: ignore[return-value]
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = None
    with _lock:
        if _cache["path"] != path or _cache["mtime"] != mtime:
            _cache["table"] = RangeTable(parse_ranges(path.read_text(encoding="utf-8"))) if mtime is not None else None
            _cache["mtime"], _cache["path"] = mtime, path
        _cache["checked"] = now
        return _cache["table"]  # type: ignore[return-value]


def locate_ip(canonical: str, *, ranges_file: Path | None = None) -> Place | None:
    table = _table(ranges_file)
    return _locate(canonical, table)


@functools.lru_cache(maxsize=100_000)
def _locate(canonical: str, table: RangeTable | None) -> Place | None:
    if table is not None:
        try:
            address = ipaddress.ip_address(canonical)
        except ValueError:
            return None
        hit = table.lookup(address)
        if hit is not None:
            return hit
    # The canonical text as it came: iptocc parses it natively (and answers None
    # to what is not an address), where parsing and writing it out again in
    # Python cost a rebuild as much as the lookup.
    country = iptocc.country_code(canonical)
    return Place(country, "", "rir") if country else None


def install_ranges(text: str, *, ranges_file: Path) -> int:
    """Validate then atomically replace the ranges file; returns the number of ranges."""
    rows = parse_ranges(text)
    path = ranges_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    _cache["checked"] = 0.0  # this process sees the new table at once
    return len(rows)
