"""`himaya import` in batches (issue 18 item 2): the same reports, rows, audit events and
idempotence as one at a time, one queued announcement per batch, and the enrichment
flow run for every report."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from himaya.audit.models import AuditEvent
from himaya.enrichment.models import ReportEnrichment, Stage
from himaya.reports.models import DeviceIdEvent, Identifier, IncidentDetail, IpCaptureEvent, Party, Report, ReportFile
from himaya.triage.models import ReportTriage
from tests.intake.packages import package
from tests.linking.factory import Person, report_xml

pytestmark = pytest.mark.django_db


def rows_of(report: Report) -> dict[str, list]:  # type: ignore[type-arg]
    """What a report's projection wrote, comparable across reports (no ids)."""
    party_key = {p.id: (p.role, p.position, p.path) for p in Party.objects.filter(report=report)}
    return {
        "parties": sorted((p.role, p.position, p.path, p.first_name, p.age, p.esp_identifier, p.screen_name,
                           party_key.get(p.parent_id)) for p in Party.objects.filter(report=report)),
        "identifiers": sorted((i.kind, i.value, i.qualifier, i.path, party_key.get(i.party_id)) for i in Identifier.objects.filter(report=report)),
        "ips": sorted((e.ip_address, e.event_name, e.possible_proxy, e.path, party_key.get(e.party_id)) for e in IpCaptureEvent.objects.filter(report=report)),
        "devices": sorted((d.id_type, d.id_value, d.path, party_key.get(d.party_id)) for d in DeviceIdEvent.objects.filter(report=report)),
        "incidents": sorted((i.kind, i.position, i.content, i.additional_info) for i in IncidentDetail.objects.filter(report=report)),
    }


def people(n: int) -> list[bytes]:
    return [report_xml(suspect=Person(esp_id=f"batch-{i}", emails=[f"p{i}@example.com"], phones=[("+970599000" + f"{i:03d}", "")],
                                      devices=[("IMEI", "356938035643809")], ips=[("213.6.10.20", i % 2 == 0)]),
                       victim_age=10 + i % 5, chat=f"message {i}") for i in range(n)]


def run_import(path, capsys) -> dict:  # type: ignore[no-untyped-def, type-arg]
    call_command("import", str(path), "--json")
    return json.loads(capsys.readouterr().out)


def test_a_batch_writes_what_one_at_a_time_writes(tmp_path, capsys, django_capture_on_commit_callbacks, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch
    from himaya.accounts.permissions import OPERATOR
    from himaya.accounts.services import unit_get_or_create
    from himaya.intake.bulk import report_import, scan

    docs = people(7)
    # One at a time, on the first copy of the documents.
    single = [report_import(source=s, unit=unit_get_or_create(code="intake"), actor=OPERATOR) for s in scan(package(tmp_path / "one", docs))]
    expected = [rows_of(Report.objects.get(id=rid)) for rid in single]
    Report.objects.all().delete()
    events_before = AuditEvent.objects.filter(action="report.imported").count()

    monkeypatch.setattr(batch, "BATCH", 3)  # several batches and a short last one
    with django_capture_on_commit_callbacks(execute=True):
        summary = run_import(package(tmp_path / "many", docs), capsys)
    assert summary["imported"] == 7 and summary["errors"] == [] and summary["duplicates"] == []
    reports = list(Report.objects.order_by("id"))
    assert [rows_of(r) for r in reports] == expected
    assert [r.import_label.rsplit("/", 1)[-1] for r in reports] == [f"{n:04d}" for n in range(7)]
    assert [r.external_id for r in reports] == list(range(7))  # the folder's number, as one at a time keeps it
    assert AuditEvent.objects.filter(action="report.imported").count() - events_before == 7
    # Each report went through its enrichment flow once.
    assert ReportEnrichment.objects.filter(stage=Stage.DONE, link_runs=1).count() == 7
    assert ReportTriage.objects.count() == 7


def test_a_package_imported_twice_adds_nothing_whichever_path_took_it(tmp_path, capsys, image_bytes) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import DOC_REPORT

    root = package(tmp_path / "p", people(3))
    with_file = root / "9999"
    (with_file / "files" / "f1").mkdir(parents=True)
    (with_file / "report.xml").write_bytes(DOC_REPORT)
    (with_file / "files" / "f1" / "picture.jpg").write_bytes(image_bytes)
    first = run_import(root, capsys)
    assert first["imported"] == 4 and ReportFile.objects.count() == 1
    again = run_import(root, capsys)
    assert again["imported"] == 0 and len(again["duplicates"]) == 4
    assert Report.objects.count() == 4


def test_a_bad_report_in_a_batch_is_skipped_and_the_others_go_in(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    docs = people(4)
    docs[2] = docs[2].replace(b"<incidentSummary>", b"<incidentSummary><nonsense/>", 1)
    docs.append(docs[0])  # the same report twice in one package: once
    summary = run_import(package(tmp_path / "p", docs), capsys)
    assert summary["imported"] == 3
    assert [f["path"].rsplit("/", 1)[-1] for f in summary["errors"]] == ["0002"]
    assert [d.rsplit("/", 1)[-1] for d in summary["duplicates"]] == ["0004"]


def test_reports_are_parsed_in_worker_processes_with_the_same_result(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch

    monkeypatch.setattr(batch, "PARALLEL_FROM", 2)
    docs = people(6)
    docs[3] = b"<report>not closed"
    summary = run_import(package(tmp_path / "p", docs), capsys)
    assert summary["imported"] == 5 and [f["path"].rsplit("/", 1)[-1] for f in summary["errors"]] == ["0003"]
    assert summary["errors"][0]["error"].startswith("report.xml: ")
