"""Bulk import, export and the command line: bad input gets a clear error, nothing half-written."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from himaya.audit.models import AuditEvent
from himaya.reports.models import Report, ReportFile, ReportSource
from tests.conftest import DOC_REPORT, file_details_doc

pytestmark = pytest.mark.django_db


def _package(root: Path, name: str, report: bytes, files: dict[str, tuple[bytes, bytes | None]] | None = None) -> Path:
    folder = root / name
    (folder / "files").mkdir(parents=True)
    (folder / "report.xml").write_bytes(report)
    for fid, (content, details) in (files or {}).items():
        (folder / "files" / fid).mkdir()
        (folder / "files" / fid / "photo.jpg").write_bytes(content)
        if details is not None:
            (folder / "files" / fid / "fileDetails.xml").write_bytes(details)
    return folder


def _zip(root: Path, source: Path, name: str = "package.zip") -> Path:
    target = root / name
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(source.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(source).as_posix())
    return target


def _import_json(capsys, *args: str, exit_code: int = 0) -> dict:
    try:
        call_command("import", *args, "--json")
        code = 0
    except SystemExit as exc:
        code = exc.code
    assert code == exit_code  # 1 when nothing at all could be imported
    return json.loads(capsys.readouterr().out)


def test_a_bad_report_is_skipped_with_its_reason_and_the_rest_go_in(tmp_path, capsys, image_bytes, db):
    pkg = tmp_path / "pkg"
    _package(pkg, "4564654", DOC_REPORT, {"f1": (image_bytes, file_details_doc(4564654, "f1"))})
    _package(pkg, "r2", DOC_REPORT.replace(b"jsmith", b"other"))
    _package(pkg, "r3", DOC_REPORT.replace(b"2012-10-15", b"2099-10-15"))
    summary = _import_json(capsys, str(pkg))
    assert (summary["imported"], summary["failed"]) == (2, 1)
    assert "r3" in summary["errors"][0]["path"] and "incidentDateTime" in summary["errors"][0]["error"]
    first = Report.objects.get(external_id=4564654)
    assert first.source == ReportSource.IMPORT and first.status == "finished"
    rf = ReportFile.objects.get(report=first)
    assert rf.original_file_name == "mypic.jpg" and rf.size == len(image_bytes)
    # Importing the same package again adds nothing.
    again = _import_json(capsys, str(pkg))
    assert (again["imported"], again["skipped_duplicates"], again["failed"]) == (0, 2, 1)
    assert Report.objects.count() == 2


def test_zip_packages_import_like_folders(tmp_path, capsys, image_bytes, db):
    src = tmp_path / "src"
    _package(src, "a", DOC_REPORT, {"x": (image_bytes, None)})
    archive = _zip(tmp_path, src)
    assert _import_json(capsys, str(archive))["imported"] == 1
    assert _import_json(capsys, str(archive))["skipped_duplicates"] == 1


def test_zip_with_path_traversal_is_refused(tmp_path, capsys, db):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/report.xml", DOC_REPORT)
        zf.writestr("../../etc/evil/report.xml", DOC_REPORT)
    summary = _import_json(capsys, str(archive), exit_code=1)
    assert summary["imported"] == 0 and "unsafe path" in summary["errors"][0]["error"]
    assert not Report.objects.exists()


def test_zip_bomb_is_refused(tmp_path, capsys, db):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/report.xml", DOC_REPORT)
        zf.writestr("a/files/f/big.bin", b"\0" * (50 * 1024 * 1024))
    summary = _import_json(capsys, str(archive), exit_code=1)
    assert summary["imported"] == 0 and "ratio" in summary["errors"][0]["error"]


def test_not_a_package_and_missing_paths(tmp_path, capsys, db):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00garbage")
    summary = _import_json(capsys, str(junk), exit_code=1)
    assert summary["failed"] == 1 and "not a folder or a zip" in summary["errors"][0]["error"]
    with pytest.raises(CommandError, match="no such file"):
        call_command("import", str(tmp_path / "missing"))


def test_export_report_refuses_bad_arguments(tmp_path, provider):
    with pytest.raises(CommandError, match="must be a number"):
        call_command("export_report", "../../etc", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="no report"):
        call_command("export_report", "424242", "--out", str(tmp_path / "x"))
    rid = provider.submit(DOC_REPORT).report_id
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_report", str(rid), "--out", str(tmp_path / "full"))


def test_export_names_files_safely(tmp_path, provider, image_bytes):
    rid = provider.submit(DOC_REPORT).report_id
    provider.upload(rid, image_bytes, name="../../evil.jpg")
    call_command("export_report", str(rid), "--out", str(tmp_path / "out"))
    written = [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert all(not p.startswith("..") for p in written)
    assert any(p.endswith("/evil.jpg") and p.startswith("files/") for p in written)


def test_audit_verify_detects_tampering(provider, capsys):
    provider.submit(DOC_REPORT)
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    victim = AuditEvent.objects.filter(action="report.opened").get()
    AuditEvent.objects.filter(pk=victim.pk).update(actor="reporter:someone-else")
    with pytest.raises(SystemExit) as exit_:
        call_command("audit", "verify")
    assert exit_.value.code == 1
    assert f"event {victim.pk}" in capsys.readouterr().err


def test_audit_verify_detects_a_removed_event_once_sealed(provider, capsys):
    from himaya.audit.services import audit_seal

    for _ in range(3):
        provider.submit(DOC_REPORT)
    assert audit_seal() > 0  # what every worker does every few seconds
    AuditEvent.objects.filter(action="report.opened").order_by("id")[1:2].get().delete()
    with pytest.raises(SystemExit):
        call_command("audit", "verify")
    assert "removed or inserted" in capsys.readouterr().err


def test_audit_verify_detects_events_cut_from_the_end(provider, capsys):
    from himaya.audit.services import audit_seal

    for _ in range(3):
        provider.submit(DOC_REPORT)
    audit_seal()
    AuditEvent.objects.order_by("-seq")[0].delete()
    with pytest.raises(SystemExit):
        call_command("audit", "verify")


def test_audit_events_are_sealed_in_a_chain(provider):
    from himaya.audit.services import audit_seal

    provider.submit(DOC_REPORT)
    provider.submit(DOC_REPORT)
    audit_seal()
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
