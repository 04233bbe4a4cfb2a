"""Hash sets exchanged with partner units (SPEC §3.2, §3.8; issue 17, item 3).

Export: the material this unit's analysts categorised — by default every hash
list of the unit's own seizures (ListKind.SEIZURE), or the lists named — as one
VICS 2.0 JSON file that any VICS tool reads, with a detached signature beside it
(FILE.sig: the SHA-256 of the file signed with the unit's Ed25519 exchange key).
A list that came from a partner is never exported again: it is theirs to share.

Import: a partner's VICS file becomes a national hash list (himaya.media's import,
so it re-matches every stored file) whose provenance names the partner, its
country, its key fingerprint, the date and whether the signature verified; the
hash list page shows it. A signature that does not verify with the partner's
registered key refuses the file; a file without one is refused unless the
operator accepts it as unsigned, and the provenance then says so.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from himaya.accounts.permissions import Action, Kind, check
from himaya.media.errors import MessageError
from himaya.exchange import events
from himaya.exchange.errors import ExchangeError
from himaya.exchange.services import _partner_by_name, _unit, keys_of
from himaya.media import vics
from himaya.media.models import HashList, ListKind
from himaya.media.services import hashlist_import

SIGNATURE_FORMAT = "himaya-hashset-signature/1"
SIGNED_CONTEXT = b"himaya-hashset-v1\x00"
PARTNER_PROVENANCE = "Partner unit "  # how a partner's list's provenance starts (and why it is not exported again)
SIGNATURE_MAX = 4096


@dataclass(frozen=True)
class ExportedHashSet:
    data: bytes
    signature: bytes
    entries: int
    lists: list[str]


def _signed_message(digest_hex: str) -> bytes:
    return SIGNED_CONTEXT + digest_hex.encode()


def hashset_export(*, lists: list[str] | None = None, unit_code: str | None = None, actor: object) -> ExportedHashSet:
    check(actor, Action.EXPORT, Kind.PARTNER)
    check(actor, Action.EXPORT, Kind.HASH_LIST)
    unit = _unit(unit_code=unit_code, actor=actor)
    if lists:
        chosen = list(HashList.objects.filter(name__in=lists).order_by("name"))
        missing = sorted(set(lists) - {h.name for h in chosen})
        if missing:
            raise ExchangeError(f"no hash list named {', '.join(repr(m) for m in missing)}")
        theirs = [h.name for h in chosen if h.provenance.startswith(PARTNER_PROVENANCE)]
        if theirs:
            raise ExchangeError(f"{', '.join(repr(t) for t in theirs)} came from a partner unit: it is not ours to share again")
    else:
        chosen = list(HashList.objects.filter(kind=ListKind.SEIZURE).order_by("name"))
        if not chosen:
            raise ExchangeError("no hash list of own seizures to export: name the lists with --list")
    entries: list[dict[str, Any]] = []
    for h in chosen:
        for e in h.entries.order_by("id").values("algorithm", "value", "media_id", "category", "series", "victim_identified",
                                                 "is_distributed", "extra"):
            # Media ids are per list: keep one list's items apart from another's.
            e["media_id"] = f"{h.id}-{e['media_id']}" if e["media_id"] else ""
            entries.append(e)
    if not entries:
        raise ExchangeError("the chosen hash lists hold no hashes")
    keys = keys_of(unit)
    data = vics.export_vics(name=f"{unit.name} ({unit.country})", version=1, entries=entries)
    digest = hashlib.sha256(data).hexdigest()
    signature = json.dumps({
        "format": SIGNATURE_FORMAT, "signer": keys.public.fingerprint, "unit": unit.name, "country": unit.country,
        "sha256": digest, "signature": keys.signing.sign(_signed_message(digest)).signature.hex(),
        "created": timezone.now().isoformat(timespec="seconds"),
    }, indent=1).encode()
    names = [h.name for h in chosen]
    with transaction.atomic():
        events.hashset_exported_event(actor=actor, unit_id=unit.id, lists=names, entries=len(entries), sha256=digest,
                                      fingerprint=keys.public.fingerprint)
    return ExportedHashSet(data=data, signature=signature, entries=len(entries), lists=names)


def verify_signature(*, data: bytes, signature: bytes, signing_key_hex: str) -> None:
    """Raises ExchangeError unless `signature` (a FILE.sig) signs exactly `data` with that key."""
    if len(signature) > SIGNATURE_MAX:
        raise ExchangeError("the signature file is too large to be one")
    try:
        sig = json.loads(signature)
        if sig.get("format") != SIGNATURE_FORMAT:
            raise ValueError
        claimed, raw = str(sig["sha256"]), bytes.fromhex(sig["signature"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ExchangeError("the signature file is not a Himaya hash-set signature") from None
    digest = hashlib.sha256(data).hexdigest()
    if claimed != digest:
        raise ExchangeError("the hash set does not match its signature (changed after it was signed)")
    try:
        VerifyKey(bytes.fromhex(signing_key_hex)).verify(_signed_message(digest), raw)
    except (BadSignatureError, ValueError):
        raise ExchangeError("the hash set's signature does not verify with the partner's registered key") from None


def hashset_import(*, data: bytes, signature: bytes | None, partner_name: str, name: str | None = None, kind: str = ListKind.KNOWN,
                   allow_unsigned: bool = False, source_name: str = "", unit_code: str | None = None, actor: object) -> HashList:
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    partner = _partner_by_name(unit=unit, name=partner_name)
    if signature is not None:
        verify_signature(data=data, signature=signature, signing_key_hex=partner.signing_key)
    elif not allow_unsigned:
        raise ExchangeError("the hash set has no signature beside it (FILE.sig); accept it with --unsigned if the partner sent none")
    digest = hashlib.sha256(data).hexdigest()
    provenance = (f"{PARTNER_PROVENANCE}{partner.name} ({partner.country}), key fingerprint {partner.fingerprint}, "
                  f"imported {timezone.localdate().isoformat()}, "
                  + ("signature verified" if signature is not None else "unsigned") + f", file SHA-256 {digest}")
    try:
        with transaction.atomic():
            hash_list = hashlist_import(data=data, name=name or f"{partner.name} hash set", kind=kind, fmt="vics",
                                        provenance=provenance, source_name=source_name, actor=actor)
            # The partner's provenance replaces any earlier one: this is the list's source now.
            if hash_list.provenance != provenance:
                hash_list.provenance = provenance
                hash_list.save(update_fields=["provenance"])
            events.hashset_imported_event(actor=actor, partner=partner, hash_list=hash_list, entries=hash_list.entry_count,
                                          sha256=digest, signed=signature is not None)
    except MessageError as exc:
        raise ExchangeError(f"the partner's hash set cannot be imported: {exc}") from None
    return hash_list
