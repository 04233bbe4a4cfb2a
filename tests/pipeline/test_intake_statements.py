"""What one provider report costs the database at intake (issue 18 item 2: intake at
300 reports/s; bench/RESULTS.md: the statements per report are the cost)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.linking.factory import Person, report_xml

pytestmark = pytest.mark.django_db


def test_submit_and_finish_take_a_bounded_number_of_statements(provider, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # the enrichment is not intake's
    xml = report_xml(suspect=Person(esp_id="count-1", emails=["a@example.com", "b@example.com"], phones=[("+970599000111", "")],
                                    devices=[("IMEI", "356938035643809")], ips=[("213.6.10.20", False), ("198.51.100.40", True)]),
                     victim_age=12, chat="hello")
    provider.submit(xml)  # warm: the reporter's credentials cached, the schema compiled
    with CaptureQueriesContext(connection) as submit:
        rid = provider.submit(xml).report_id
    with CaptureQueriesContext(connection) as finish:
        assert provider.finish(rid).code == 0
    # Not counted: the savepoints standing for the request's transaction inside the test's own.
    counted = lambda ctx: [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]  # noqa: E731
    # The report, its parties, the audit event, and its identifiers, IP events, device events and incidents:
    # those four in one statement on PostgreSQL, one each elsewhere.
    assert len(counted(submit)) <= (4 if connection.vendor == "postgresql" else 7), "\n".join(counted(submit))
    # The report locked and finished in one UPDATE, its files listed, the audit event (the task row is the
    # queue's); + 1 of the statistics' post_save receiver marking the month stale (none within a second of
    # the same process's committed mark of that month: tests/pipeline/test_intake_statements.py::test_the_month_mark_*)
    # + 1 of the enrichment flow's receiver of `reports_arriving`: the arrival's waiting row, so that a worker takes
    # many arrivals at once.
    assert len(counted(finish)) <= 3 + 1 + 1, "\n".join(counted(finish))


def _marks(unit_id: int) -> int:
    from himaya.stats.models import StaleMonth

    return StaleMonth.objects.filter(unit_id=unit_id).count()


def test_the_month_mark_is_written_once_a_second_and_again_after_a_recompute(  # type: ignore[no-untyped-def]
        reporter, settings, django_capture_on_commit_callbacks) -> None:
    """Hundreds of finishes a second in the same month write its stale mark once (the
    statistics' memory per process); a recompute or a rebuild in this process forgets it,
    so the next finish marks the month again and the dashboard counts that report."""
    from django.utils import timezone

    from himaya.stats import aggregates

    settings.HIMAYA_STATS_MARK_MEMO_SECONDS = 60
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # the refresh runs later, elsewhere
    aggregates.forget_marks()
    # A month nothing else in the process marks (a test's lingering thread shares the process's memory).
    unit_id, now = reporter.unit_id, timezone.make_aware(timezone.datetime(2001, 1, 15, 12))
    with django_capture_on_commit_callbacks(execute=True):
        aggregates.mark_stale(unit_id, [now])
    assert _marks(unit_id) == 1
    with CaptureQueriesContext(connection) as again:
        aggregates.mark_stale(unit_id, [now])
    assert again.captured_queries == []
    aggregates.month_refresh(unit_id=unit_id, month=aggregates.month_of(now))  # a reader or the refresh task recomputes it
    assert _marks(unit_id) == 0
    with django_capture_on_commit_callbacks(execute=True):
        aggregates.mark_stale(unit_id, [now])
    assert _marks(unit_id) == 1, "a change after the recompute must mark the month stale again"
    aggregates.rebuild()
    assert _marks(unit_id) == 0
    aggregates.mark_stale(unit_id, [now])
    assert _marks(unit_id) == 1, "a change after a rebuild must mark the month stale again"


def test_the_month_mark_of_a_rolled_back_change_is_not_remembered(reporter, settings, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """A mark that never committed (the change failed) must not spare the next change its mark."""
    from django.utils import timezone

    from himaya.stats import aggregates

    settings.HIMAYA_STATS_MARK_MEMO_SECONDS = 60
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # the refresh runs later, elsewhere
    aggregates.forget_marks()
    # A month nothing else in the process marks (a test's lingering thread shares the process's memory).
    unit_id, now = reporter.unit_id, timezone.make_aware(timezone.datetime(2001, 1, 15, 12))
    with django_capture_on_commit_callbacks(execute=False):  # as if rolled back: its on-commit work never runs
        aggregates.mark_stale(unit_id, [now])
    with CaptureQueriesContext(connection) as again:
        aggregates.mark_stale(unit_id, [now])
    assert len(again.captured_queries) == 1


def _stored(report_id: int) -> dict[str, list[tuple[object, ...]]]:
    """Every projection row of a report as the ORM reads it back, without its own ids
    (a row's party is named by the party's path)."""
    from himaya.reports.models import DeviceIdEvent, Identifier, IncidentDetail, IpCaptureEvent, Party

    def rows(model, exclude=("id", "report", "party", "parent")):  # type: ignore[no-untyped-def]
        names = [f.name for f in model._meta.concrete_fields if f.name not in exclude]
        out = []
        for obj in model.objects.filter(report_id=report_id).order_by("id"):
            owner = getattr(obj, "party", None) if model is not Party else obj.parent
            out.append((*(getattr(obj, n) for n in names), owner.path if owner is not None else None))
        return out

    def sealed(model):  # type: ignore[no-untyped-def]
        # The encrypted columns as stored: sealed (or empty) in both, never plaintext.
        from himaya.core.fields import EncryptedTextField

        columns = [f.column for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns)} FROM {model._meta.db_table} WHERE report_id = %s ORDER BY id", [report_id])
            return [tuple(v[:4] for v in row) for row in cursor.fetchall()]

    return {**{m.__name__: rows(m) for m in (Party, Identifier, IpCaptureEvent, DeviceIdEvent, IncidentDetail)},
            **{f"{m.__name__} sealed": sealed(m) for m in (Party, IncidentDetail)}}


def test_the_projection_rows_are_stored_exactly_as_the_per_value_statements_store_them(reporter, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL a submit's projection rows go in as one JSON document per table
    (`json_to_recordset`); what is stored must be exactly what the multi-row VALUES
    statements (SQLite's way, and PostgreSQL's before) store: the demo generator's
    documents and values chosen to trip a JSON round trip (quotes, backslashes, control
    characters, Arabic and astral characters, an offset other than UTC with
    microseconds, booleans and nulls, nested JSON)."""
    from datetime import datetime, timedelta, timezone

    from django.db import connections

    from himaya.demo.generator import generate_reports
    from himaya.intake.cybertip import parse_xml
    from himaya.intake.services import projection_rows
    from himaya.reports.models import Report, ReportSource
    from himaya.reports.projection import DeviceRow, IdentifierRow, IncidentRow, IpRow, PartyRow, Projection, project_report

    tricky = "a 'q' \"dq\" \\ back\\slash %s %% \t\n\r\x01 مرحبا 😀 \u2028 end"
    at = datetime(2026, 3, 1, 10, 20, 30, 123456, tzinfo=timezone(timedelta(hours=2, minutes=30))).isoformat()
    crafted = Projection(
        parties=[PartyRow(key=1, parent_key=None, role="reported", position=1, path="/report/p[1]", first_name=tricky, last_name="سمير",
                          age=13, date_of_birth="2013-01-02", esp_identifier=tricky[:40], screen_name="", platform="ø"),
                 PartyRow(key=2, parent_key=1, role="associated", position=1, path="/report/p[1]/a[1]", account_type="x" * 50)],
        identifiers=[IdentifierRow(party_key=2, kind="email", value=tricky, qualifier="", path="/i[1]"),
                     IdentifierRow(party_key=None, kind="url", value="https://example.com/?a=1&b='2'", qualifier="q", path="/i[2]")],
        ips=[IpRow(party_key=1, ip_address=" 192.0.2.1 ", event_name="Login", at=at, possible_proxy=True, port=443, path="/ip[1]"),
             IpRow(party_key=None, ip_address="2001:db8::1", event_name="", at=None, possible_proxy=None, port=None, path="/ip[2]"),
             IpRow(party_key=2, ip_address="198.51.100.7", event_name="Upload", at="2026-03-01T08:00:00Z", possible_proxy=False,
                   port=0, path="/ip[3]")],
        devices=[DeviceRow(party_key=1, id_type="IMEI", id_value=tricky, event_name="Login", at=at, path="/d[1]"),
                 DeviceRow(party_key=None, id_type="x", id_value="", event_name="", at=None, path="/d[2]")],
        incidents=[IncidentRow(position=1, kind="chatImIncident", content=tricky, additional_info="",
                               fields={"k": [1, 2.5, True, None, tricky, {"ع": "😀"}], "empty": {}})],
    )
    projections = [crafted] + [project_report(parse_xml(bytes(r.xml))[1]) for r in generate_reports(15, seed=11)]

    def write(proj: Projection) -> int:
        now = datetime.now(timezone.utc)
        report = Report.objects.create(unit_id=reporter.unit_id, reporter=reporter, source=ReportSource.API, opened_at=now, modified_at=now,
                                       raw_xml=b"<report/>", raw_sha256="0" * 64, document={})
        projection_rows([(report, proj)])
        return report.id

    for proj in projections:
        mine = write(proj)
        with monkeypatch.context() as m:
            m.setattr(connections["default"], "vendor", "other")  # the multi-row VALUES statements
            theirs = write(proj)
        assert _stored(mine) == _stored(theirs)
    assert _stored(mine)["Party"], "the comparison must have compared rows"


def test_a_new_report_row_is_stored_as_the_orm_stores_it(reporter) -> None:  # type: ignore[no-untyped-def]
    """A submit's report row is written by a statement made once per process
    (`_insert_new`): the same values and the same signals as `save()`."""
    from datetime import datetime, timedelta, timezone

    from django.db.models.signals import post_save

    from himaya.intake.services import _insert_new
    from himaya.reports.models import Report, ReportSource, ReportStatus

    now = datetime(2026, 3, 1, 10, 20, 30, 123456, tzinfo=timezone(timedelta(hours=3)))
    values = dict(unit_id=reporter.unit_id, reporter=reporter, source=ReportSource.API, status=ReportStatus.FINISHED, opened_at=now,
                  modified_at=now, finished_at=now, raw_xml="<report>مرحبا 'x' \\ </report>".encode(), raw_sha256="a" * 64,
                  document={"tag": "report", "children": [{"t": "😀"}]}, import_key=None, import_label="l'abel",
                  external_id=2**40, incident_type="Child Pornography (possession, manufacture, and distribution)",
                  incident_at=now - timedelta(days=3), platform="ø", escalation="", batched_reason="", annotations=["sextortion"])
    heard: list[tuple[int, bool]] = []

    def listen(sender, instance, created, **kwargs):  # type: ignore[no-untyped-def]
        heard.append((instance.pk, created))

    post_save.connect(listen, sender=Report, dispatch_uid="test.insert_new")
    try:
        theirs = Report.objects.create(**values)
        mine = Report(**values)
        _insert_new(mine)
    finally:
        post_save.disconnect(dispatch_uid="test.insert_new", sender=Report)
    assert mine.pk and mine.pk != theirs.pk and not mine._state.adding
    assert heard == [(theirs.pk, True), (mine.pk, True)]
    names = [f.attname for f in Report._meta.concrete_fields if f.name != "id"]
    a, b = (Report.objects.filter(pk=pk).values_list(*names).get() for pk in (theirs.pk, mine.pk))
    assert a == b
    with connection.cursor() as cursor:  # stored encrypted in both
        cursor.execute("SELECT raw_xml, document FROM reports_report WHERE id IN (%s, %s) ORDER BY id", [theirs.pk, mine.pk])
        for raw_xml, document in cursor.fetchall():
            assert b"mar" not in bytes(raw_xml) and b"report" not in bytes(raw_xml) and b"tag" not in bytes(document)
