"""Identifier matching with a partner unit without disclosure (SPEC §3.8, §4.2):
`himaya exchange match` calls the partner's `himaya exchange match-serve`; the two
servers run the private set intersection of himaya.exchange.psi on the unit's
normalised identifiers, and each records what both hold.

What is offered: every distinct identifier key linking extracted from the
unit's reports (himaya.linking: the same normalisers on both sides, so the same
person's phone or account is the same key) of the kinds a person or a file is
known by — e-mails, phones, platform accounts and screen names, device ids, file
hashes — except weak ones (a viral file, a shared address): a match on those
says nothing about a person. IP addresses and URLs are not offered.

A match is checked against the unit's own identifiers before it is recorded
(the protocol returns own items only, and a key no longer held is dropped), then
kept as a PartnerMatch: "also known to partner X", with the identifier, the
partner and when. The session and what was matched are audited on both sides,
and so is a refused or failed session.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from himaya.accounts.models import Unit
from himaya.accounts.permissions import Action, Kind, check
from himaya.exchange import events, psi
from himaya.exchange.errors import ExchangeError
from himaya.exchange.services import _partner_by_name, _unit, keys_of
from himaya.exchange.models import MatchSession, Partner, PartnerMatch
from himaya.linking.models import IdentifierEntry

MATCH_KINDS = ("email", "phone", "esp_id", "screen_name", "device", "file_hash")


@dataclass(frozen=True)
class Identifier:
    kind: str
    key: str
    display: str


def match_identifiers(*, unit: Unit) -> dict[bytes, Identifier]:
    """What this unit offers, by the bytes the protocol hashes (the key)."""
    rows = (IdentifierEntry.objects.filter(report__unit=unit, kind__in=MATCH_KINDS, weak="")
            .order_by().values_list("key", "kind", "display").distinct())
    out: dict[bytes, Identifier] = {}
    for key, kind, display in rows.iterator(chunk_size=20_000):
        out.setdefault(key.encode(), Identifier(kind, key, display))
    return out


def _max_set() -> int:
    return int(getattr(settings, "HIMAYA_PSI_MAX_SET", psi.DEFAULT_MAX_SET))


@transaction.atomic
def _record(*, actor: object, unit: Unit, partner: Partner, side: str, outcome: psi.Outcome,
            offered: dict[bytes, Identifier]) -> MatchSession:
    finished = timezone.now()
    found = [offered[item] for item in outcome.matched if item in offered]
    # False positives are possible in principle: keep only what this unit still holds.
    still: set[str] = set()
    for start in range(0, len(found), 5000):  # bounded IN lists
        keys = [i.key for i in found[start:start + 5000]]
        still.update(IdentifierEntry.objects.filter(report__unit=unit, key__in=keys).values_list("key", flat=True))
    found = [i for i in found if i.key in still]
    session = MatchSession.objects.create(
        unit=unit, partner=partner, side=side, started_at=dt.datetime.fromtimestamp(outcome.started, dt.UTC), finished_at=finished,
        offered=outcome.own_size, partner_offered=outcome.peer_size, matched=len(found), partner_matched=outcome.peer_found,
        kinds=list(MATCH_KINDS),
    )
    PartnerMatch.objects.bulk_create(
        [PartnerMatch(unit=unit, partner=partner, session=session, kind=i.kind, key=i.key, display=i.display[:300], matched_at=finished)
         for i in found], batch_size=2000)
    events.match_completed_event(actor=actor, session=session, matched=[(i.kind, i.display) for i in found])
    return session


@transaction.atomic
def _failed(*, actor: object, unit: Unit, partner: Partner, side: str, address: str, reason: str) -> None:
    events.match_failed_event(actor=actor, unit_id=unit.id, partner=partner, side=side, address=address, reason=reason)


def match_with_partner(*, partner_name: str, host: str, port: int, unit_code: str | None = None, actor: object,
                       timeout: float = psi.DEFAULT_TIMEOUT, progress: Callable[[str], None] | None = None) -> MatchSession:
    """Calls the partner's match-serve and matches; this side is `caller`."""
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    partner = _partner_by_name(unit=unit, name=partner_name)
    keys = keys_of(unit)
    offered = match_identifiers(unit=unit)
    try:
        outcome = psi.connect(host, port, timeout=timeout, signing_key=keys.signing, peer_key=bytes.fromhex(partner.signing_key),
                              items=list(offered), max_set=_max_set(), progress=progress)
    except psi.PSIError as exc:
        _failed(actor=actor, unit=unit, partner=partner, side=MatchSession.Side.CALLER, address=f"{host}:{port}", reason=str(exc))
        raise ExchangeError(f"matching with {partner.name} failed: {exc}") from None
    return _record(actor=actor, unit=unit, partner=partner, side=MatchSession.Side.CALLER, outcome=outcome, offered=offered)


def match_serve(*, partner_name: str, port: int, host: str = "0.0.0.0", unit_code: str | None = None, actor: object,
                wait: float = 3600.0, timeout: float = psi.DEFAULT_TIMEOUT, on_listening: Callable[[str, int], None] | None = None,
                on_refused: Callable[[str, str], None] | None = None,
                progress: Callable[[str], None] | None = None) -> MatchSession:
    """Waits (at most `wait` seconds) for the partner to call, matches once and
    returns; a caller with another key is refused, audited and reported, and the
    server goes on waiting for its partner."""
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    partner = _partner_by_name(unit=unit, name=partner_name)
    keys = keys_of(unit)
    offered = match_identifiers(unit=unit)
    server = psi.listen(host, port)
    if on_listening:
        on_listening(*server.getsockname()[:2])

    def refused(address: str, reason: str) -> None:
        _failed(actor=actor, unit=unit, partner=partner, side=MatchSession.Side.SERVER, address=address, reason=reason)
        if on_refused:
            on_refused(address, reason)

    try:
        outcome = psi.serve(server, deadline=time.monotonic() + wait, timeout=timeout, on_refused=refused,
                            signing_key=keys.signing, peer_key=bytes.fromhex(partner.signing_key), items=list(offered),
                            max_set=_max_set(), progress=progress)
    except psi.PSIError as exc:
        _failed(actor=actor, unit=unit, partner=partner, side=MatchSession.Side.SERVER, address=f"{host}:{port}", reason=str(exc))
        raise ExchangeError(f"matching with {partner.name} failed: {exc}") from None
    return _record(actor=actor, unit=unit, partner=partner, side=MatchSession.Side.SERVER, outcome=outcome, offered=offered)
