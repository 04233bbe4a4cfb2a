"""Hostile packages for `himaya import`: links out of the package and zips that
cannot be read get a clear reason in the summary, never a traceback, and nothing
of the refused report is stored."""
from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from himaya.reports.models import Report, ReportFile
from tests.conftest import DOC_REPORT
from tests.intake.test_bulk_and_cli import _package

pytestmark = pytest.mark.django_db
SECRET = b"-----not a real key, but it must never leave the key folder-----"


def _import_json(capsys, *args: str) -> tuple[int, dict]:
    try:
        call_command("import", *args, "--json")
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def secret_file(tmp_path) -> Path:
    keys = tmp_path / "home" / "keys"
    keys.mkdir(parents=True)
    (keys / "master.key").write_bytes(SECRET)
    return keys / "master.key"


def _stored_blobs_contain(data: bytes) -> bool:
    from himaya.core.storage import read_plaintext

    return any(read_plaintext(rf.blob_id) == data for rf in ReportFile.objects.exclude(blob_id=None))


def test_a_file_linked_to_the_key_folder_is_refused_and_not_imported(tmp_path, capsys, secret_file):
    pkg = tmp_path / "pkg"
    good = _package(pkg, "good", DOC_REPORT)
    evil = _package(pkg, "evil", DOC_REPORT.replace(b"jsmith", b"evil"))
    (evil / "files" / "f1").mkdir()
    (evil / "files" / "f1" / "photo.jpg").symlink_to(secret_file)
    code, summary = _import_json(capsys, str(pkg))
    assert code == 0 and summary["imported"] == 1 and summary["failed"] == 1
    assert "symbolic link" in summary["errors"][0]["error"] and "evil" in summary["errors"][0]["path"]
    assert Report.objects.count() == 1 and not _stored_blobs_contain(SECRET)
    assert good.exists()


@pytest.mark.parametrize("what", ["report", "files_dir", "file_dir", "report_folder"])
def test_every_kind_of_link_is_refused(tmp_path, capsys, secret_file, what):
    outside = tmp_path / "outside"
    _package(outside, "elsewhere", DOC_REPORT.replace(b"jsmith", b"outside"), {"f": (SECRET, None)})
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    if what == "report":
        (pkg / "r").mkdir()
        (pkg / "r" / "report.xml").symlink_to(outside / "elsewhere" / "report.xml")
    elif what == "files_dir":
        (pkg / "r").mkdir()
        (pkg / "r" / "report.xml").write_bytes(DOC_REPORT)
        (pkg / "r" / "files").symlink_to(outside / "elsewhere" / "files")
    elif what == "file_dir":
        (pkg / "r" / "files").mkdir(parents=True)
        (pkg / "r" / "report.xml").write_bytes(DOC_REPORT)
        (pkg / "r" / "files" / "f").symlink_to(outside / "elsewhere" / "files" / "f")
    else:
        (pkg / "r").symlink_to(outside / "elsewhere")
    code, summary = _import_json(capsys, str(pkg))
    assert summary["imported"] == 0 and summary["failed"] >= 1, summary
    assert all("symbolic link" in e["error"] for e in summary["errors"]), summary
    assert code == 1 and Report.objects.count() == 0


def _zip_with(tmp_path: Path, name: str, *, member_bytes: bytes, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w", compress) as zf:
        zf.writestr("r/report.xml", DOC_REPORT)
        zf.writestr("r/files/f/photo.jpg", member_bytes)
    return archive


def _patch_member(archive: Path, member: str, patch) -> None:  # type: ignore[no-untyped-def]
    """Rewrite bytes of one member's local header or data in place, as a damaged or crafted zip would have them."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    patch(data, info)
    archive.write_bytes(bytes(data))


def test_damaged_deflate_data_is_a_clear_failure(tmp_path, capsys):
    archive = _zip_with(tmp_path, "damaged.zip", member_bytes=bytes(range(256)) * 64)

    def damage(data: bytearray, info: zipfile.ZipInfo) -> None:
        name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
        start = info.header_offset + 30 + name_len + extra_len
        for i in range(start + 2, start + 40):
            data[i] ^= 0xFF

    _patch_member(archive, "r/files/f/photo.jpg", damage)
    code, summary = _import_json(capsys, str(archive))
    assert summary["imported"] == 0 and summary["failed"] == 1, summary
    assert "damaged" in summary["errors"][0]["error"] or "CRC" in summary["errors"][0]["error"], summary
    assert Report.objects.count() == 0 and code == 1


def _set_flag_and_method(*, flag: int = 0, method: int | None = None):  # type: ignore[no-untyped-def]
    def patch(data: bytearray, info: zipfile.ZipInfo) -> None:
        # local header: flags at +6, method at +8; central directory: flags at +8, method at +10
        pos = [info.header_offset + 6]
        cd = 0
        while True:
            cd = data.find(b"PK\x01\x02", cd)
            if cd < 0:
                break
            name_len = struct.unpack("<H", data[cd + 28:cd + 30])[0]
            if data[cd + 46:cd + 46 + name_len] == info.filename.encode():
                pos.append(cd + 8)
            cd += 4
        for p in pos:
            if flag:
                data[p] |= flag
            if method is not None:
                data[p + 2:p + 4] = struct.pack("<H", method)
    return patch


@pytest.mark.parametrize("case, patch, words", [
    ("encrypted", _set_flag_and_method(flag=0x1), "encrypted"),
    ("deflate64", _set_flag_and_method(method=9), "compression method 9"),
])
def test_encrypted_and_unsupported_members_are_clear_failures(tmp_path, capsys, case, patch, words):
    archive = _zip_with(tmp_path, f"{case}.zip", member_bytes=b"not a picture" * 100)
    _patch_member(archive, "r/files/f/photo.jpg", patch)
    code, summary = _import_json(capsys, str(archive))
    assert summary["imported"] == 0 and summary["failed"] == 1, summary
    assert words in summary["errors"][0]["error"], summary
    assert Report.objects.count() == 0 and code == 1


def test_the_good_reports_of_a_zip_still_go_in(tmp_path, capsys):
    archive = tmp_path / "mixed.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/report.xml", DOC_REPORT)
        zf.writestr("b/report.xml", DOC_REPORT.replace(b"jsmith", b"other"))
        zf.writestr("b/files/f/photo.jpg", b"x" * 5000)
    _patch_member(archive, "b/files/f/photo.jpg", _set_flag_and_method(flag=0x1))
    code, summary = _import_json(capsys, str(archive))
    assert (summary["imported"], summary["failed"]) == (1, 1) and code == 0, summary


def test_an_upload_without_a_multipart_boundary_is_the_clients_error(provider):
    rid = provider.submit(DOC_REPORT).report_id
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=abc"):
        answer = provider.client.generic("POST", "/ispws/upload", b"id=1&file=x", content_type=content_type,
                                         HTTP_AUTHORIZATION=provider.auth)
        assert answer.status_code == 400, (content_type, answer.status_code, answer.content)
        assert b"<responseCode>4000</responseCode>" in answer.content or b"<responseCode>4200</responseCode>" in answer.content
    assert ReportFile.objects.filter(report_id=rid).count() == 0


def test_a_report_larger_than_the_limit_is_refused_and_one_at_the_limit_goes_in(tmp_path, capsys, settings):
    pkg = tmp_path / "pkg"
    _package(pkg, "at-the-limit", DOC_REPORT)
    _package(pkg, "over", DOC_REPORT.replace(b"jsmith", b"jsmith2"))
    settings.HIMAYA_MAX_XML_BYTES = len(DOC_REPORT)
    code, summary = _import_json(capsys, str(pkg))
    assert code == 0 and summary["imported"] == 1
    assert summary["errors"] == [{"path": str(pkg / "over"), "error": f"document larger than {len(DOC_REPORT)} bytes"}]
    assert Report.objects.get().import_label == str(pkg / "at-the-limit")
