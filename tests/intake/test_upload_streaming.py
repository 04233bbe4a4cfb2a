"""Uploads are streamed into the encrypted store: never whole in memory, never plaintext on disk."""
from __future__ import annotations

import hashlib
import io
import tracemalloc

import pytest
from django.http.multipartparser import MultiPartParser

from himaya.core.storage import media_root
from himaya.intake.uploads import HashingFileUploadHandler, StoredUpload

pytestmark = pytest.mark.django_db
BOUNDARY = "himayaboundary"
SIZE = 64 * 1024 * 1024


class GeneratedBody(io.RawIOBase):
    """A multipart body produced on the fly, so the test itself holds no large buffer."""

    def __init__(self) -> None:
        self.head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n7\r\n"
                     f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n").encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.sent = 0
        self.digest = hashlib.sha256()
        self.total = len(self.head) + SIZE + len(self.tail)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        n = self.total if n < 0 else n
        while len(out) < n and self.sent < self.total:
            if self.sent < len(self.head):
                piece = self.head[self.sent : self.sent + n - len(out)]
            elif self.sent < len(self.head) + SIZE:
                offset = self.sent - len(self.head)
                length = min(n - len(out), SIZE - offset, 1 << 20)
                piece = bytes([(offset // 4096) % 251]) * length
                self.digest.update(piece)
            else:
                offset = self.sent - len(self.head) - SIZE
                piece = self.tail[offset : offset + n - len(out)]
            out += piece
            self.sent += len(piece)
        return bytes(out)


def test_a_64_mib_upload_is_hashed_and_encrypted_with_little_memory(rf):
    body = GeneratedBody()
    meta = {"CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}", "CONTENT_LENGTH": str(body.total)}
    request = rf.post("/ispws/upload")
    handlers = [HashingFileUploadHandler(request)]
    tracemalloc.start()
    try:
        post, files = MultiPartParser(meta, body, handlers).parse()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    upload = files["file"]
    assert isinstance(upload, StoredUpload) and post["id"] == "7"
    assert upload.pending.stored.size == SIZE
    assert upload.pending.stored.sha256 == body.digest.hexdigest()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    # What reached the disk is ciphertext: no 4 KiB run of the plaintext pattern in it.
    with open(upload.pending.temp_path, "rb") as fh:
        head = fh.read(1 << 20)
    assert bytes([0]) * 4096 not in head
    assert upload.pending.temp_path.is_relative_to(media_root())
    upload.pending.discard()
