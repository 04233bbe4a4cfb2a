"""From a report's projected identifiers to index entries, and from shared
entries to link strengths. Pure: no Django, no database.

Thresholds and strengths (why these numbers):

* A link's strength combines its shared identifiers as independent evidence,
  1 − Π(1 − sᵢ); reports are *merged* into one cluster at ≥ 0.7. One strong
  account identifier (platform user id, device id, email, phone, a non-generic
  screen name on the same platform) is enough; an IP (0.4) or a file (0.5) alone
  is not — a residential IP is shared by a household, a carrier-grade NAT or café
  Wi-Fi address by strangers, and a file by everyone who re-shared it. Together
  (same IP *and* same file) they are.
* Weak identifiers make no link at all, only a note: an IP the provider flagged
  possibleProxy; an IP seen with more than IP_SHARED_ACCOUNTS distinct accounts;
  a file annotated viral/meme, in a batched report, or named by more than
  POPULAR_REPORTS reports; a generic or very short screen name; an email, phone,
  device ID, screen name or URL that names more than SHARED_ACCOUNTS distinct
  accounts (a provider's placeholder contact such as a no-reply address or a
  dummy phone joins strangers: one person rarely keeps that many accounts, and
  their accounts still link through everything else they share).
* The victim's or intended recipient's identifiers link reports about the same
  child (strength × 0.7), which is shown but does not by itself merge suspects.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from himaya.linking.normalize import handle_is_generic, normalize

MERGE_THRESHOLD = 0.7
IP_SHARED_ACCOUNTS = 3
POPULAR_REPORTS = 5
SHARED_ACCOUNTS = 8
ACCOUNTS_KEPT = SHARED_ACCOUNTS + 1  # an IdentifierKey keeps this many of its accounts: enough to decide both rules
LINKS_PER_KEY = 50  # newest reports linked per identifier; older ones are already in the cluster

BASE_STRENGTH: dict[str, float] = {
    "esp_id": 0.95, "device": 0.95, "email": 0.9, "phone": 0.9, "screen_name": 0.8,
    "group": 0.5, "file_hash": 0.5, "ip": 0.4, "url": 0.4,
}
ROLE_FACTOR: dict[str, float] = {"reported": 1.0, "associated": 1.0, "": 1.0, "victim": 0.7, "recipient": 0.7}
# Provider staff, officers and the reporting person are not the subject of the
# report: their addresses would link every report of one provider.
LINKED_ROLES = frozenset(ROLE_FACTOR)
ACCOUNT_KINDS = ("esp_id", "screen_name", "email", "phone")
MAX_KEY = 255


@dataclass(slots=True)
class RawIdentifier:
    kind: str
    value: str
    qualifier: str = ""
    role: str = ""  # party role; "" for report-level and file-level identifiers
    party: int | None = None  # party id, to group one person's identifiers
    platform: str = ""  # the party's platform, else the report's
    possible_proxy: bool | None = None
    viral_file: bool = False  # annotated viral/meme or in a batched report


@dataclass(slots=True)
class Entry:
    kind: str
    key: str
    display: str
    role: str
    account: str  # key of the account this identifier belongs to ("" when none)
    weak: str = ""  # possible_proxy / generic_name / viral_file — weak on its own evidence


def short_key(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    kind = key.split(":", 1)[0]
    return f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


_ACCOUNT_RANK = {kind: i for i, kind in enumerate(ACCOUNT_KINDS)}


def extract(rows: Iterable[RawIdentifier], *, region: str = "") -> list[Entry]:
    """One entry per (key, role) of a report, the strongest version kept."""
    normal: list[tuple[RawIdentifier, str, str, str, bool]] = []
    accounts: dict[int, str] = {}
    rank = _ACCOUNT_RANK
    for r in rows:
        if r.role not in LINKED_ROLES:
            continue
        n = normalize(r.kind, r.value, qualifier=r.qualifier, platform=r.platform, region=region)
        if n is None:
            continue
        kind, key = n.kind, n.key
        if len(key) > MAX_KEY:
            key = short_key(key)
        generic = kind == "screen_name" and handle_is_generic(r.value)
        normal.append((r, kind, key, n.display, generic))
        if r.party is not None and kind in rank and not generic:
            # The first account identifier in order of ACCOUNT_KINDS names the party.
            current = accounts.get(r.party)
            if current is None or rank[kind] < rank[current.split(":", 1)[0]]:
                accounts[r.party] = key
    out: dict[tuple[str, str], Entry] = {}
    for r, kind, key, display, generic in normal:
        weak = ""
        if kind == "ip" and r.possible_proxy:
            weak = "possible_proxy"
        elif generic:
            weak = "generic_name"
        elif kind == "file_hash" and r.viral_file:
            weak = "viral_file"
        prev = out.get((key, r.role))
        if prev is None or (prev.weak and not weak):
            out[(key, r.role)] = Entry(kind, key, display, r.role, accounts.get(r.party, "") if r.party is not None else "", weak)
    return list(out.values())


@dataclass(slots=True)  # a rebuild holds one per key, millions of them
class KeyStats:
    reports: int = 0
    accounts: set[str] = field(default_factory=set)
    viral: bool = False


SHARED_KINDS = frozenset({"email", "phone", "device", "screen_name", "url"})  # weak when behind many accounts
WEAKENED_KINDS = frozenset({"ip", "file_hash"}) | SHARED_KINDS  # the only kinds key_weakness can call weak


def key_weakness(kind: str, stats: KeyStats) -> str:
    """Weak because of what the index knows of the key across all reports."""
    if kind not in WEAKENED_KINDS:
        return ""
    if kind == "ip" and len(stats.accounts) > IP_SHARED_ACCOUNTS:
        return "shared_ip"
    if kind in ("file_hash", "url") and (stats.viral or stats.reports > POPULAR_REPORTS):
        return "viral_file" if kind == "file_hash" else "widely_shared"
    if kind in SHARED_KINDS and len(stats.accounts) > SHARED_ACCOUNTS:
        return "many_accounts"
    return ""


class Shared(NamedTuple):
    """One identifier two reports share. A tuple: a from-scratch rebuild makes
    one per report pair and shared key, millions of them, and a frozen
    dataclass costs twice as much to make."""

    kind: str
    display: str
    role_a: str
    role_b: str


def identifier_strength(s: Shared) -> float:
    return BASE_STRENGTH.get(s.kind, 0.3) * min(ROLE_FACTOR.get(s.role_a, 0.5), ROLE_FACTOR.get(s.role_b, 0.5))


def link_strength(shared: Iterable[Shared]) -> float:
    miss = 1.0
    for s in shared:
        miss *= 1.0 - identifier_strength(s)
    return round(1.0 - miss, 3)
