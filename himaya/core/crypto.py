"""Encryption at rest with keys kept outside the database (SPEC §3.2, §3.10).

Media are encrypted in chunks with AES-256-GCM under a random per-file data key;
the data key is wrapped with the site's master key, which lives in a file under
HIMAYA_KEY_DIR (or comes from HIMAYA_MASTER_KEY), never in the database. Chunk
numbers and a last-chunk flag are bound into each chunk's associated data, so
chunks cannot be reordered, dropped or truncated without detection.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"HMYENC1\n"
CHUNK_SIZE = 1024 * 1024
_TAG = 16


class DecryptionError(Exception):
    pass


@dataclass(frozen=True)
class MasterKey:
    encryption: bytes  # wraps per-file data keys and sensitive fields
    naming: bytes  # keys the content addresses, so file names reveal no hash

    @classmethod
    def from_secret(cls, secret: bytes) -> "MasterKey":
        return cls(
            encryption=hmac.new(secret, b"himaya-encryption", hashlib.sha256).digest(),
            naming=hmac.new(secret, b"himaya-naming", hashlib.sha256).digest(),
        )


@lru_cache(maxsize=4)
def site_cipher(key: MasterKey) -> AESGCM:
    """The AEAD under a master key's encryption key, made once: building one costs
    about as much as decrypting a short field with it, and a from-scratch rebuild
    decrypts millions (AESGCM objects keep no per-message state)."""
    return AESGCM(key.encryption)


def _key_dir() -> Path:
    from django.conf import settings

    return Path(settings.HIMAYA_KEY_DIR)


@lru_cache(maxsize=4)
def master_key(key_dir: Path | None = None) -> MasterKey:
    env = os.environ.get("HIMAYA_MASTER_KEY")
    if env:
        return MasterKey.from_secret(base64.urlsafe_b64decode(env))
    path = (key_dir or _key_dir()) / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(base64.urlsafe_b64encode(os.urandom(32)))
                fh.flush()
                os.fsync(fh.fileno())
    return MasterKey.from_secret(base64.urlsafe_b64decode(path.read_bytes().strip()))


def content_address(sha256_hex: str, key: MasterKey | None = None) -> str:
    key = key or master_key()
    return hmac.new(key.naming, bytes.fromhex(sha256_hex), hashlib.sha256).hexdigest()


class ChunkEncryptor:
    """Streams plaintext in, ciphertext out; call `finish()` once at the end."""

    def __init__(self, out: BinaryIO, key: MasterKey | None = None) -> None:
        key = key or master_key()
        self._out = out
        self._data_key = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(self._data_key)
        self._prefix = os.urandom(8)
        self._counter = 0
        self._buffer = bytearray()
        wrap_nonce = os.urandom(12)
        wrapped = site_cipher(key).encrypt(wrap_nonce, self._data_key, MAGIC)
        out.write(MAGIC + wrap_nonce + wrapped + self._prefix)

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > CHUNK_SIZE:
            self._emit(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._counter)
        aad = struct.pack(">I?", self._counter, last)
        self._out.write(self._aead.encrypt(nonce, chunk, aad))
        self._counter += 1


def decrypt_stream(src: BinaryIO, key: MasterKey | None = None) -> Iterator[bytes]:
    key = key or master_key()
    header = src.read(len(MAGIC) + 12 + 32 + _TAG + 8)
    if not header.startswith(MAGIC):
        raise DecryptionError("not a Himaya encrypted file")
    wrap_nonce = header[len(MAGIC) : len(MAGIC) + 12]
    wrapped = header[len(MAGIC) + 12 : len(MAGIC) + 12 + 32 + _TAG]
    prefix = header[-8:]
    try:
        data_key = site_cipher(key).decrypt(wrap_nonce, wrapped, MAGIC)
    except Exception as exc:  # InvalidTag: wrong master key or tampered header
        raise DecryptionError("cannot unwrap the file key") from exc
    aead = AESGCM(data_key)
    counter = 0
    current = src.read(CHUNK_SIZE + _TAG)
    while True:
        following = src.read(CHUNK_SIZE + _TAG)
        last = not following
        nonce = prefix + struct.pack(">I", counter)
        try:
            yield aead.decrypt(nonce, current, struct.pack(">I?", counter, last))
        except Exception as exc:
            raise DecryptionError(f"chunk {counter} failed authentication") from exc
        if last:
            return
        current = following
        counter += 1


def encrypt_field(plaintext: str, key: MasterKey | None = None) -> str:
    """For sensitive text fields (reporter identity, victim details)."""
    key = key or master_key()
    nonce = os.urandom(12)
    return base64.urlsafe_b64encode(nonce + site_cipher(key).encrypt(nonce, plaintext.encode(), b"field")).decode()


def decrypt_field(token: str, key: MasterKey | None = None) -> str:
    key = key or master_key()
    raw = base64.urlsafe_b64decode(token)
    return site_cipher(key).decrypt(raw[:12], raw[12:], b"field").decode()
