"""`himaya backup` and `himaya restore`: the restore drill (SPEC §4.2, §5), on SQLite and PostgreSQL,
with the files on local disk or in a real SeaweedFS."""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from himaya.core import storage
from himaya.core.crypto import master_key
from himaya.reports.models import Report, ReportFile
from tests.conftest import DOC_REPORT
from tests.media.fixtures import drawn_image

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def home(tmp_path, settings):
    """An installation of its own: HIMAYA_HOME with its keys and media, so destroying it harms no other test."""
    root = tmp_path / "home"
    settings.HIMAYA_HOME = root
    settings.HIMAYA_KEY_DIR = root / "keys"
    settings.HIMAYA_MEDIA_ROOT = root / "media"
    (root / "keys").mkdir(parents=True)
    (root / "keys" / "django-secret-key").write_text("a-secret-of-this-installation")
    master_key.cache_clear()
    yield root
    master_key.cache_clear()


@pytest.fixture
def passphrase_file(tmp_path) -> str:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    return str(path)


def submit(provider, capture, *files: bytes) -> int:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        rid = provider.submit(DOC_REPORT).report_id
        for data in files:
            assert provider.upload(rid, data).code == 0
        assert provider.finish(rid).code == 0
    return rid


def destroy_everything(home: Path, s3_place) -> None:  # type: ignore[no-untyped-def]
    """The machine is lost: database, keys, local files and the bucket's objects."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
        else:
            cur.execute("PRAGMA foreign_keys = OFF")
            for table in connection.introspection.table_names():
                cur.execute(f'DROP TABLE "{table}"')
    assert connection.introspection.table_names() == []
    shutil.rmtree(home)
    if s3_place is not None:
        for obj in list(storage.backend().objects()):
            storage.backend().delete(obj.address)
        assert list(storage.backend().objects()) == []
    master_key.cache_clear()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", ["local", "s3"])
def test_restore_drill(store, request, home, passphrase_file, provider, django_capture_on_commit_callbacks, tmp_path, capsys):
    s3_place = request.getfixturevalue("s3_storage") if store == "s3" else None
    before = {submit(provider, django_capture_on_commit_callbacks, drawn_image(1), drawn_image(2)): [drawn_image(1), drawn_image(2)],
              submit(provider, django_capture_on_commit_callbacks, drawn_image(3)): [drawn_image(3)],
              submit(provider, django_capture_on_commit_callbacks): []}
    key_files = {p.name: p.read_bytes() for p in (home / "keys").iterdir()}
    assert "master.key" in key_files

    call_command("backup", "--out", str(tmp_path / "backup"), "--passphrase-file", passphrase_file)
    backup = tmp_path / "backup"
    assert PASSPHRASE.encode() not in b"".join(p.read_bytes() for p in backup.rglob("*") if p.is_file())
    sealed = (backup / "keys.enc").read_bytes()
    assert key_files["master.key"] not in sealed and base64.b64encode(key_files["master.key"]) not in sealed
    assert drawn_image(1)[:64] not in b"".join(p.read_bytes() for p in (backup / "objects").rglob("*") if p.is_file())

    after = submit(provider, django_capture_on_commit_callbacks, drawn_image(4))
    destroy_everything(home, s3_place)

    capsys.readouterr()
    call_command("restore", str(backup), "--passphrase-file", passphrase_file)
    assert "restored" in capsys.readouterr().out

    assert {p.name: p.read_bytes() for p in (home / "keys").iterdir()} == key_files
    assert set(Report.objects.values_list("id", flat=True)) == set(before)
    assert not Report.objects.filter(id=after).exists()
    for rid, originals in before.items():
        stored = [storage.read_plaintext(rf.blob_id) for rf in ReportFile.objects.filter(report_id=rid)]
        assert sorted(hashlib.sha256(b).hexdigest() for b in stored) == sorted(hashlib.sha256(b).hexdigest() for b in originals)
    if s3_place is not None:
        assert not any(storage.path_for(rf.blob_id).exists() for rf in ReportFile.objects.all())  # back in S3, not on disk
    call_command("audit", "verify")  # exits 1 on a break
    assert "audit chain intact" in capsys.readouterr().out
    # The restored installation takes reports again, with fresh ids.
    assert submit(provider, django_capture_on_commit_callbacks, drawn_image(5)) not in before


@pytest.fixture
def backed_up(home, passphrase_file, provider, django_capture_on_commit_callbacks, tmp_path) -> Path:
    submit(provider, django_capture_on_commit_callbacks, drawn_image(7))
    call_command("backup", "--out", str(tmp_path / "backup"), "--passphrase-file", passphrase_file)
    return tmp_path / "backup"


def restore_error(backup: Path, passphrase: str, tmp_path: Path, *extra: str) -> str:
    pf = tmp_path / "typed"
    pf.write_text(passphrase)
    with pytest.raises(CommandError) as err:
        call_command("restore", str(backup), "--passphrase-file", str(pf), *extra)
    return str(err.value)


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_target_that_is_not_empty(backed_up, tmp_path):
    assert "target is not empty" in restore_error(backed_up, PASSPHRASE, tmp_path)
    assert Report.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_wrong_passphrase_before_touching_anything(backed_up, tmp_path, home):
    master = (home / "keys" / "master.key").read_bytes()
    assert "wrong passphrase" in restore_error(backed_up, "not the passphrase at all", tmp_path, "--force")
    assert (home / "keys" / "master.key").read_bytes() == master


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_an_altered_backup(backed_up, tmp_path):
    obj = next((backed_up / "objects").rglob("*/*/*"))
    data = bytearray(obj.read_bytes())
    data[-1] ^= 1
    obj.write_bytes(bytes(data))
    assert "was altered or damaged" in restore_error(backed_up, PASSPHRASE, tmp_path, "--force")
    data[-1] ^= 1
    obj.write_bytes(bytes(data))
    manifest = json.loads((backed_up / "manifest.json").read_text())
    manifest["objects"] += 1
    (backed_up / "manifest.json").write_text(json.dumps(manifest))
    assert "manifest.json was altered" in restore_error(backed_up, PASSPHRASE, tmp_path, "--force")


@pytest.mark.django_db(transaction=True)
def test_backup_needs_a_passphrase_and_an_empty_folder(home, tmp_path, monkeypatch):
    monkeypatch.delenv("HIMAYA_BACKUP_PASSPHRASE", raising=False)
    with pytest.raises(CommandError, match="HIMAYA_BACKUP_PASSPHRASE"):
        call_command("backup", "--out", str(tmp_path / "b"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    monkeypatch.setenv("HIMAYA_BACKUP_PASSPHRASE", PASSPHRASE)
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("backup", "--out", str(tmp_path / "full"))
