"""This unit's exchange keys, outside the database like the master key
(himaya.core.crypto): HIMAYA_KEY_DIR/exchange-<unit code>.key, mode 0600, made on
first use. An Ed25519 key signs what the unit sends; an X25519 key opens what
partners encrypt to it. `himaya backup` copies the key folder with them."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from himaya.exchange.package import PublicKeys


@dataclass(frozen=True)
class UnitKeys:
    signing: SigningKey
    encryption: PrivateKey
    public: PublicKeys


def key_path(unit_code: str) -> Path:
    return Path(settings.HIMAYA_KEY_DIR) / f"exchange-{unit_code}.key"


def unit_keys(*, unit_code: str, unit_name: str, country: str) -> UnitKeys:
    path = key_path(unit_code)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            secret = {"signing": SigningKey.generate().encode().hex(), "encryption": bytes(PrivateKey.generate()).hex()}
            with os.fdopen(fd, "w") as fh:
                json.dump(secret, fh)
                fh.flush()
                os.fsync(fh.fileno())
    secret = json.loads(path.read_text())
    signing = SigningKey(bytes.fromhex(secret["signing"]))
    encryption = PrivateKey(bytes.fromhex(secret["encryption"]))
    public = PublicKeys(signing_key=signing.verify_key.encode().hex(), encryption_key=bytes(encryption.public_key).hex(),
                        unit=unit_name, country=country)
    return UnitKeys(signing=signing, encryption=encryption, public=public)
