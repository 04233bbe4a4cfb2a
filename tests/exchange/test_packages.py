"""Referral packages without a database: what `verify` and `import` refuse, and why
(himaya.exchange.package). Every refusal is the whole package."""
from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile

import pytest
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

from himaya.exchange.errors import ExchangeError, PackageRefused
from himaya.exchange.package import (
    FORMAT, MANIFEST, SIGNATURE, Limits, PublicKeys, build_package, canonical, key_document, open_package,
    _outer_zip, parse_key_document,
)


class Unit:
    def __init__(self, name: str, country: str) -> None:
        self.signing = SigningKey.generate()
        self.encryption = PrivateKey.generate()
        self.public = PublicKeys(signing_key=self.signing.verify_key.encode().hex(),
                                 encryption_key=bytes(self.encryption.public_key).hex(), unit=name, country=country)


@pytest.fixture
def a() -> Unit:
    return Unit("Unit A", "JO")


@pytest.fixture
def b() -> Unit:
    return Unit("Unit B", "PS")


PARTS = {"reports/7/report.xml": b"<report>seven</report>", "reports/7/files/f1/photo.jpg": bytes(range(256)) * 40,
         "reports/7/files/f1/fileDetails.xml": b"<fileDetails/>"}


def _package(a: Unit, b: Unit, parts: dict[str, bytes] | None = None, kind: str = "referral") -> bytes:
    return build_package(kind=kind, package_id=str(uuid.uuid4()), created_at="2026-12-03T10:00:00+00:00", signing=a.signing,
                         sender=a.public, recipient=b.public, body={"reports": [{"id": 7, "folder": "reports/7"}]},
                         parts=PARTS if parts is None else parts)


def _open(data: bytes, receiver: Unit, *partners: Unit, limits: Limits = Limits()):  # type: ignore[no-untyped-def]
    keys = {p.public.fingerprint: p.public.signing_key for p in partners}
    return open_package(data, encryption=receiver.encryption, me=receiver.public, partner_signing_key=keys.get, limits=limits)


def _handmade(sender: Unit, recipient: Unit, members: dict[str, bytes], *, manifest: dict | None = None,
              signer: SigningKey | None = None, compress: int = zipfile.ZIP_STORED) -> bytes:
    """A package assembled by hand (a hostile or broken sender), sealed to `recipient`."""
    package_id = str(uuid.uuid4())
    manifest = manifest or {
        "format": FORMAT, "kind": "referral", "package_id": package_id, "created_at": "2026-12-03T10:00:00+00:00",
        "sender": {"fingerprint": sender.public.fingerprint}, "recipient": {"fingerprint": recipient.public.fingerprint},
        "parts": [{"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for p, d in members.items()],
        "body": {},
    }
    manifest_bytes = canonical(manifest)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compress) as zf:
        zf.writestr(MANIFEST, manifest_bytes)
        zf.writestr(SIGNATURE, (signer or sender.signing).sign(manifest_bytes).signature.hex())
        for path, data in members.items():
            zf.writestr(path, data)
    sealed = SealedBox(PublicKey(bytes.fromhex(recipient.public.encryption_key))).encrypt(inner.getvalue())
    return _outer_zip(canonical({"format": FORMAT, "kind": manifest["kind"], "package_id": manifest["package_id"],
                                 "sender": sender.public.fingerprint, "recipient": recipient.public.fingerprint}), sealed)


def test_a_package_opens_with_every_part_as_sent(a: Unit, b: Unit) -> None:
    opened = _open(_package(a, b), b, a)
    assert opened.parts == PARTS
    assert opened.kind == "referral" and opened.sender_fingerprint == a.public.fingerprint
    assert opened.body == {"reports": [{"id": 7, "folder": "reports/7"}]}
    assert [p["path"] for p in opened.manifest["parts"]] == sorted(PARTS)
    assert all(p["sha256"] == hashlib.sha256(PARTS[p["path"]]).hexdigest() for p in opened.manifest["parts"])


def test_the_package_file_does_not_show_its_contents(a: Unit, b: Unit) -> None:
    data = _package(a, b)
    assert b"seven" not in data and bytes(range(256)) not in data and b"photo.jpg" not in data


def test_one_flipped_byte_anywhere_refuses_the_package(a: Unit, b: Unit) -> None:
    """Every byte of the file: the zip's dates and flags too, not only the sealed payload."""
    data = _package(a, b, parts={"reports/7/report.xml": b"<report>seven</report>"})
    for at in range(len(data)):
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        with pytest.raises(PackageRefused):
            _open(bytes(flipped), b, a)


def test_a_package_signed_by_another_key_is_refused(a: Unit, b: Unit) -> None:
    mallory = Unit("Mallory", "XX")
    forged = _handmade(a, b, PARTS, signer=mallory.signing)  # claims to be A, signed by someone else
    with pytest.raises(PackageRefused, match="signature does not verify"):
        _open(forged, b, a)


def test_a_package_from_an_unknown_partner_is_refused(a: Unit, b: Unit) -> None:
    stranger = Unit("Stranger", "XX")
    with pytest.raises(PackageRefused, match="unknown partner"):
        _open(_package(stranger, b), b, a)


def test_a_package_for_another_unit_is_refused_even_resealed_to_us(a: Unit, b: Unit) -> None:
    c = Unit("Unit C", "EG")
    with pytest.raises(PackageRefused, match="another unit"):
        _open(_package(a, c), b, a)
    # C re-encrypts what A signed for C and passes it to B: the signed manifest names C.
    opened = _open(_package(a, c), c, a)
    manifest = dict(opened.manifest)
    resealed = _handmade(a, b, opened.parts, manifest=manifest)
    with pytest.raises(PackageRefused, match="another unit|does not match"):
        _open(resealed, b, a)


@pytest.mark.parametrize("name", ["../evil.xml", "reports/../../etc/passwd", "/abs.xml", "reports\\..\\x.xml", "reports//x.xml"])
def test_zip_slip_names_are_refused(a: Unit, b: Unit, name: str) -> None:
    with pytest.raises(PackageRefused, match="unsafe or invalid path"):
        _open(_handmade(a, b, {name: b"x"}), b, a)


def test_a_zip_bomb_is_refused_before_it_is_inflated(a: Unit, b: Unit) -> None:
    bomb = _handmade(a, b, {"reports/1/report.xml": b"\0" * (50 * 1024**2)}, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(PackageRefused, match="zip bomb"):
        _open(bomb, b, a)
    # the total, too: many members that are each plausible
    with pytest.raises(PackageRefused, match="expands beyond"):
        _open(_package(a, b), b, a, limits=Limits(max_total_bytes=5000))


def test_a_part_that_differs_from_its_signed_hash_is_refused(a: Unit, b: Unit) -> None:
    manifest = {
        "format": FORMAT, "kind": "referral", "package_id": str(uuid.uuid4()), "created_at": "2026-12-03T10:00:00+00:00",
        "sender": {"fingerprint": a.public.fingerprint}, "recipient": {"fingerprint": b.public.fingerprint},
        "parts": [{"path": "reports/7/report.xml", "size": 22, "sha256": hashlib.sha256(b"<report>SEVEN</report>").hexdigest()}],
        "body": {},
    }
    with pytest.raises(PackageRefused, match="SHA-256 does not match"):
        _open(_handmade(a, b, {"reports/7/report.xml": b"<report>seven</report>"}, manifest=manifest), b, a)


def test_parts_not_in_the_manifest_or_missing_from_it_are_refused(a: Unit, b: Unit) -> None:
    members = {"reports/7/report.xml": b"<report/>"}
    manifest = {
        "format": FORMAT, "kind": "referral", "package_id": str(uuid.uuid4()), "created_at": "2026-12-03T10:00:00+00:00",
        "sender": {"fingerprint": a.public.fingerprint}, "recipient": {"fingerprint": b.public.fingerprint},
        "parts": [], "body": {},
    }
    with pytest.raises(PackageRefused, match="do not match the manifest"):
        _open(_handmade(a, b, members, manifest=manifest), b, a)


def test_an_outer_zip_with_anything_else_is_refused(a: Unit, b: Unit) -> None:
    data = _package(a, b)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("extra.txt", b"hello")
    with pytest.raises(PackageRefused, match="expected exactly"):
        _open(out.getvalue(), b, a)
    with pytest.raises(PackageRefused, match="not a readable zip"):
        _open(b"not a zip at all", b, a)


def test_public_key_files_are_self_signed_and_checked(a: Unit) -> None:
    doc = key_document(signing=a.signing, encryption=a.encryption, unit="Unit A", country="JO")
    keys = parse_key_document(doc)
    assert keys.fingerprint == a.public.fingerprint and keys.country == "JO"
    other = Unit("Other", "JO")
    tampered = json.loads(doc)
    tampered["encryption_key"] = other.public.encryption_key  # someone swaps the encryption key in transit
    with pytest.raises(ExchangeError, match="fingerprint does not match"):
        parse_key_document(json.dumps(tampered).encode())
    from himaya.exchange.package import fingerprint

    tampered["fingerprint"] = fingerprint(tampered["signing_key"], tampered["encryption_key"])
    with pytest.raises(ExchangeError, match="self-signature"):
        parse_key_document(json.dumps(tampered).encode())
    with pytest.raises(ExchangeError, match="not JSON"):
        parse_key_document(b"\xff\xfe")
