"""Model fields encrypted at rest with the site key (SPEC §3.10: victim details and
reporter identity are encrypted with keys outside the database).

Transparent to code: the attribute holds the plaintext value, the column holds
AES-256-GCM ciphertext. Encrypted columns cannot be searched or filtered in SQL —
use them only for what is read, never for what is queried.
"""
from __future__ import annotations

import json
import os
from typing import Any

from django.db import models

from himaya.core.crypto import master_key, site_cipher

_MAGIC = b"HE1"


def seal(plaintext: bytes, *, purpose: bytes) -> bytes:
    nonce = os.urandom(12)
    return _MAGIC + nonce + site_cipher(master_key()).encrypt(nonce, plaintext, purpose)


def unseal(blob: bytes, *, purpose: bytes) -> bytes:
    if not blob.startswith(_MAGIC):
        return blob  # written before encryption was introduced
    return site_cipher(master_key()).decrypt(blob[3:15], blob[15:], purpose)


class EncryptedBinaryField(models.BinaryField):
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        if value is None:
            return None
        return unseal(bytes(value), purpose=b"binary")

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        return super().get_db_prep_value(seal(bytes(value), purpose=b"binary"), connection, prepared)


class EncryptedJSONField(models.BinaryField):
    """A JSON value, stored encrypted (so not queryable as JSON)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite kept a pre-encryption JSON text as is
            value = value.encode()
        return json.loads(unseal(bytes(value), purpose=b"json"))

    def to_python(self, value: Any) -> Any:
        return value

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return connection.Database.Binary(seal(raw, purpose=b"json"))

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)


class EncryptedTextField(models.TextField):
    """Short personal text (a name, a date of birth) stored encrypted; "" stays ""."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        from himaya.core.crypto import decrypt_field

        if not value.startswith("enc:"):
            return value  # written before encryption was introduced
        return decrypt_field(value[4:])

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        from himaya.core.crypto import encrypt_field

        return "enc:" + encrypt_field(value)
