"""The portal's keys and receipts (SPEC §3.9), after GlobaLeaks.

* **Receipt**: 16 random digits, shown once. Argon2id of it (with an
  installation-wide salt kept in HIMAYA_KEY_DIR, so that a receipt can be looked
  up without a user name) gives 32 bytes, split by BLAKE2b into a *lookup* value
  (stored, indexed) and a *wrapping key* (never stored). The receipt itself is
  never stored.
* **Per-report key pair** (X25519, PyNaCl): the reporter's contact and every
  message, both ways, are sealed boxes to the report's public key, so the code
  that stores them cannot read them back. The report's private key is kept twice:
  sealed to the portal key pair of the unit (its private half only in
  HIMAYA_KEY_DIR, read only when staff open the report) and in a secret box
  under the receipt's wrapping key (for the reporter).

A portal-only web machine needs only `portal-x25519.pub`: without
`portal-x25519.key` it stores reports and messages but can read none of them.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from django.conf import settings
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox

RECEIPT_DIGITS = 16
PUBLIC_NAME = "portal-x25519.pub"
PRIVATE_NAME = "portal-x25519.key"
SALT_NAME = "portal-receipt.salt"


class PortalKeyMissing(Exception):
    """This machine holds no portal private key (a portal-only web machine)."""


def _key_dir() -> Path:
    return Path(settings.HIMAYA_KEY_DIR)


def _write_new(path: Path, data: bytes) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False  # another process made it first: use theirs
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _ensure_keys() -> None:
    pub, key = _key_dir() / PUBLIC_NAME, _key_dir() / PRIVATE_NAME
    if pub.exists():
        return
    if not key.exists():
        _write_new(key, bytes(PrivateKey.generate()).hex().encode())
    private = PrivateKey(bytes.fromhex(key.read_text().strip()))
    _write_new(pub, bytes(private.public_key).hex().encode())


def unit_public_key() -> PublicKey:
    _ensure_keys()
    return PublicKey(bytes.fromhex((_key_dir() / PUBLIC_NAME).read_text().strip()))


def unit_private_key() -> PrivateKey:
    """Read at each use (staff opening a portal report), never kept in memory."""
    path = _key_dir() / PRIVATE_NAME
    if not path.exists():
        raise PortalKeyMissing("the portal private key is not on this machine")
    return PrivateKey(bytes.fromhex(path.read_text().strip()))


def key_id(public: PublicKey) -> str:
    return hashlib.sha256(bytes(public)).hexdigest()[:16]


def _installation_salt() -> bytes:
    path = _key_dir() / SALT_NAME
    if not path.exists():
        _write_new(path, secrets.token_hex(16).encode())
    return bytes.fromhex(path.read_text().strip())


def receipt_new() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(RECEIPT_DIGITS))


def receipt_normalise(text: str) -> str:
    """What a person typed (spaces, dashes, Arabic-Indic digits) → the digits."""
    digits = []
    for ch in text or "":
        if ch.isdigit():
            digits.append(str(int(ch)))  # int() reads ٠-٩ and ۰-۹ too
    return "".join(digits)


def receipt_grouped(receipt: str) -> str:
    return " ".join(receipt[i:i + 4] for i in range(0, len(receipt), 4))


@dataclass(frozen=True)
class ReceiptKeys:
    lookup: str  # stored: finds the report
    wrap: bytes  # never stored: opens the report's private key


def receipt_keys(receipt: str) -> ReceiptKeys:
    """Slow on purpose (Argon2id); the cost is set by HIMAYA_PORTAL_ARGON2."""
    cost = getattr(settings, "HIMAYA_PORTAL_ARGON2", {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 1})
    raw = hash_secret_raw(secret=receipt.encode(), salt=_installation_salt(), hash_len=32, type=Type.ID, **cost)
    lookup = hashlib.blake2b(raw, digest_size=32, person=b"himaya-lookup").hexdigest()
    wrap = hashlib.blake2b(raw, digest_size=32, person=b"himaya-wrap").digest()
    return ReceiptKeys(lookup=lookup, wrap=wrap)


@dataclass(frozen=True)
class ReportKeys:
    public: bytes
    for_unit: bytes
    for_receipt: bytes
    unit_key_id: str


def report_keys_new(*, wrap: bytes) -> ReportKeys:
    private = PrivateKey.generate()
    unit = unit_public_key()
    return ReportKeys(
        public=bytes(private.public_key),
        for_unit=SealedBox(unit).encrypt(bytes(private)),
        for_receipt=SecretBox(wrap).encrypt(bytes(private)),
        unit_key_id=key_id(unit),
    )


def seal(public: bytes, value: Any) -> bytes:
    """Anything JSON-able, sealed to a report's public key."""
    return SealedBox(PublicKey(bytes(public))).encrypt(json.dumps(value, ensure_ascii=False).encode())


def unseal(private: PrivateKey, sealed: bytes) -> Any:
    return json.loads(SealedBox(private).decrypt(bytes(sealed)))


def report_private_for_staff(for_unit: bytes) -> PrivateKey:
    return PrivateKey(SealedBox(unit_private_key()).decrypt(bytes(for_unit)))


def report_private_for_reporter(for_receipt: bytes, wrap: bytes) -> PrivateKey:
    return PrivateKey(SecretBox(wrap).decrypt(bytes(for_receipt)))
