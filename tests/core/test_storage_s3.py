"""The media store on S3-compatible object storage, against a real SeaweedFS (SPEC §4.4, §5)."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from himaya.accounts.permissions import OPERATOR
from himaya.accounts.services import token_create, user_create
from himaya.core import storage
from himaya.core.crypto import master_key
from himaya.core.models import Blob
from himaya.media.models import MediaState
from himaya.media.services import hashlist_import
from himaya.reports.models import ReportFile
from tests.conftest import DOC_REPORT
from tests.media.fixtures import drawn_image
from tests.seaweed import S3Place, Seaweed

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def deliver(provider, capture, *files: bytes) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        rid = provider.submit(DOC_REPORT).report_id
        ids = [provider.upload(rid, data).file_id for data in files]
        assert provider.finish(rid).code == 0
    return rid, ids


def keys_in(seaweed: Seaweed, place: S3Place) -> list[str]:
    listed = seaweed.client().list_objects_v2(Bucket=place.bucket, Prefix=place.prefix + "/")
    return [o["Key"] for o in listed.get("Contents", [])]


def machine(script: str, *, place: S3Place, seaweed: Seaweed, **popen) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    """Another machine: its own process and HIMAYA_HOME, the same S3 URL and master key."""
    master_key()  # made on first use
    master = (Path(settings.HIMAYA_KEY_DIR) / "master.key").read_text().strip()
    env = {k: v for k, v in os.environ.items() if k != "HIMAYA_HOME"} | seaweed.env() | {
        "HIMAYA_STORAGE_URL": place.url, "HIMAYA_MASTER_KEY": master, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    prelude = "import django, sys; django.setup()\nfrom himaya.core import storage\n"
    return subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(script)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_a_provider_file_is_stored_in_s3_read_back_hashed_and_matched(s3_storage, seaweed, provider, django_capture_on_commit_callbacks, tmp_path):
    listed, other = drawn_image(31), drawn_image(32)
    hashlist_import(data=f"md5:{hashlib.md5(listed).hexdigest()}\n".encode(), name="seized", kind="known", fmt="lines", actor=OPERATOR)
    rid, (fid_listed, fid_other) = deliver(provider, django_capture_on_commit_callbacks, listed, other)

    addresses = {ReportFile.objects.get(file_id=f).blob_id for f in (fid_listed, fid_other)}
    assert sorted(keys_in(seaweed, s3_storage)) == sorted(f"{s3_storage.prefix}/{a[:2]}/{a[2:4]}/{a}" for a in addresses)
    assert not any(storage.path_for(a).exists() for a in addresses)  # nothing in the local folder
    assert not list((storage.media_root() / "tmp").iterdir())  # no temporaries left behind

    user_create(username="amal", password="a-long-password-1", roles=["intake_analyst"], unit_code="intake")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_create(username='amal')}")
    files = {f["file_id"]: f for f in api.get(f"/api/v1/reports/{rid}/").json()["files"]}
    assert files[fid_listed]["status"] == "known" and files[fid_listed]["matches"][0]["list"] == "seized"
    assert files[fid_other]["status"] == "new"
    assert files[fid_listed]["md5"] == hashlib.md5(listed).hexdigest()
    assert MediaState.objects.get(blob_id=ReportFile.objects.get(file_id=fid_other).blob_id).pdq  # decoded from S3 and hashed

    call_command("export_report", str(rid), "--out", str(tmp_path / "out"))
    exported = sorted(p.read_bytes() for p in (tmp_path / "out" / "files").rglob("*") if p.is_file() and p.name != "fileDetails.xml")
    assert exported == sorted([listed, other])


def test_seaweedfs_only_ever_holds_ciphertext(s3_storage, seaweed, provider, django_capture_on_commit_callbacks):
    secret = os.urandom(300_000)
    deliver(provider, django_capture_on_commit_callbacks, secret)
    samples = [secret[i : i + 48] for i in range(0, len(secret) - 48, 29_999)]
    on_disk = seaweed.data_bytes()
    assert not any(s in on_disk for s in samples)
    assert storage.read_plaintext(Blob.objects.get().address) == secret
    # The same bytes put in plainly are found by the same search: the search can see.
    seaweed.client().put_object(Bucket=s3_storage.bucket, Key=f"{s3_storage.prefix}/plain", Body=secret)
    assert all(s in seaweed.data_bytes() for s in samples)


def test_an_upload_killed_midway_leaves_no_object_under_its_address_and_the_sweep_aborts_it(s3_storage, seaweed):
    child = machine("""
        import os, time
        from himaya.core import storage_s3
        storage_s3.MULTIPART_THRESHOLD = storage_s3.MULTIPART_CHUNK = 5 * 1024 * 1024
        def stall(params, **kwargs):
            if params["PartNumber"] == 2:  # the first part is in
                print(params["Key"], flush=True)
                time.sleep(600)
        storage.backend().client.meta.events.register("before-parameter-build.s3.UploadPart", stall)
        storage.incoming_from_bytes(os.urandom(13 * 1024 * 1024))  # three parts; killed after the first
    """, place=s3_storage, seaweed=seaweed, start_new_session=True)
    try:
        key = child.stdout.readline().strip()
        assert key.startswith(s3_storage.prefix + "/"), child.stderr.read()
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    client = seaweed.client()
    assert keys_in(seaweed, s3_storage) == []
    assert not storage.exists(key.rsplit("/", 1)[-1])
    unfinished = client.list_multipart_uploads(Bucket=s3_storage.bucket, Prefix=s3_storage.prefix).get("Uploads", [])
    assert [u["Key"] for u in unfinished] == [key]  # it really was killed mid-upload
    assert storage.storage_sweep().uploads == 0  # too young to be abandoned
    import time
    assert storage.storage_sweep(now=time.time() + 2 * 86400).uploads == 1
    assert client.list_multipart_uploads(Bucket=s3_storage.bucket, Prefix=s3_storage.prefix).get("Uploads", []) == []


def test_two_machines_with_the_same_url_see_the_same_files(s3_storage, seaweed, provider, django_capture_on_commit_callbacks):
    mine = drawn_image(41)
    deliver(provider, django_capture_on_commit_callbacks, mine)
    address = Blob.objects.get().address
    theirs = random.Random(7).randbytes(70_000)
    other = machine(f"""
        import hashlib, random
        print(hashlib.sha256(storage.read_plaintext({address!r})).hexdigest())
        pending = storage.incoming_from_bytes(random.Random(7).randbytes(70_000))
        storage.backend().put(pending.stored.address, pending.temp_path)
        print(pending.stored.address)
        print(storage.media_root())
    """, place=s3_storage, seaweed=seaweed)
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    seen_sha, their_address, their_root = out.split()
    assert seen_sha == hashlib.sha256(mine).hexdigest()
    assert Path(their_root) != storage.media_root()
    assert storage.read_plaintext(their_address) == theirs


def test_the_sweep_removes_unreferenced_objects_and_keeps_recorded_ones(s3_storage, seaweed, provider, django_capture_on_commit_callbacks):
    import time

    deliver(provider, django_capture_on_commit_callbacks, drawn_image(51))
    kept = Blob.objects.get().address
    stray = storage.incoming_from_bytes(b"a rolled-back upload")  # uploaded, never recorded
    stray.discard()
    assert storage.exists(stray.stored.address)
    assert storage.storage_sweep().unreferenced == 0  # young: may belong to a transaction under way
    outcome = storage.storage_sweep(now=time.time() + 2 * 86400)
    assert outcome.unreferenced == 1
    assert not storage.exists(stray.stored.address)
    assert storage.exists(kept) and storage.read_plaintext(kept) == drawn_image(51)


def test_readiness_says_when_the_object_store_does_not_answer(s3_storage, settings, client):
    from himaya.core.operations import check_storage

    assert check_storage().ok
    settings.HIMAYA_STORAGE_URL = "s3://nowhere?endpoint=http://127.0.0.1:9"
    check = check_storage()
    assert not check.ok and "nowhere" in check.detail
