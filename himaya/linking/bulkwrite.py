"""Bulk writes for the from-scratch rebuilds: COPY on PostgreSQL (an order of
magnitude faster than multi-row INSERT for millions of derived rows), Django's
bulk_create elsewhere. Only for derived tables that nothing else references."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


# One encoder for every value: json.dumps with a non-default option builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode


class JsonText(str):
    """A JSON column's value already encoded (by a caller that builds millions of
    similar documents from cached pieces); written as it is."""


def encode_json(value: Any) -> str:
    return _encode(value)


def _json_out(value: Any) -> str:
    return value if isinstance(value, JsonText) else _encode(value)


def write_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, batch: int = 5000) -> int:
    """rows: tuples in `columns` order (attnames, e.g. report_id). JSON columns take
    Python objects."""
    fields = [model._meta.get_field(c.removesuffix("_id") if c.endswith("_id") and not _is_field(model, c) else c) for c in columns]
    is_json = [isinstance(f, models.JSONField) for f in fields]
    n = 0
    if connection.vendor == "postgresql":
        cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with connection.cursor() as cur:
            raw = cur.cursor  # psycopg 3
            with raw.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({cols}) FROM STDIN") as copy:
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
