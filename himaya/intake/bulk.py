"""Bulk import and export of reports in the layout `export_report` writes:

    DIR/report.xml
    DIR/files/<fileId>/<the file>            (any name other than fileDetails.xml)
    DIR/files/<fileId>/fileDetails.xml       (optional)

A package is a folder of such report folders (or one report folder), or a zip of
them. Import is idempotent: a report whose document and files were imported before
is skipped. A bad report is reported with its reason and skipped; the others go in.
"""
from __future__ import annotations

import hashlib
import io
import logging
import lzma
import os
import re
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from himaya.accounts.models import Unit
from himaya.core.storage import FileTooLarge, IncomingFile, PendingFile, blob_put, open_plaintext
from himaya.intake import events
from himaya.intake.cybertip import Node, check_file_details, check_report, to_xml
from himaya.intake.errors import IntakeError
from himaya.intake.services import file_details_apply, parse_document, report_create_from_tree
from himaya.reports.models import Report, ReportFile, ReportSource, ReportStatus

log = logging.getLogger(__name__)
DETAILS_NAME = "fileDetails.xml"
REPORT_NAME = "report.xml"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._\- ]+")
# Zip bombs: refuse members that claim (or turn out) to expand beyond this ratio.
MAX_COMPRESSION_RATIO = 200


class ImportProblem(Exception):
    label = ""  # the report folder it concerns, when a scan finds it


# ---------------------------------------------------------------- export


def with_ids(details: Node, *, report_id: int, file_id: str) -> Node:
    """fileDetails name the report and file by this system's IDs."""
    children = []
    for c in details.children:
        if c.tag == "reportId":
            c = Node(tag=c.tag, attrs=dict(c.attrs), text=str(report_id), children=[])
        elif c.tag == "fileId":
            c = Node(tag=c.tag, attrs=dict(c.attrs), text=file_id, children=[])
        children.append(c)
    return Node(tag=details.tag, attrs=dict(details.attrs), text=details.text, children=children)


def safe_file_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _SAFE_NAME.sub("_", base).strip(" .")
    return base[:200] or "file"


def report_parts(report: Report) -> Iterator[tuple[str, Callable[[], Iterator[bytes]]]]:
    """The export's layout, relative to the report's folder: (path, chunks of its content),
    files decrypted from the store. `report_export` writes them to a folder; a referral
    package (himaya.exchange) puts them in a zip."""
    yield REPORT_NAME, lambda: iter([to_xml(Node.from_json(report.document))])
    for rf in report.files.order_by("position"):
        if rf.blob_id:
            name = safe_file_name(rf.upload_name or rf.original_file_name)
            if name == DETAILS_NAME:
                name = "file-" + name
            yield f"files/{rf.file_id}/{name}", (lambda address=rf.blob_id: open_plaintext(address))
        if rf.details_document is not None:
            details = with_ids(Node.from_json(rf.details_document), report_id=report.id, file_id=rf.file_id)
            yield f"files/{rf.file_id}/{DETAILS_NAME}", (lambda d=details: iter([to_xml(d)]))


def report_export(*, report: Report, out_dir: Path, actor: object) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    for relative, chunks in report_parts(report):
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            for chunk in chunks():
                fh.write(chunk)
    events.report_exported_event(actor=actor, report=report, out_dir=out_dir)
    return out_dir


# ---------------------------------------------------------------- import


@dataclass
class SourceFile:
    name: str
    size: int
    open: Callable[[], BinaryIO]


@dataclass
class SourceReport:
    label: str
    folder_name: str
    read_report: Callable[[], bytes]
    files: dict[str, tuple[SourceFile | None, Callable[[], bytes] | None]] = field(default_factory=dict)


@dataclass
class ImportSummary:
    imported: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "imported": len(self.imported),
            "skipped_duplicates": len(self.duplicates),
            "failed": len(self.failed),
            "report_ids": self.imported,
            "duplicates": self.duplicates,
            "errors": self.failed,
        }


def _read_capped(fh: BinaryIO, cap: int) -> bytes:
    data = fh.read(cap + 1)
    if len(data) > cap:
        raise ImportProblem(f"document larger than {cap} bytes")
    return data


def _read_file_capped(path: str | Path, cap: int) -> bytes:
    """A document of the package, refused beyond `cap` bytes, as `_read_capped` reads it;
    but the file's own size asked first: a read of the cap (10 MB) set that much memory
    aside for every report of the package."""
    with open(path, "rb", buffering=0) as fh:
        chunks: list[bytes] = []
        total, want = 0, min(os.fstat(fh.fileno()).st_size, cap) + 1
        while total <= cap and (chunk := fh.read(want)):
            chunks.append(chunk)
            total += len(chunk)
            want = min(cap + 1 - total, 1024 * 1024)  # it grew, or is no regular file: on, up to the cap
    if total > cap:
        raise ImportProblem(f"document larger than {cap} bytes")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _plain(path: Path, root: Path) -> Path:
    """A regular file or folder inside the package, never a link: a symlink could
    point at the keys (HIMAYA_HOME/keys) and carry them out as evidence."""
    if path.is_symlink():
        raise ImportProblem(f"{path}: a symbolic link; packages may hold only plain files and folders")
    try:
        path.resolve(strict=True).relative_to(root)
    except (ValueError, OSError):
        raise ImportProblem(f"{path}: outside the package") from None
    return path


def _walk(root: Path) -> tuple[list[tuple[str, ...]], list[tuple[tuple[str, ...], bool]], set[tuple[str, ...]]]:
    """One pass over the package's folders, never into a link (as `Path.rglob`, which the
    scan used before: the same folders, the same matches). Paths relative to the root, as
    tuples of names (sorted, they are in `Path` order): the links to folders, the
    report.xml that exist (with whether each is a link: a link to a file counts, to be
    refused; a broken link does not), and the folders that hold something named "files"
    (even a broken link)."""
    linked_dirs: list[tuple[str, ...]] = []
    reports: list[tuple[tuple[str, ...], bool]] = []
    with_files: set[tuple[str, ...]] = set()
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while stack:
        top, rel = stack.pop()
        try:
            with os.scandir(top) as it:
                entries = list(it)
        except PermissionError:
            continue
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            is_link = not is_dir and entry.is_symlink()
            if is_dir:
                stack.append((entry.path, (*rel, name)))
            elif is_link and Path(entry.path).is_dir():
                linked_dirs.append((*rel, name))
            if name == REPORT_NAME:
                if not is_link or Path(entry.path).exists():
                    reports.append(((*rel, name), is_link))
            elif name == "files":
                with_files.add(rel)
    linked_dirs.sort()
    reports.sort()
    return linked_dirs, reports, with_files


def _scan_folder(root: Path) -> Iterator[SourceReport | ImportProblem]:
    if root.is_symlink():
        yield ImportProblem(f"{root}: a symbolic link; name the package itself")
        return
    real_root = root.resolve()
    linked_dirs, found, with_files = _walk(root)
    for parts in linked_dirs:
        problem = ImportProblem(f"{root.joinpath(*parts)}: a symbolic link to a folder; not followed, nothing in it imported")
        problem.label = str(root.joinpath(*parts))
        yield problem
    # The walk never enters a link, so every folder it reached is a plain folder inside
    # the package: only report.xml itself (a link to a file) and what is under files/ are
    # left to check. Paths are joined as strings: a Path per report cost more than the rest.
    top = str(root)
    prefix = "" if top == "." else top if top.endswith("/") else top + "/"
    # Only the package's own report.xml when it has one (a link to a file is to be refused).
    report_files = [((REPORT_NAME,), True)] if (root / REPORT_NAME).exists() else found
    for parts, check in report_files:
        rx = prefix + "/".join(parts)
        label = prefix + "/".join(parts[:-1]) if len(parts) > 1 else top
        try:
            if check:
                _plain(Path(rx), real_root)
            src = SourceReport(label=label, folder_name=parts[-2] if len(parts) > 1 else root.name,
                               read_report=lambda rx=rx: _read_file_capped(rx, settings.HIMAYA_MAX_XML_BYTES))
            if parts[:-1] in with_files:  # there, or a link (even a broken one): looked at below
                folder = Path(label)
                files_dir = folder / "files"
                _plain(files_dir, real_root)
                for fdir in sorted(files_dir.iterdir()):
                    _plain(fdir, real_root)
                    if not fdir.is_dir():
                        continue
                    members = [_plain(p, real_root) for p in sorted(fdir.iterdir())]
                    content = [p for p in members if p.is_file() and p.name != DETAILS_NAME]
                    details = fdir / DETAILS_NAME
                    sf = SourceFile(content[0].name, content[0].stat().st_size, lambda p=content[0]: open(p, "rb")) if content else None
                    rd = (lambda d=details: _read_file_capped(d, settings.HIMAYA_MAX_XML_BYTES)) if details.is_file() else None
                    src.files[fdir.name] = (sf, rd)
        except ImportProblem as problem:
            problem.label = label
            yield problem
            continue
        yield src


_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


def _zip_member_readable(info: zipfile.ZipInfo) -> None:
    if info.flag_bits & 0x1:
        raise ImportProblem(f"{info.filename}: encrypted in the zip; packages must not be password-protected")
    if info.compress_type not in _ZIP_METHODS:
        raise ImportProblem(f"{info.filename}: compression method {info.compress_type} is not supported "
                            f"(use {', '.join(_ZIP_METHODS.values())})")


def _zip_member_ok(info: zipfile.ZipInfo) -> None:
    p = PurePosixPath(info.filename)
    if p.is_absolute() or ".." in p.parts:
        raise ImportProblem(f"unsafe path in zip: {info.filename!r}")
    if info.compress_size and info.file_size / max(info.compress_size, 1) > MAX_COMPRESSION_RATIO and info.file_size > 1024 * 1024:
        raise ImportProblem(f"{info.filename}: compression ratio too high (zip bomb?)")


class _CappedReader(io.RawIOBase):
    """Refuses to inflate more than the size the zip declared (lying headers)."""

    def __init__(self, fh: BinaryIO, declared: int) -> None:
        self._fh, self._left = fh, declared

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._fh.read(n if n >= 0 else 1024 * 1024)
        except (zlib.error, EOFError, zipfile.BadZipFile, lzma.LZMAError, OSError) as exc:
            raise ImportProblem(f"a zip member is damaged: {exc}") from None
        self._left -= len(data)
        if self._left < 0:
            raise ImportProblem("a zip member inflates beyond its declared size")
        return data


def _scan_zip(path: Path) -> Iterator[SourceReport]:
    zf = zipfile.ZipFile(path)
    infos = {i.filename.rstrip("/"): i for i in zf.infolist() if not i.is_dir()}
    for name, info in infos.items():
        _zip_member_ok(info)

    def opener(info: zipfile.ZipInfo) -> Callable[[], BinaryIO]:
        def open_member() -> BinaryIO:
            _zip_member_readable(info)
            try:
                return _CappedReader(zf.open(info), info.file_size)  # type: ignore[return-value]
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error) as exc:
                raise ImportProblem(f"{info.filename}: cannot be read from the zip: {exc}") from None
        return open_member

    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        return lambda: _read_capped(opener(info)(), settings.HIMAYA_MAX_XML_BYTES)

    for name in sorted(n for n in infos if PurePosixPath(n).name == REPORT_NAME):
        folder = PurePosixPath(name).parent
        src = SourceReport(label=f"{path}:{folder}", folder_name=folder.name, read_report=reader(infos[name]))
        prefix = f"{folder}/files/" if str(folder) != "." else "files/"
        groups: dict[str, dict[str, zipfile.ZipInfo]] = {}
        for member, info in infos.items():
            if member.startswith(prefix):
                parts = member[len(prefix):].split("/")
                if len(parts) == 2:
                    groups.setdefault(parts[0], {})[parts[1]] = info
        for fid, members in sorted(groups.items()):
            content = sorted(n for n in members if n != DETAILS_NAME)
            sf = SourceFile(content[0], members[content[0]].file_size, opener(members[content[0]])) if content else None
            rd = reader(members[DETAILS_NAME]) if DETAILS_NAME in members else None
            src.files[fid] = (sf, rd)
        yield src


def scan(path: Path) -> Iterator[SourceReport | ImportProblem]:
    if path.is_dir():
        yield from _scan_folder(path)
    elif zipfile.is_zipfile(path):
        yield from _scan_zip(path)
    else:
        raise ImportProblem(f"{path}: not a folder or a zip file")


def _stream_in(sf: SourceFile) -> PendingFile:
    incoming = IncomingFile(max_bytes=settings.HIMAYA_MAX_UPLOAD_BYTES)
    try:
        with sf.open() as fh:
            while chunk := fh.read(1024 * 1024):
                incoming.write(chunk)
    except FileTooLarge as exc:
        raise ImportProblem(str(exc)) from None
    except BaseException:
        incoming.discard()
        raise
    return incoming.close()


def report_import(*, source: SourceReport, unit: Unit, actor: object, origin: str = ReportSource.IMPORT) -> int | None:
    """Returns the new report's id, or None when it was imported before. `origin` is
    the report's source: a bulk import, or a partner unit's referral (himaya.exchange)."""
    now = timezone.now()
    raw = source.read_report()
    try:
        tree = parse_document(raw, expect="report")
    except IntakeError as exc:
        raise ImportProblem(f"report.xml: {exc.detail or exc.code}") from None
    # priorCTReports in a forwarded report name reports of the system it came from.
    violations = check_report(tree, now=now, prior_report_exists=lambda _id: True)
    if violations:
        raise ImportProblem("report.xml: " + "; ".join(f"{v.path}: {v.message}" for v in violations[:10]))
    batched = any(c.tag == "batchedReport" for c in tree.children)
    details_trees: dict[str, tuple[Node, bytes]] = {}
    for fid, (sf, read_details) in source.files.items():
        if sf is None:
            raise ImportProblem(f"files/{fid}: no file beside its details")
        if read_details is not None:
            draw = read_details()
            try:
                dtree = parse_document(draw, expect="fileDetails")
            except IntakeError as exc:
                raise ImportProblem(f"files/{fid}/{DETAILS_NAME}: {exc.detail or exc.code}") from None
            dv = check_file_details(dtree, now=now, batched=batched)
            if dv:
                raise ImportProblem(f"files/{fid}/{DETAILS_NAME}: " + "; ".join(f"{v.path}: {v.message}" for v in dv[:10]))
            details_trees[fid] = (dtree, draw)
    if batched and len(source.files) > 1:
        raise ImportProblem("a VIRAL_POTENTIAL_MEME batched report may have only one file")

    pending: dict[str, PendingFile] = {}
    try:
        for fid, (sf, _) in source.files.items():
            pending[fid] = _stream_in(sf)  # type: ignore[arg-type]
        key = hashlib.sha256(raw + b"".join(
            bytes.fromhex(pending[fid].stored.sha256) + hashlib.sha256(details_trees[fid][1] if fid in details_trees else b"").digest()
            for fid in sorted(pending)
        )).hexdigest()
        if Report.objects.filter(import_key=key).exists():
            return None
        external_id = int(source.folder_name) if source.folder_name.isdigit() and len(source.folder_name) < 19 else None
        try:
            with transaction.atomic():
                report = report_create_from_tree(
                    tree=tree, raw=raw, unit=unit, source=origin, reporter=None, now=now,
                    status=ReportStatus.FINISHED, import_key=key, import_label=source.label, external_id=external_id,
                )
                for position, fid in enumerate(sorted(pending), start=1):
                    p = pending[fid]
                    blob = blob_put(p)
                    s = p.stored
                    rf = ReportFile.objects.create(
                        report=report, file_id=uuid.uuid4().hex, position=position, blob=blob,
                        upload_name=source.files[fid][0].name[:500],  # type: ignore[union-attr]
                        size=s.size, md5=s.md5, sha1=s.sha1, sha256=s.sha256, uploaded_at=now,
                    )
                    if fid in details_trees:
                        dtree, draw = details_trees[fid]
                        file_details_apply(rf, tree=dtree, raw=draw, now=now)
                events.report_imported_event(actor=actor, report=report, source=source.label, files=len(pending))
                from himaya.intake.services import enqueue_report_received

                enqueue_report_received(report.id)
        except IntegrityError:
            if Report.objects.filter(import_key=key).exists():
                return None  # a concurrent import of the same package won the race
            raise
        return report.id
    finally:
        for p in pending.values():
            p.discard()


def import_paths(*, paths: list[Path], unit: Unit, actor: object, progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None) -> ImportSummary:
    summary = ImportSummary()
    sources: list[SourceReport] = []
    for path in paths:
        try:
            for found in scan(path):
                if isinstance(found, ImportProblem):
                    summary.failed.append({"path": found.label, "error": str(found)})
                else:
                    sources.append(found)
        except (ImportProblem, OSError, zipfile.BadZipFile) as exc:
            summary.failed.append({"path": str(path), "error": str(exc)})
    if on_total:
        on_total(len(sources))
    from himaya.intake.batch import reports_import

    def on_result(src: SourceReport, outcome: int | None | Exception) -> None:
        if isinstance(outcome, (ImportProblem, OSError, zipfile.BadZipFile, UnicodeError)):
            summary.failed.append({"path": src.label, "error": str(outcome)})
        elif isinstance(outcome, Exception):
            raise outcome
        elif outcome is None:
            summary.duplicates.append(src.label)
        else:
            summary.imported.append(outcome)
        if progress:
            progress(1)

    # In batches: reports without files in one transaction per batch, the others one at a time.
    reports_import(sources=sources, unit=unit, actor=actor, on_result=on_result)
    return summary
