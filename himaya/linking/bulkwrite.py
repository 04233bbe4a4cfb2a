"""Bulk writes for the from-scratch rebuilds: COPY on PostgreSQL (an order of
magnitude faster than multi-row INSERT for millions of derived rows), Django's
bulk_create elsewhere. Only for derived tables that nothing else references.

`rebuilt_tables` gives a rebuild somewhere to write: on PostgreSQL a new, empty
copy of each table without its indexes (a "shadow"), filled while people go on
reading the old one, indexed once it is full (one sort per index instead of
millions of random inserts) and swapped in by renaming, in the rebuild's own
transaction: readers wait only for the swap, never for the rebuild, and the old
rows are dropped, not deleted row by row. Elsewhere (SQLite) the rows are
deleted and written in place, in the same transaction.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from django.db import connection, models


def _encode(value: Any) -> str:
    # orjson: the rebuild encodes millions of small documents (reasons, evidence),
    # and the standard encoder was a fifth of the linkage stage. Same JSON, without
    # the spaces (jsonb keeps none). Keys that are not strings (an id) become
    # strings, as with json.dumps.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class JsonText(str):
    """A JSON column's value already encoded (by a caller that builds millions of
    similar documents from cached pieces); written as it is."""


def encode_json(value: Any) -> str:
    return _encode(value)


def _json_out(value: Any) -> str:
    return value if isinstance(value, JsonText) else _encode(value)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """A text value as COPY's text format spells it (backslash, tab and line ends escaped)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_json(value: Any) -> str:
    """A JSON column's value in COPY's text format (None → NULL)."""
    if value is None:
        return "\\N"
    return copy_text(value if isinstance(value, JsonText) else _encode(value))


def copy_nullable(value: Any) -> str:
    """A number, a moment or NULL in COPY's text format (datetimes in ISO 8601, their offset kept)."""
    if value is None:
        return "\\N"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def write_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, batch: int = 5000,
               table: str | None = None, line: Callable[[Sequence[Any]], str] | None = None) -> int:
    """rows: tuples in `columns` order (attnames, e.g. report_id). JSON columns take
    Python objects. `table`: the model's shadow (PostgreSQL) instead of its table.
    `line`: a row as one line of COPY's text format, "\\n" included (PostgreSQL;
    for the tables of millions of rows: psycopg's per-row formatting was a fifth
    of their writing); text values through `copy_text`."""
    fields = [model._meta.get_field(c.removesuffix("_id") if c.endswith("_id") and not _is_field(model, c) else c) for c in columns]
    is_json = [isinstance(f, models.JSONField) for f in fields]
    n = 0
    if connection.vendor == "postgresql":
        cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with connection.cursor() as cur:
            raw = cur.cursor  # psycopg 3
            with raw.copy(f"COPY {connection.ops.quote_name(table or model._meta.db_table)} ({cols}) FROM STDIN") as copy:
                if line is not None:
                    block: list[str] = []
                    for row in rows:
                        block.append(line(row))
                        if len(block) >= batch:
                            copy.write("".join(block))
                            n += len(block)
                            block.clear()
                    copy.write("".join(block))
                    return n + len(block)
                for row in rows:
                    copy.write_row([_json_out(v) if j else v for v, j in zip(row, is_json)])
                    n += 1
        return n
    chunk: list[models.Model] = []
    for row in rows:
        chunk.append(model(**{c: json.loads(v) if isinstance(v, JsonText) else v for c, v in zip(columns, row)}))
        if len(chunk) >= batch:
            model.objects.bulk_create(chunk)
            n += len(chunk)
            chunk = []
    if chunk:
        model.objects.bulk_create(chunk)
        n += len(chunk)
    return n


def _is_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
        return True
    except Exception:
        return False


def analyze(*models_: type[models.Model]) -> None:
    """Fresh planner statistics for tables a rebuild has just rewritten (PostgreSQL).
    Until autovacuum gets to them the planner believes they are as before — empty
    after a first rebuild — and picks plans that read a whole unit's queue."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cur:
        for model in models_:
            cur.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


_REBUILD_LOCK = 0x52454255  # "REBU": one from-scratch rebuild of a set of tables at a time
SHADOW_SUFFIX = "__rebuild"


class RebuildRunning(RuntimeError):
    """Another from-scratch rebuild holds these tables."""


class RebuiltTables:
    """The tables a rebuild writes: `table(model)` names where a model's rows go
    (its shadow on PostgreSQL, the table itself elsewhere)."""

    def __init__(self, models_: Sequence[type[models.Model]], shadow: bool) -> None:
        self.models = list(models_)
        self.shadow = shadow
        self.finished: set[type[models.Model]] = set()  # shadows indexed and analysed already (shadow_finish)

    def table(self, model: type[models.Model]) -> str:
        return shadow_name(model._meta.db_table) if self.shadow else model._meta.db_table

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
              line: Callable[[Sequence[Any]], str] | None = None) -> int:
        return write_rows(model, columns, rows, table=self.table(model) if self.shadow else None, line=line)


def shadow_name(table: str) -> str:
    return f"{table}{SHADOW_SUFFIX}"


def _index_name(name: str) -> str:
    """A temporary name for an index of a shadow (≤ 63 bytes, unique)."""
    candidate = f"{name}__rb"
    return candidate if len(candidate) <= 63 else f"rb_{hashlib.sha256(name.encode()).hexdigest()[:40]}"


@contextmanager
def rebuilt_tables(*models_: type[models.Model]) -> Iterator[RebuiltTables]:
    """Enter before the rebuild's transaction and call `swap_in` inside it, last.
    On PostgreSQL the shadows are created (and committed, when no transaction is
    open, so that worker processes can write into them too); they are dropped
    whatever happens. Elsewhere the tables are emptied by `rebuild_clear`."""
    if connection.vendor != "postgresql":
        yield RebuiltTables(models_, shadow=False)
        return
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [_REBUILD_LOCK])
        if not cur.fetchone()[0]:
            raise RebuildRunning("another rebuild is running; try again when it has finished")
    try:
        with connection.cursor() as cur:
            for model in models_:
                table = model._meta.db_table
                refs = _references(cur, table)
                if refs:
                    raise ValueError(f"{table} is referenced by foreign keys ({', '.join(refs)}): it cannot be rebuilt beside itself")
                cur.execute(f"DROP TABLE IF EXISTS {q(shadow_name(table))}")  # left by a rebuild that was killed
                cur.execute(f"CREATE TABLE {q(shadow_name(table))} (LIKE {q(table)} INCLUDING DEFAULTS INCLUDING IDENTITY "
                            "INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING STORAGE)")
        yield RebuiltTables(models_, shadow=True)
    finally:
        try:
            with connection.cursor() as cur:
                for model in models_:
                    cur.execute(f"DROP TABLE IF EXISTS {q(shadow_name(model._meta.db_table))}")  # swapped in: gone already
        finally:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_REBUILD_LOCK])


def rebuild_begin(tables: RebuiltTables) -> None:
    """In the rebuild's transaction, first. With shadows, the old tables stay
    readable but take no writes until the swap (a person's override, a cascade of
    a deleted report wait for it, then go to the new table: PostgreSQL looks the
    name up again once it has the lock)."""
    if tables.shadow:
        with connection.cursor() as cur:
            cur.execute("LOCK TABLE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables.models) + " IN EXCLUSIVE MODE")


def rebuild_clear(tables: RebuiltTables) -> None:
    """After reading what must be kept from the old rows: without shadows, they go now."""
    if not tables.shadow:
        for model in tables.models:
            model.objects.all()._raw_delete(model.objects.db)  # derived data, no dependants


def _references(cur: Any, table: str) -> list[str]:
    cur.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = %s::regclass", [table])
    return [r[0] for r in cur.fetchall()]


_INDEXDEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (\S+) (USING .*)$", re.S)


MAINTENANCE_WORK_MEM = "512MB"  # index sorts of a million-row rebuild in memory, not on disk


def _index_plan(cur: Any, table: str, shadow: str) -> list[tuple[str, str, list[str]]]:
    """For each index of `table`: (temporary name, its name, the statements that
    build it — and its primary-key or unique constraint — on `shadow`)."""
    q = connection.ops.quote_name
    cur.execute("""
        SELECT i.relname, pg_get_indexdef(i.oid), c.contype
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
        WHERE x.indrelid = %s::regclass ORDER BY i.relname""", [table])
    plan = []
    for name, definition, contype in cur.fetchall():
        m = _INDEXDEF.match(definition)
        if m is None:
            raise ValueError(f"cannot read the definition of index {name}: {definition}")
        temp = _index_name(name)
        statements = [f"CREATE {m.group(1) or ''}INDEX {q(temp)} ON {q(shadow)} {m.group(4)}"]
        if contype in ("p", "u"):
            kind = "PRIMARY KEY" if contype == "p" else "UNIQUE"
            statements.append(f"ALTER TABLE {q(shadow)} ADD CONSTRAINT {q(temp)} {kind} USING INDEX {q(temp)}")
        plan.append((temp, name, statements))
    return plan


def shadow_finish(tables: RebuiltTables, model: type[models.Model]) -> None:
    """A full shadow's indexes and constraints, built, and its planner statistics,
    gathered, in this session (a worker's, committed: several tables at once while
    the rebuild's transaction waits) — when every one of its rows was written and
    committed by other sessions than the rebuild's. `swap_in` then only renames it
    (after `tables.finished.add(model)`), and `analyze` may leave it out."""
    table, shadow = model._meta.db_table, tables.table(model)
    with connection.cursor() as cur:
        cur.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for _, _, statements in _index_plan(cur, table, shadow):
            for sql in statements:
                cur.execute(sql)
        cur.execute(f"ANALYZE {connection.ops.quote_name(shadow)}")


def swap_in(tables: RebuiltTables) -> None:
    """In the rebuild's transaction, after the last row: each shadow gets its
    table's indexes and constraints (built now, from full tables, unless
    `shadow_finish` built them) and takes the table's place and names. PostgreSQL
    only; nothing to do elsewhere."""
    if not tables.shadow:
        return
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        renames: list[tuple[str, str]] = []
        for model in tables.models:
            table, shadow = model._meta.db_table, tables.table(model)
            for temp, name, statements in _index_plan(cur, table, shadow):
                if model not in tables.finished:
                    for sql in statements:
                        cur.execute(sql)
                renames.append((temp, name))
            # Its foreign keys: added without a check, then checked in one pass (a
            # join), not row by row; a constraint name only needs to be unique per table.
            cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass ORDER BY 1", [table])
            for name, definition in cur.fetchall():
                cur.execute(f"ALTER TABLE {q(shadow)} ADD CONSTRAINT {q(name)} {definition} NOT VALID")
                cur.execute(f"ALTER TABLE {q(shadow)} VALIDATE CONSTRAINT {q(name)}")
        # The swap itself: every table at once, so that no reader sees a mix. A table
        # with foreign-key checks still pending in this transaction cannot be dropped:
        # they are run now (Django's constraints are deferred; they stay so after).
        cur.execute("LOCK TABLE " + ", ".join(q(m._meta.db_table) for m in tables.models) + " IN ACCESS EXCLUSIVE MODE")
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in tables.models:
            table, shadow = model._meta.db_table, tables.table(model)
            cur.execute(f"DROP TABLE {q(table)}")
            cur.execute(f"ALTER TABLE {q(shadow)} RENAME TO {q(table)}")
            cur.execute("SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a "
                        "WHERE a.attrelid = %s::regclass AND a.attidentity <> ''", [table, table])
            for column, sequence in cur.fetchall():  # the name PostgreSQL gave the old one (gone with it)
                cur.execute(f"ALTER SEQUENCE {sequence} RENAME TO {q(f'{table}_{column}_seq'[:63])}")
        for temp, name in renames:
            cur.execute(f"ALTER INDEX {q(temp)} RENAME TO {q(name)}")  # renames its constraint too
