"""`himaya storage migrate`: a local store moved into S3 (a real SeaweedFS) while the site runs."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from himaya.core import storage
from himaya.core.models import Blob
from himaya.core.storage_migrate import remote_target
from tests.conftest import DOC_REPORT
from tests.media.fixtures import drawn_image
from tests.seaweed import _place

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def submit(provider, capture, data: bytes) -> str:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        rid = provider.submit(DOC_REPORT).report_id
        assert provider.upload(rid, data).code == 0
        assert provider.finish(rid).code == 0
    return Blob.objects.get(report_files__report_id=rid).address


def migrate(capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    call_command("storage", "migrate", *args)
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_a_local_store_moves_into_s3_without_downtime(seaweed, settings, monkeypatch, provider, django_capture_on_commit_callbacks, capsys, tmp_path):
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    # A store of its own: the counts below are this test's files, not what earlier tests left behind.
    settings.HIMAYA_MEDIA_ROOT = str(tmp_path / "media")
    url = _place(seaweed).url
    remote = remote_target(url)
    images = {i: drawn_image(60 + i) for i in range(4)}
    first = [submit(provider, django_capture_on_commit_callbacks, images[i]) for i in (0, 1)]
    assert all(storage.path_for(a).exists() for a in first)  # the site runs on local files

    # 1. Copy while the site still writes locally.
    assert migrate(capsys, "--to", url) == "2 copied, 0 already there, 0 failed"
    assert all(storage.verify_object(remote, a) is None for a in first)  # decrypted from S3 and matched to its address
    written_meanwhile = submit(provider, django_capture_on_commit_callbacks, images[2])
    assert not remote.exists(written_meanwhile)

    # 2. The switch is a configuration change; a file not moved yet is still read (from the local folder).
    settings.HIMAYA_STORAGE_URL = url
    assert storage.read_plaintext(written_meanwhile) == images[2]
    assert [storage.read_plaintext(a) for a in first] == [images[0], images[1]]
    after_switch = submit(provider, django_capture_on_commit_callbacks, images[3])
    assert remote.exists(after_switch) and not storage.path_for(after_switch).exists()  # new files go to S3

    # 3. Run again: what was written locally meanwhile is copied; then nothing is left to copy.
    assert migrate(capsys) == "1 copied, 3 already there, 0 failed"
    assert storage.verify_object(remote, written_meanwhile) is None
    assert migrate(capsys, "--verify") == "0 copied, 4 already there, 0 failed"


def test_a_damaged_local_file_is_not_copied_and_the_run_fails(seaweed, monkeypatch, provider, django_capture_on_commit_callbacks, capsys):
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    url = _place(seaweed).url
    good = submit(provider, django_capture_on_commit_callbacks, drawn_image(70))
    bad = submit(provider, django_capture_on_commit_callbacks, drawn_image(71))
    path = storage.path_for(bad)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="some files were not moved"):
        call_command("storage", "migrate", "--to", url)
    err = capsys.readouterr().err
    assert f"{bad}: local copy does not decrypt" in err
    remote = remote_target(url)
    assert remote.exists(good) and not remote.exists(bad)


def test_migrate_wants_an_s3_target(db):
    with pytest.raises(CommandError, match="give the target"):
        call_command("storage", "migrate")
    with pytest.raises(CommandError, match="s3:// URL"):
        call_command("storage", "migrate", "--to", "/srv/elsewhere")
