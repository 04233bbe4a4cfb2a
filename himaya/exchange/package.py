"""Referral packages, receipts and outcomes: build, check, open (SPEC §3.8).

Pure logic, no Django: bytes and keys in, bytes or an `OpenedPackage` out.

A package is a zip of two members:

    package.json   the envelope: format, kind, package id, sender and recipient
                   fingerprints (a hint for finding keys; not trusted)
    payload.bin    the inner zip, sealed to the recipient's X25519 key (NaCl SealedBox)

The inner zip holds `manifest.json` (every part's path, size and SHA-256, who sent
it to whom, and what the package says), `manifest.sig` (the sender's Ed25519
signature of the manifest's exact bytes, hex) and the parts. Opening checks, in
order, and refuses the whole package at the first failure: the outer zip's shape
and sizes; the sender is a registered partner; the payload decrypts with our key;
the inner zip's shape, names (no traversal) and sizes (no bombs); the signature
under the partner's registered key; that the manifest names us as recipient and
repeats the envelope; that the parts are exactly those listed, byte for byte.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from himaya.exchange.errors import ExchangeError, PackageRefused, gettext_noop

FORMAT = "himaya-package/1"
KEY_FORMAT = "himaya-exchange-key/1"
KINDS = ("referral", "receipt", "outcome")
ENVELOPE = "package.json"
PAYLOAD = "payload.bin"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._\- ]{0,199}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Limits:
    max_package_bytes: int = 2 * 1024**3
    max_parts: int = 10_000
    max_part_bytes: int = 1024**3
    max_total_bytes: int = 2 * 1024**3
    max_manifest_bytes: int = 16 * 1024**2
    max_ratio: int = 200  # zip bombs: a member expanding beyond this is refused (above 1 MiB)


@dataclass(frozen=True)
class PublicKeys:
    signing_key: str  # Ed25519, hex
    encryption_key: str  # X25519, hex
    unit: str = ""
    country: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.signing_key, self.encryption_key)


@dataclass
class OpenedPackage:
    kind: str
    package_id: str
    sender_fingerprint: str
    manifest: dict[str, Any]
    parts: dict[str, bytes] = field(default_factory=dict)
    sha256: str = ""  # of the whole package file

    @property
    def body(self) -> dict[str, Any]:
        return self.manifest.get("body", {})


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(signing_key_hex: str, encryption_key_hex: str) -> str:
    """Names a partner's key pair: SHA-256 of both public keys."""
    return hashlib.sha256(bytes.fromhex(signing_key_hex) + bytes.fromhex(encryption_key_hex)).hexdigest()


def grouped(fp: str) -> str:
    """A fingerprint as people compare it over the phone: 16 groups of four."""
    return " ".join(fp[i:i + 4] for i in range(0, len(fp), 4))


# ---------------------------------------------------------------- public key files


def key_document(*, signing: SigningKey, encryption: PrivateKey, unit: str, country: str) -> bytes:
    """This unit's public keys, self-signed (proof that the exporter holds the signing key)."""
    sk = signing.verify_key.encode().hex()
    ek = bytes(encryption.public_key).hex()
    body = {"format": KEY_FORMAT, "unit": unit, "country": country, "signing_key": sk, "encryption_key": ek,
            "fingerprint": fingerprint(sk, ek)}
    body["signature"] = signing.sign(canonical(body)).signature.hex()
    return json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"


def parse_key_document(data: bytes) -> PublicKeys:
    if len(data) > 64 * 1024:
        raise ExchangeError(gettext_noop("not a Himaya public key file: too large"))
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ExchangeError(gettext_noop("not a Himaya public key file: not JSON")) from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FORMAT:
        raise ExchangeError(gettext_noop("not a Himaya public key file (format %(format)s expected)"), format=KEY_FORMAT)
    sk, ek, sig = doc.get("signing_key"), doc.get("encryption_key"), doc.get("signature")
    if not all(isinstance(v, str) and _HEX64.match(v) for v in (sk, ek)) or not isinstance(sig, str):
        raise ExchangeError(gettext_noop("public key file: signing_key and encryption_key must be 32-byte hex keys, with a signature"))
    if doc.get("fingerprint") != fingerprint(sk, ek):
        raise ExchangeError(gettext_noop("public key file: the fingerprint does not match the keys"))
    body = {k: v for k, v in doc.items() if k != "signature"}
    try:
        VerifyKey(bytes.fromhex(sk)).verify(canonical(body), bytes.fromhex(sig))
    except (BadSignatureError, ValueError):
        raise ExchangeError(gettext_noop("public key file: the self-signature does not verify (altered file?)")) from None
    return PublicKeys(signing_key=sk, encryption_key=ek, unit=str(doc.get("unit", ""))[:200], country=str(doc.get("country", ""))[:2])


# ---------------------------------------------------------------- build


def check_part_name(path: str) -> None:
    pieces = path.split("/")
    if not path or len(path) > 1000 or any(not _PART.match(p) or p in (".", "..") for p in pieces):
        raise PackageRefused(gettext_noop("unsafe or invalid path in the package: %(path)r"), path=path)


def build_package(*, kind: str, package_id: str, created_at: str, signing: SigningKey, sender: PublicKeys,
                  recipient: PublicKeys, body: dict[str, Any], parts: Mapping[str, bytes]) -> bytes:
    if kind not in KINDS:
        raise ValueError(kind)
    for path in parts:
        check_part_name(path)
        if path in (MANIFEST, SIGNATURE):
            raise ValueError(path)
    manifest = {
        "format": FORMAT, "kind": kind, "package_id": package_id, "created_at": created_at,
        "sender": {"fingerprint": sender.fingerprint, "unit": sender.unit, "country": sender.country},
        "recipient": {"fingerprint": recipient.fingerprint},
        "parts": [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in sorted(parts.items())],
        "body": body,
    }
    manifest_bytes = canonical(manifest)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr(MANIFEST, manifest_bytes, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(SIGNATURE, signing.sign(manifest_bytes).signature.hex(), compress_type=zipfile.ZIP_STORED)
        for path, data in sorted(parts.items()):
            method = zipfile.ZIP_DEFLATED if path.endswith(".xml") else zipfile.ZIP_STORED
            zf.writestr(path, data, compress_type=method)
    sealed = SealedBox(PublicKey(bytes.fromhex(recipient.encryption_key))).encrypt(inner.getvalue())
    envelope = {"format": FORMAT, "kind": kind, "package_id": package_id,
                "sender": sender.fingerprint, "recipient": recipient.fingerprint}
    return _outer_zip(canonical(envelope), sealed)


def _outer_zip(envelope: bytes, sealed: bytes) -> bytes:
    """The outer zip, byte for byte the same for the same members: opening rebuilds
    it and compares, so that no byte of the file (a date, a flag, a comment) can
    change without the package being refused."""
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        for name, data in ((ENVELOPE, envelope), (PAYLOAD, sealed)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o600 << 16
            info.create_system = 3
            zf.writestr(info, data)
    return outer.getvalue()


# ---------------------------------------------------------------- open


def _members(data: bytes, *, limits: Limits, what: str) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, NotImplementedError) as exc:
        raise PackageRefused(gettext_noop("%(what)s is not a readable zip: %(error)s"), what=what, error=str(exc)) from None
    if len(infos) > limits.max_parts + 2:
        raise PackageRefused(gettext_noop("%(what)s has %(n)d members (at most %(max)d)"), what=what, n=len(infos), max=limits.max_parts + 2)
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if info.is_dir() or name.startswith("/") or "\\" in name:
            raise PackageRefused(gettext_noop("unsafe or invalid path in the package: %(path)r"), path=name)
        check_part_name(name)
        if name in by_name:
            raise PackageRefused(gettext_noop("%(what)s names %(name)r twice"), what=what, name=name)
        if info.flag_bits & 0x1:
            raise PackageRefused(gettext_noop("%(what)s: %(name)s is password-protected"), what=what, name=name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise PackageRefused(gettext_noop("%(what)s: %(name)s uses an unsupported compression method"), what=what, name=name)
        if info.file_size > limits.max_part_bytes:
            raise PackageRefused(gettext_noop("%(what)s: %(name)s is larger than %(max)d bytes"), what=what, name=name, max=limits.max_part_bytes)
        if info.file_size > 1024**2 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise PackageRefused(gettext_noop("%(what)s: %(name)s expands more than %(max)d times (zip bomb?)"), what=what, name=name, max=limits.max_ratio)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise PackageRefused(gettext_noop("%(what)s expands beyond %(max)d bytes (zip bomb?)"), what=what, max=limits.max_total_bytes)
        by_name[name] = info
    return zf, by_name


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, what: str) -> bytes:
    """At most the declared size, however the member's headers lie; CRC checked."""
    try:
        with zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise PackageRefused(gettext_noop("%(what)s: %(name)s is damaged: %(error)s"), what=what, name=info.filename, error=str(exc)) from None
    if len(data) != info.file_size:
        raise PackageRefused(gettext_noop("%(what)s: %(name)s does not have its declared size (zip bomb or damage)"), what=what, name=info.filename)
    return data


def read_envelope(data: bytes, *, limits: Limits = Limits()) -> dict[str, Any]:
    if len(data) > limits.max_package_bytes:
        raise PackageRefused(gettext_noop("package larger than %(max)d bytes"), max=limits.max_package_bytes)
    zf, members = _members(data, limits=limits, what="package")
    if set(members) != {ENVELOPE, PAYLOAD}:
        raise PackageRefused(gettext_noop("not a Himaya package: expected exactly %(envelope)s and %(payload)s, found %(found)s"), envelope=ENVELOPE, payload=PAYLOAD, found=", ".join(sorted(members)))
    if members[ENVELOPE].file_size > 64 * 1024:
        raise PackageRefused(gettext_noop("%(name)s is too large"), name=ENVELOPE)
    try:
        envelope = json.loads(_read(zf, members[ENVELOPE], what="package"))
    except (ValueError, UnicodeDecodeError):
        raise PackageRefused(gettext_noop("%(name)s is not JSON"), name=ENVELOPE) from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise PackageRefused(gettext_noop("not a Himaya package (format %(format)s expected)"), format=FORMAT)
    if envelope.get("kind") not in KINDS:
        raise PackageRefused(gettext_noop("unknown package kind %(kind)r"), kind=envelope.get("kind"))
    for key in ("sender", "recipient"):
        if not isinstance(envelope.get(key), str) or not _HEX64.match(envelope[key]):
            raise PackageRefused(gettext_noop("%(name)s: %(field)s must be a key fingerprint"), name=ENVELOPE, field=key)
    try:
        envelope["package_id"] = str(uuid.UUID(str(envelope.get("package_id"))))
    except ValueError:
        raise PackageRefused(gettext_noop("%(name)s: package_id is not a UUID"), name=ENVELOPE) from None
    return envelope


def open_package(data: bytes, *, encryption: PrivateKey, me: PublicKeys,
                 partner_signing_key: Callable[[str], str | None], limits: Limits = Limits()) -> OpenedPackage:
    """Every check, or PackageRefused. `partner_signing_key(fingerprint)` gives a
    registered, active partner's Ed25519 key (hex), or None."""
    envelope = read_envelope(data, limits=limits)
    if envelope["recipient"] != me.fingerprint:
        raise PackageRefused(gettext_noop("the package is addressed to another unit's key, not to this unit"))
    signing_key = partner_signing_key(envelope["sender"])
    if signing_key is None:
        raise PackageRefused(gettext_noop("unknown partner: no active partner has the key fingerprint %(fingerprint)s"), fingerprint=envelope["sender"])
    zf, members = _members(data, limits=limits, what="package")
    sealed = _read(zf, members[PAYLOAD], what="package")
    if _outer_zip(_read(zf, members[ENVELOPE], what="package"), sealed) != data:
        raise PackageRefused(gettext_noop("the package file has been altered (its zip structure is not as it was written)"))
    try:
        inner = SealedBox(encryption).decrypt(sealed)
    except CryptoError:
        raise PackageRefused(gettext_noop("the payload does not decrypt with this unit's key: altered, or encrypted for another unit")) from None
    izf, parts = _members(inner, limits=limits, what="payload")
    if MANIFEST not in parts or SIGNATURE not in parts:
        raise PackageRefused(gettext_noop("the payload lacks %(manifest)s or %(signature)s"), manifest=MANIFEST, signature=SIGNATURE)
    if parts[MANIFEST].file_size > limits.max_manifest_bytes:
        raise PackageRefused(gettext_noop("%(name)s is too large"), name=MANIFEST)
    manifest_bytes = _read(izf, parts[MANIFEST], what="payload")
    try:
        signature = bytes.fromhex(_read(izf, parts[SIGNATURE], what="payload").decode("ascii"))
        VerifyKey(bytes.fromhex(signing_key)).verify(manifest_bytes, signature)
    except (BadSignatureError, ValueError, UnicodeDecodeError):
        raise PackageRefused(gettext_noop("the signature does not verify with the partner's registered key: wrong signer or altered manifest")) from None
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, UnicodeDecodeError):
        raise PackageRefused(gettext_noop("%(name)s is not JSON"), name=MANIFEST) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackageRefused(gettext_noop("%(name)s: format %(format)s expected"), name=MANIFEST, format=FORMAT)
    signed = (manifest.get("kind"), manifest.get("package_id"), (manifest.get("sender") or {}).get("fingerprint"),
              (manifest.get("recipient") or {}).get("fingerprint"))
    if signed != (envelope["kind"], envelope["package_id"], envelope["sender"], envelope["recipient"]):
        raise PackageRefused(gettext_noop("the envelope does not match the signed manifest (kind, package, sender or recipient changed)"))
    listed = manifest.get("parts")
    if not isinstance(listed, list):
        raise PackageRefused(gettext_noop("%(name)s: parts missing"), name=MANIFEST)
    expected: dict[str, tuple[int, str]] = {}
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or entry["path"] in expected:
            raise PackageRefused(gettext_noop("%(name)s: invalid or repeated part %(entry)r"), name=MANIFEST, entry=entry)
        check_part_name(entry["path"])
        expected[entry["path"]] = (entry.get("size"), entry.get("sha256"))
    present = set(parts) - {MANIFEST, SIGNATURE}
    if present != set(expected):
        extra, missing = sorted(present - set(expected)), sorted(set(expected) - present)
        raise PackageRefused(gettext_noop("the parts do not match the manifest (not listed: %(extra)s; missing: %(missing)s)"), extra=", ".join(extra) or "-", missing=", ".join(missing) or "-")
    opened = OpenedPackage(kind=envelope["kind"], package_id=envelope["package_id"], sender_fingerprint=envelope["sender"],
                           manifest=manifest, sha256=hashlib.sha256(data).hexdigest())
    for path in sorted(expected):
        content = _read(izf, parts[path], what="payload")
        size, digest = expected[path]
        if len(content) != size or hashlib.sha256(content).hexdigest() != digest:
            raise PackageRefused(gettext_noop("%(path)s: SHA-256 does not match the manifest"), path=path)
        opened.parts[path] = content
    if not isinstance(manifest.get("body"), dict):
        raise PackageRefused(gettext_noop("%(name)s: body missing"), name=MANIFEST)
    return opened
