"""The rebuilds' bulk writer (COPY text format on PostgreSQL) keeps every value
exactly: a tab, newline or backslash in an identifier must not shift columns or
rows, and JSON must come back as written."""
from __future__ import annotations

import pytest

from himaya.linking.bulkwrite import write_rows
from himaya.linking.models import IdentifierKey

TRICKY = [
    "screen_name:examplechat:tab\there",
    "screen_name:examplechat:line\nbreak",
    "screen_name:examplechat:carriage\rreturn",
    "screen_name:examplechat:back\\slash\\N",
    "screen_name:examplechat:\\N",
    "screen_name:examplechat:مستخدم_عربي",
    "email:quote\"d@example.com",
]


@pytest.mark.django_db(transaction=True)
def test_values_survive_the_copy_exactly() -> None:
    rows = [
        (key, key.split(":", 1)[0], i, [key, {"nested": "a\tb\\c\"d\n", "n": i}], i % 2 == 0, "shared_ip" if i == 3 else "")
        for i, key in enumerate(TRICKY)
    ]
    assert write_rows(IdentifierKey, ("key", "kind", "reports", "accounts", "viral", "weak"), iter(rows)) == len(rows)
    stored = {k.key: k for k in IdentifierKey.objects.all()}
    assert sorted(stored) == sorted(TRICKY)
    for key, kind, reports, accounts, viral, weak in rows:
        k = stored[key]
        assert (k.kind, k.reports, k.accounts, k.viral, k.weak) == (kind, reports, accounts, viral, weak)


@pytest.mark.django_db(transaction=True)
def test_many_rows_cross_the_flush_boundary() -> None:
    # More than one flush of the COPY buffer (1 MiB of text).
    rows = ((f"url:https://example.com/{i:07d}/" + "x" * 200, "url", i, [], False, "") for i in range(6000))
    assert write_rows(IdentifierKey, ("key", "kind", "reports", "accounts", "viral", "weak"), rows) == 6000
    assert IdentifierKey.objects.count() == 6000
    assert IdentifierKey.objects.get(reports=5999).key.startswith("url:https://example.com/0005999/")


@pytest.mark.django_db(transaction=True)
def test_rows_written_as_ready_lines_come_back_exactly() -> None:
    # The rebuild writes its largest tables as lines of COPY text it formats
    # itself (PostgreSQL); elsewhere the same rows go through the ORM. Both must
    # keep a tab, a line break or a backslash in a key, a display or the JSON
    # evidence of a link, across more than one block of lines.
    from django.db import connection
    from django.utils import timezone

    from himaya.linking.bulkwrite import JsonText, encode_json
    from himaya.linking.models import IdentifierEntry, ReportLink
    from himaya.linking.rebuild import ENTRY_COLUMNS, LINK_COLUMNS, _entry_line, link_line_at
    a, b = 101, 202  # (no foreign-key constraint on these tables' report ids)
    entries = [(a if i % 2 else b, "screen_name", f"{key}:{i}", f"shown {key}", "reported", TRICKY[(i + 1) % len(TRICKY)], "")
               for i, key in enumerate(TRICKY * 1500)]
    now = timezone.now()
    via = JsonText(encode_json([{"kind": "screen_name", "value": value, "strength": 0.8} for value in TRICKY]))
    links = [(a, b, 0.95, True, via, now)]
    line = _entry_line if connection.vendor == "postgresql" else None
    assert write_rows(IdentifierEntry, ENTRY_COLUMNS, iter(entries), line=line) == len(entries)

    assert write_rows(ReportLink, LINK_COLUMNS, iter(links), line=link_line_at(now) if line else None) == 1
    stored = set(IdentifierEntry.objects.values_list(*ENTRY_COLUMNS))
    assert stored == set(entries)
    link = ReportLink.objects.get()
    assert (link.low_id, link.high_id, link.strength, link.merges) == (a, b, 0.95, True)
    if line:  # (the ORM's bulk_create sets its own creation time)
        assert link.created_at == now
    assert [v["value"] for v in link.via] == TRICKY


# --- Rebuilding beside the old tables (PostgreSQL) ---------------------------------

def _postgres_only() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("shadow tables are PostgreSQL's; SQLite rewrites in place")


def _other_session():  # type: ignore[no-untyped-def]
    """A second session, as another person's request would have."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    conn = psycopg.connect(**params, autocommit=True)
    conn.execute("SET lock_timeout = '3s'")
    return conn


DERIVED = ("linking_identifierentry", "linking_identifierkey", "linking_reportlink", "linking_reportlinkage")


def _schema(tables: tuple[str, ...] = DERIVED) -> dict[str, object]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                       JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = ANY(%s) ORDER BY 1, 2""", [list(tables)])
        indexes = cur.fetchall()
        cur.execute("""SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid), c.convalidated FROM pg_constraint c
                       JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = ANY(%s) ORDER BY 1, 2""", [list(tables)])
        constraints = cur.fetchall()
        cur.execute("""SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default, is_identity,
                              collation_name FROM information_schema.columns WHERE table_name = ANY(%s) ORDER BY 1, 3""", [list(tables)])
        columns = cur.fetchall()
        cur.execute("SELECT relname FROM pg_class WHERE relname LIKE %s OR relname LIKE %s ORDER BY 1", ["%__rebuild%", "%__rb"])
        leftovers = cur.fetchall()
        cur.execute("""SELECT a.attrelid::regclass::text, pg_get_serial_sequence(a.attrelid::regclass::text, a.attname) FROM pg_attribute a
                       JOIN pg_class t ON t.oid = a.attrelid WHERE t.relname = ANY(%s) AND a.attidentity <> '' ORDER BY 1""", [list(tables)])
        sequences = cur.fetchall()
    return {"indexes": indexes, "constraints": constraints, "columns": columns, "leftovers": leftovers, "sequences": sequences}


def _two_linked_reports():  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create
    from tests.linking.factory import Person, report_xml, store

    unit = unit_get_or_create(code="unit-a")
    return [store(report_xml(suspect=Person(esp_id=f"s{i}", emails=["same@example.com"])), unit=unit) for i in range(2)]


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_leaves_the_tables_as_the_migrations_made_them() -> None:
    """After the swap, every index, constraint, column and sequence has its old name
    and definition (a later migration finds what it expects) and nothing is left over."""
    _postgres_only()
    from himaya.linking.models import IdentifierEntry, ReportLink
    from himaya.linking.rebuild import linking_rebuild

    a, b = _two_linked_reports()
    before = _schema()
    assert linking_rebuild()["links"] == 1
    assert linking_rebuild()["links"] == 1  # twice: the second replaces tables the first made
    assert _schema() == before
    assert ReportLink.objects.filter(low=a, high=b, merges=True).exists()
    entry = IdentifierEntry.objects.create(report=a, kind="email", key="email:new@example.com", display="new@example.com")
    assert entry.id > IdentifierEntry.objects.exclude(id=entry.id).order_by("-id").values_list("id", flat=True)[0]


@pytest.mark.django_db(transaction=True)
def test_identifier_keys_compare_byte_by_byte_before_and_after_a_rebuild() -> None:
    """The key columns are in the "C" collation (migration 0006: their index builds
    cost a third less), and a rebuild's new tables keep it."""
    _postgres_only()
    from himaya.linking.rebuild import linking_rebuild

    def collations() -> dict[str, str]:
        return {table: collation for table, column, *_, collation in _schema()["columns"] if column == "key"}  # type: ignore[union-attr]

    _two_linked_reports()
    assert collations() == {"linking_identifierentry": "C", "linking_identifierkey": "C"}
    linking_rebuild()
    assert collations() == {"linking_identifierentry": "C", "linking_identifierkey": "C"}


@pytest.mark.django_db(transaction=True)
def test_people_read_the_old_links_while_a_rebuild_runs() -> None:
    """Mid-rebuild, another session reads the previous rows at once (no lock wait),
    and sees the new ones after the commit."""
    _postgres_only()
    from himaya.linking.models import ReportLinkage
    from himaya.linking.rebuild import linking_rebuild

    a, b = _two_linked_reports()
    linking_rebuild()
    ReportLinkage.objects.filter(report=b).update(country="ZZ")  # marks the old rows; the rebuild recomputes them
    seen: list[tuple[int, int]] = []

    def meanwhile(stage: str, n: int) -> None:
        if stage == "linkage":
            with _other_session() as other:
                seen.append(other.execute("SELECT count(*), count(*) FILTER (WHERE country = 'ZZ') FROM linking_reportlinkage").fetchone())
                seen.append(other.execute("SELECT count(*) FROM linking_identifierentry").fetchone())

    linking_rebuild(progress=meanwhile)
    assert seen[0] == (2, 1) and seen[1][0] > 0
    with _other_session() as other:
        assert other.execute("SELECT count(*) FILTER (WHERE country = 'ZZ') FROM linking_reportlinkage").fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_a_failed_rebuild_changes_nothing() -> None:
    _postgres_only()
    from himaya.linking.models import IdentifierEntry, ReportLink
    from himaya.linking.rebuild import linking_rebuild

    _two_linked_reports()
    linking_rebuild()
    before = (_schema(), sorted(IdentifierEntry.objects.values_list("report_id", "key")), ReportLink.objects.count())

    def fail(stage: str, n: int) -> None:
        if stage == "linkage":
            raise RuntimeError("the machine ran out of something")

    with pytest.raises(RuntimeError):
        linking_rebuild(progress=fail)
    assert (_schema(), sorted(IdentifierEntry.objects.values_list("report_id", "key")), ReportLink.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_a_second_rebuild_at_once_is_refused_with_a_clear_message() -> None:
    _postgres_only()
    from django.core.management import CommandError, call_command

    from himaya.linking.bulkwrite import _REBUILD_LOCK, RebuildRunning
    from himaya.linking.rebuild import linking_rebuild

    _two_linked_reports()
    with _other_session() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_REBUILD_LOCK])  # someone's rebuild is running
        with pytest.raises(RebuildRunning):
            linking_rebuild()
        with pytest.raises(CommandError, match="another rebuild is running"):
            call_command("linking", "rebuild")
        with pytest.raises(CommandError, match="another rebuild is running"):
            call_command("triage", "rebuild")  # the queue's table alone: the same lock, the same answer
        other.execute("SELECT pg_advisory_unlock(%s)", [_REBUILD_LOCK])  # a closing session lets go only when its server process has ended
    assert linking_rebuild()["reports"] == 2  # and once it has finished, it runs


@pytest.mark.django_db(transaction=True)
def test_the_triage_table_keeps_its_foreign_keys_and_the_overrides() -> None:
    """The queue's table is swapped too: its foreign keys come back checked, and a
    person's override survives the rebuild."""
    _postgres_only()
    from django.contrib.auth import get_user_model

    from himaya.linking.rebuild import linking_rebuild
    from himaya.triage.models import ReportTriage
    from himaya.triage.rebuild import triage_rebuild
    from himaya.triage.services import report_triage_override

    a, b = _two_linked_reports()
    user = get_user_model().objects.create(username="x", unit=a.unit, roles=["intake_analyst"])
    report_triage_override(report_id=a.id, actor=user, reason="the child is known to us", priority="P1")
    before = _schema(("triage_reporttriage",))
    assert [fk for fk in before["constraints"] if fk[2] == "f"], "the table has foreign keys to check"
    linking_rebuild()
    assert triage_rebuild()["reports"] == 2
    assert _schema(("triage_reporttriage",)) == before
    t = ReportTriage.objects.get(report=a)
    assert (t.effective_priority, t.override_reason, t.override_by_id) == ("P1", "the child is known to us", user.id)


@pytest.mark.django_db(transaction=True)
def test_tables_indexed_by_the_workers_come_back_as_the_migrations_made_them_with_statistics(settings) -> None:  # type: ignore[no-untyped-def]
    """With worker processes, each full new table is indexed and analysed in a
    worker's session, two at a time (bulkwrite.shadow_finish): the same indexes,
    constraints and names as the migrations made, planner statistics on every
    table at once, and nothing left behind when the rebuild fails meanwhile."""
    _postgres_only()
    from django.db import connection

    from himaya.linking import rebuild as linking
    from himaya.linking.models import ReportLink
    from himaya.triage.rebuild import rebuild_all

    tables = (*DERIVED, "triage_reporttriage")
    a, b = _two_linked_reports()

    def statistics() -> dict[str, int]:
        with connection.cursor() as cur:
            cur.execute("SELECT tablename, count(*) FROM pg_stats WHERE tablename = ANY(%s) GROUP BY 1", [list(tables)])
            return dict(cur.fetchall())

    before = _schema(tables)
    settings.HIMAYA_REBUILD_WORKERS = 2
    chunk, linking.CHUNK = linking.CHUNK, 1
    stages: list[str] = []
    try:
        rebuild_all(progress=lambda stage, n: stages.append(stage))
        assert "indexing" in stages
        assert _schema(tables) == before
        assert set(statistics()) == set(tables)  # analysed: the planner knows the new tables at once
        assert ReportLink.objects.filter(low=a, high=b, merges=True).exists()

        def fail(stage: str, n: int) -> None:
            if stage == "indexing":
                raise RuntimeError("the disk is full")

        with pytest.raises(RuntimeError):
            rebuild_all(progress=fail)
        assert _schema(tables) == before
        assert ReportLink.objects.filter(low=a, high=b, merges=True).exists()
    finally:
        linking.CHUNK = chunk
