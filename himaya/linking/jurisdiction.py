"""The jurisdiction decision (SPEC §3.4). Pure: no Django, no database.

Evidence comes from the people the report is about (reported person, victim,
intended recipient) — never from the provider's own contacts. Each piece has a
weight: what the provider says of the place (estimatedLocation) counts most, a
phone number next, an IP least (VPNs, roaming); a proxy IP does not count.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

WEIGHTS = {"estimated_location": 3.0, "phone": 2.0, "ip": 1.0}


@dataclass(frozen=True)
class Clue:
    source: str  # estimated_location / phone / ip
    country: str
    region: str = ""
    detail: str = ""  # the address, number or place as given
    role: str = ""


def decide(clues: list[Clue], *, home: str) -> dict[str, Any]:
    """{"country", "region", "decision", "evidence"}.

    Ours when any clue about the people places them at home: a child or a suspect
    here is this unit's to act on even if another country is also involved.
    Foreign when every clue points elsewhere: the best-supported country is the
    one to refer to. Unknown without clues.
    """
    home = home.upper()
    evidence = [{"source": c.source, "country": c.country, "region": c.region, "detail": c.detail, "role": c.role} for c in clues]
    if not clues:
        return {"country": None, "region": None, "decision": "unknown", "evidence": []}
    at_home = [c for c in clues if c.country == home]
    if at_home:
        region = next((c.region for c in sorted(at_home, key=lambda c: -WEIGHTS.get(c.source, 1)) if c.region), "")
        return {"country": home, "region": region or None, "decision": "ours", "evidence": evidence}
    score: dict[str, float] = defaultdict(float)
    for c in clues:
        score[c.country] += WEIGHTS.get(c.source, 1.0)
    # A tie goes to the country of the weightiest single clue (the provider's
    # estimate over a phone over an address), not to the alphabet.
    strongest = {k: max(WEIGHTS.get(c.source, 1.0) for c in clues if c.country == k) for k in score}
    country = max(sorted(score), key=lambda k: (score[k], strongest[k]))
    region = next((c.region for c in clues if c.country == country and c.region), "")
    return {"country": country, "region": region or None, "decision": "foreign", "evidence": evidence}
