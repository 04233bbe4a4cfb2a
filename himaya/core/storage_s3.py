"""S3-compatible object storage for the media store (HIMAYA_STORAGE_URL=s3://..., SPEC §4.4).

`s3://bucket[/prefix]?endpoint=http://host:8333[&region=...]`; credentials the usual
way for boto3 (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or ~/.aws). The objects are
the same ciphertext files the local store keeps, under `prefix/ab/cd/<address>`.

Atomic: a PUT, or a multipart upload (large files), makes the object visible only
once complete; a killed upload leaves at most unfinished parts, which no read sees
and the sweep aborts. Idempotent: the address names the content, so storing it twice
changes nothing a reader can tell.

While a local store is being moved here (`himaya storage migrate`), a read that finds
no object falls back to the local file of the same address, so the switch of
HIMAYA_STORAGE_URL needs no downtime.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from himaya.core.storage import ADDRESS, StorageError, StoredObject

if TYPE_CHECKING:
    from himaya.core.storage import LocalBackend

MULTIPART_THRESHOLD = 64 * 1024 * 1024  # larger files go up in parts, visible only once all are in
MULTIPART_CHUNK = 16 * 1024 * 1024


class _ExactReader:
    """An HTTP body whose read(n) returns n bytes until the end (decrypt_stream relies on it)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return bytes(self._body.read())
        out = bytearray()
        while len(out) < n:
            piece = self._body.read(n - len(out))
            if not piece:
                break
            out += piece
        return bytes(out)

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> "_ExactReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise StorageError(f"not an s3://bucket URL: {url!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"endpoint", "region"}
    if unknown:
        raise StorageError(f"unknown option(s) in HIMAYA_STORAGE_URL: {', '.join(sorted(unknown))} (known: endpoint, region)")
    return parts.netloc, parts.path.strip("/"), query


class S3Backend:
    def __init__(self, *, bucket: str, prefix: str = "", endpoint: str | None = None, region: str | None = None,
                 fallback: LocalBackend | None = None) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.endpoint = endpoint
        self.fallback = fallback
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name=region or "us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"},
                          connect_timeout=10, read_timeout=120))
        self.transfer = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK, use_threads=False)

    @classmethod
    def from_url(cls, url: str, *, fallback: LocalBackend | None = None) -> "S3Backend":
        bucket, prefix, query = parse_url(url)
        return cls(bucket=bucket, prefix=prefix, endpoint=query.get("endpoint"), region=query.get("region"), fallback=fallback)

    def key(self, address: str) -> str:
        return f"{self.prefix}{address[:2]}/{address[2:4]}/{address}"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint or 'AWS'}"

    @staticmethod
    def _missing(exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def _remote_exists(self, address: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(address))
            return True
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise

    def exists(self, address: str) -> bool:
        return self._remote_exists(address) or bool(self.fallback and self.fallback.exists(address))

    def put(self, address: str, source: Path) -> None:
        if self._remote_exists(address):
            return
        self.client.upload_file(str(source), self.bucket, self.key(address), Config=self.transfer)

    def open(self, address: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(address))["Body"]
        except ClientError as exc:
            if not self._missing(exc):
                raise
            if self.fallback is not None and self.fallback.exists(address):
                return self.fallback.open(address)  # not moved yet (storage migrate)
            raise FileNotFoundError(f"no stored object {address}") from exc
        return _ExactReader(body)  # type: ignore[return-value]

    def delete(self, address: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(address))
        if self.fallback is not None:
            self.fallback.delete(address)

    def objects(self) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if ADDRESS.fullmatch(name) and item["Key"] == self.key(name):
                    yield StoredObject(name, int(item["Size"]), item["LastModified"].timestamp())

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StorageError(f"{self.describe()}: {exc}") from exc

    def sweep_uploads(self, older_than: float) -> int:
        from botocore.exceptions import ClientError

        aborted = 0
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].timestamp() < older_than:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                        aborted += 1
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("NotImplemented", "501"):
                raise
        return aborted
