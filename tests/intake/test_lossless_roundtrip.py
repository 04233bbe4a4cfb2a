"""Random valid reports, generated from the XSD, round-trip losslessly through the
provider API, the database and `export_report` — and again through bulk import."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from himaya.intake.bulk import with_ids, import_paths, report_export
from himaya.intake.cybertip import equivalent, parse_xml
from himaya.reports.models import Report, ReportFile
from tests.conftest import Provider
from tests.strategies import file_details_documents, report_documents

pytestmark = pytest.mark.django_db
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _export(report: Report, tmp: Path) -> Path:
    out = tmp / f"r{report.id}"
    report_export(report=report, out_dir=out, actor="test")
    return out


@EXAMPLES
@given(doc=report_documents(), data=st.data())
def test_random_reports_round_trip_through_the_api_and_export(provider, tmp_path, doc, data):
    opened = provider.submit(doc)
    assert opened.code == 0, opened.description
    payload = data.draw(st.binary(min_size=1, max_size=64))
    fid = provider.upload(opened.report_id, payload).file_id
    batched = b"VIRAL_POTENTIAL_MEME" in doc
    details = data.draw(file_details_documents(report_id=opened.report_id, file_id=fid, batched=batched))
    answer = provider.fileinfo(details)
    assert answer.code == 0, answer.description
    assert provider.finish(opened.report_id).code == 0

    report = Report.objects.get(id=opened.report_id)
    out = _export(report, tmp_path)
    assert equivalent(doc, (out / "report.xml").read_bytes())
    assert equivalent(details, (out / "files" / fid / "fileDetails.xml").read_bytes())
    assert [p.read_bytes() for p in (out / "files" / fid).iterdir() if p.name != "fileDetails.xml"] == [payload]
    assert report.raw_xml == doc


@EXAMPLES
@given(doc=report_documents(), data=st.data())
def test_exported_reports_import_losslessly_and_only_once(provider, tmp_path, doc, data):
    rid = provider.submit(doc).report_id
    fid = provider.upload(rid, b"benign bytes " + doc[:16]).file_id
    details = data.draw(file_details_documents(report_id=rid, file_id=fid, batched=b"VIRAL_POTENTIAL_MEME" in doc))
    assert provider.fileinfo(details).code == 0
    provider.finish(rid)
    package = _export(Report.objects.get(id=rid), tmp_path)

    unit = Report.objects.get(id=rid).unit
    first = import_paths(paths=[package], unit=unit, actor="test")
    assert first.failed == [] and len(first.imported) == 1
    again = import_paths(paths=[package], unit=unit, actor="test")
    assert again.imported == [] and len(again.duplicates) == 1

    imported = Report.objects.get(id=first.imported[0])
    reexported = _export(imported, tmp_path / "again")
    assert equivalent(doc, (reexported / "report.xml").read_bytes())
    new_fid = ReportFile.objects.get(report=imported).file_id
    # The details name this system's IDs; everything else is as first submitted.
    original = with_ids(parse_xml(details)[1], report_id=imported.id, file_id=new_fid)
    assert equivalent(original, (reexported / "files" / new_fid / "fileDetails.xml").read_bytes())
