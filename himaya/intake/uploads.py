"""Upload handling: provider files stream straight into the encrypted store.

Replaces Django's memory/temporary-file handlers so a file is never held whole in
memory nor written to disk unencrypted; MD5, SHA-1 and SHA-256 are computed on the
way in (SPEC §3.2).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from himaya.core.storage import IncomingFile, PendingFile


class StoredUpload(UploadedFile):
    """What request.FILES holds: no content, only the pending encrypted file."""

    def __init__(self, pending: PendingFile, name: str, content_type: str | None) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=pending.stored.size)
        self.pending = pending

    def open(self, mode: str | None = None) -> Any:  # pragma: no cover - never read back here
        raise ValueError("stored uploads are not readable in the request")

    def close(self) -> None:
        pass


class HashingFileUploadHandler(FileUploadHandler):
    chunk_size = 256 * 1024

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.incoming = IncomingFile(max_bytes=settings.HIMAYA_MAX_UPLOAD_BYTES)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.incoming.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StoredUpload:
        pending = self.incoming.close()
        return StoredUpload(pending, self.file_name or "", self.content_type)

    def upload_interrupted(self) -> None:
        if hasattr(self, "incoming"):
            self.incoming.discard()
