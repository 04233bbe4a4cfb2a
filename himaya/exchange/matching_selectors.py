"""Reads of identifier matches with partner units, restricted by the permission
table (a PartnerMatch is seen like the unit's links: Kind.LINK)."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from himaya.accounts.permissions import Action, restrict
from himaya.exchange.models import PartnerMatch
from himaya.linking.models import IdentifierEntry


def partner_matches_of_report(*, user: Any, report: Any) -> list[PartnerMatch]:
    """The report's identifiers that partner units also hold ("also known to
    partner X"): the latest match of each identifier with each partner."""
    keys = IdentifierEntry.objects.filter(report_id=report.id).values("key")
    rows: QuerySet[PartnerMatch] = restrict(PartnerMatch.objects.filter(unit_id=report.unit_id, key__in=keys), user, Action.VIEW)
    latest: dict[tuple[int, str], PartnerMatch] = {}
    for m in rows.select_related("partner").order_by("-matched_at", "-id"):
        latest.setdefault((m.partner_id, m.key), m)
    return sorted(latest.values(), key=lambda m: (m.partner.name, m.kind, m.display))
