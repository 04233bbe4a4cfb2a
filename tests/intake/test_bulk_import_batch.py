"""`himaya import` of reports without files, written a batch at a time without model
instances (COPY on PostgreSQL, executemany on SQLite): what is stored is what one at a
time stores, the audit chain verifies, a second import adds nothing, a bad report or a
failing database costs only what it must."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection

from himaya.audit.models import AuditEvent
from himaya.enrichment.models import ReportEnrichment, Stage
from himaya.reports.models import DeviceIdEvent, Identifier, IncidentDetail, IpCaptureEvent, Party, Report
from himaya.stats.models import StaleMonth
from tests.intake.packages import package
from tests.linking.factory import Person, report_xml

pytestmark = pytest.mark.django_db(transaction=False)


def documents(n: int) -> list[bytes]:
    """Rich synthetic reports (names, victims, incidents), and text COPY must escape."""
    from himaya.demo.generator import generate_reports

    docs = [r.xml for r in generate_reports(n, seed=7)]
    docs.append(report_xml(suspect=Person(esp_id="tab\tback\\slash", emails=["x@example.com"], ips=[("213.6.10.20", True)],
                                          devices=[("IMEI", "356938035643809")]), chat="line one\nline two\r\n\ttabbed \\N not null"))
    return docs


def run_import(path, capsys) -> dict:  # type: ignore[no-untyped-def, type-arg]
    call_command("import", str(path), "--json")
    return json.loads(capsys.readouterr().out)


def stored(report: Report) -> dict:  # type: ignore[type-arg]
    """Everything stored of a report and its projection, comparable across two imports."""
    parties = list(Party.objects.filter(report=report).order_by("id"))
    key = {p.id: (p.role, p.position, p.path) for p in parties}

    def cols(obj, *names):  # type: ignore[no-untyped-def]
        return tuple(key.get(getattr(obj, n)) if n in ("party_id", "parent_id") else getattr(obj, n) for n in names)

    return {
        "report": cols(report, "source", "status", "raw_xml", "raw_sha256", "document", "import_key", "external_id", "incident_type",
                       "incident_at", "platform", "escalation", "batched_reason", "annotations", "reporter_id", "closed_at"),
        "parties": sorted(cols(p, "role", "position", "path", "first_name", "middle_name", "last_name", "age", "date_of_birth",
                               "esp_identifier", "esp_service", "screen_name", "platform", "account_type", "parent_id") for p in parties),
        "identifiers": sorted(cols(i, "kind", "value", "qualifier", "path", "party_id", "file_id") for i in Identifier.objects.filter(report=report)),
        "ips": sorted(map(str, (cols(e, "ip_address", "event_name", "at", "possible_proxy", "port", "path", "party_id")
                                for e in IpCaptureEvent.objects.filter(report=report)))),
        "devices": sorted(map(str, (cols(d, "id_type", "id_value", "event_name", "at", "path", "party_id")
                                    for d in DeviceIdEvent.objects.filter(report=report)))),
        "incidents": sorted(map(str, (cols(i, "position", "kind", "content", "additional_info", "fields")
                                      for i in IncidentDetail.objects.filter(report=report)))),
        "audit": [(e.actor, e.target_type, e.unit_id, e.data["files"], e.data["sha256"], e.data["source"].rsplit("/", 1)[-1])
                  for e in AuditEvent.objects.filter(action="report.imported", target_id=str(report.id))],
        "label": report.import_label.rsplit("/", 1)[-1],
    }


def test_the_columns_written_cover_every_column_of_the_tables() -> None:
    from himaya.intake import bulkrows

    for model, ids, columns in bulkrows.TABLES:
        written = [*ids, *columns]
        assert len(set(written)) == len(written)
        # Every column is written, but an id the database gives (its default).
        assert set(written) | {"id"} == {f.attname for f in model._meta.concrete_fields}, model


def test_a_batch_stores_exactly_what_one_at_a_time_stores(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch
    from himaya.accounts.services import unit_get_or_create
    from himaya.intake.bulk import report_import, scan

    docs = documents(6)
    single = [report_import(source=s, unit=unit_get_or_create(code="intake"), actor="cli") for s in scan(package(tmp_path / "one", docs))]
    expected = [stored(Report.objects.get(id=rid)) for rid in single]
    assert sum(len(e["parties"]) for e in expected) > 10 and any(e["incidents"] for e in expected)
    Report.objects.all().delete()

    monkeypatch.setattr(batch, "BATCH", 3)
    summary = run_import(package(tmp_path / "many", docs), capsys)
    assert summary["imported"] == len(docs) and summary["errors"] == []
    assert [stored(r) for r in Report.objects.order_by("id")] == expected
    # The encrypted columns hold ciphertext, as the ORM writes them: no name in clear.
    with connection.cursor() as cur:
        cur.execute(f"SELECT raw_xml FROM {Report._meta.db_table}")
        assert all(bytes(r[0]).startswith(b"HE1") for r in cur.fetchall())
        cur.execute(f"SELECT first_name FROM {Party._meta.db_table} WHERE first_name <> ''")
        names = [r[0] for r in cur.fetchall()]
        assert names and all(n.startswith("enc:") for n in names)


def test_the_audit_chain_verifies_after_batches(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch
    from himaya.audit.services import audit_verify

    monkeypatch.setattr(batch, "BATCH", 4)
    summary = run_import(package(tmp_path / "p", documents(9)), capsys)
    count, breaks = audit_verify()
    assert breaks == [] and count >= summary["imported"] == 10
    events = AuditEvent.objects.filter(action="report.imported")
    assert sorted(int(e.target_id) for e in events) == sorted(summary["report_ids"])
    assert {e.data["sha256"] for e in events} == set(Report.objects.values_list("raw_sha256", flat=True))


def test_a_second_import_adds_nothing_and_says_duplicates(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = package(tmp_path / "p", documents(5))
    first = run_import(root, capsys)
    rows = (Report.objects.count(), Party.objects.count(), Identifier.objects.count(), AuditEvent.objects.count())
    again = run_import(root, capsys)
    assert first["imported"] == 6 and again["imported"] == 0 and len(again["duplicates"]) == 6
    assert (Report.objects.count(), Party.objects.count(), Identifier.objects.count(), AuditEvent.objects.count()) == rows


def test_a_bad_report_in_the_middle_of_a_batch_is_refused_with_its_reason(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch

    monkeypatch.setattr(batch, "BATCH", 3)
    docs = documents(6)
    docs[4] = docs[4].replace(b"<incidentSummary>", b"<incidentSummary><nonsense/>", 1)
    summary = run_import(package(tmp_path / "p", docs), capsys)
    assert summary["imported"] == 6
    assert [e["path"].rsplit("/", 1)[-1] for e in summary["errors"]] == ["0004"]
    assert summary["errors"][0]["error"].startswith("report.xml: ") and "nonsense" in summary["errors"][0]["error"]
    assert sorted(Report.objects.values_list("external_id", flat=True)) == [0, 1, 2, 3, 5, 6]


def test_a_batch_the_database_refuses_leaves_nothing_half_written(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch

    monkeypatch.setattr(batch, "BATCH", 3)
    calls = []
    real = batch.audit_record_many

    def failing_second(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:  # after the second batch's reports and parties were written
            raise DatabaseError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(batch, "audit_record_many", failing_second)
    root = package(tmp_path / "p", documents(6))
    summary = run_import(root, capsys)
    assert summary["imported"] == 4
    assert [e["path"].rsplit("/", 1)[-1] for e in summary["errors"]] == ["0003", "0004", "0005"]
    assert all("not stored, the database refused the batch: disk full" in e["error"] for e in summary["errors"])
    assert sorted(Report.objects.values_list("external_id", flat=True)) == [0, 1, 2, 6]
    assert Party.objects.exclude(report__in=Report.objects.all()).count() == 0
    assert Party.objects.filter(report__external_id=3).count() == 0
    # Imported again once the database is well: the rest goes in, nothing twice.
    monkeypatch.setattr(batch, "audit_record_many", real)
    again = run_import(root, capsys)
    assert again["imported"] == 3 and len(again["duplicates"]) == 4
    assert Report.objects.count() == 7


def test_one_announcement_per_batch_and_each_report_waits_at_its_first_stage(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.intake.batch as batch

    monkeypatch.setattr(batch, "BATCH", 4)
    announced: list[list[int]] = []
    monkeypatch.setattr(batch, "enqueue_reports_received", lambda ids: announced.append(list(ids)))
    summary = run_import(package(tmp_path / "p", documents(9)), capsys)
    assert [len(a) for a in announced] == [4, 4, 2]
    assert sorted(i for a in announced for i in a) == sorted(summary["report_ids"])
    # Not run yet (the announcement was held back): every report shows as waiting for its media stage.
    assert sorted(ReportEnrichment.objects.filter(stage=Stage.MEDIA).values_list("report_id", flat=True)) == sorted(summary["report_ids"])
    # Each a fresh arrival, as the pipeline's status page shows it: no failure, no attempt, no
    # stage run, nothing done yet, asked for during this import.
    fresh = ReportEnrichment(report_id=0, stage=Stage.MEDIA)
    plain = ("error", "failed_stage", "attempts", "next_attempt_at", "media_runs", "link_runs", "triage_runs", "verdicts", "done_at")
    for row in ReportEnrichment.objects.all():
        assert {f: getattr(row, f) for f in plain} == {f: getattr(fresh, f) for f in plain}
        assert row.requested_at is not None and row.updated_at >= row.requested_at
        assert Report.objects.get(id=row.report_id).finished_at <= row.requested_at
    # The statistics know the month changed (marked once per batch, not per report).
    unit_id = Report.objects.values_list("unit_id", flat=True).first()
    assert StaleMonth.objects.filter(unit_id=unit_id).exists()
