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
