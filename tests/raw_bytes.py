"""What the database and the file store hold as raw bytes, read without the models
(confidentiality tests look for identities and secrets there)."""
from __future__ import annotations

from pathlib import Path

from django.db import connection


def raw_database() -> list[bytes]:
    """Every value of every table, as the database returns it (no model field)."""
    values: list[bytes] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if value is None:
                        continue
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        values.append(bytes(value))
                    else:
                        values.append(str(value).encode())
    return values


def raw_files(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in root.rglob("*") if p.is_file()]
