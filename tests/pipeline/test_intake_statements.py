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
    # The report, its parties, identifiers, IP events, device events, incidents and the audit event: one statement each.
    assert len(counted(submit)) <= 7, "\n".join(counted(submit))
    # The report locked, its files listed, its status, the audit event (the task row is the queue's);
    # + 2 of the statistics' post_save receiver marking the month stale.
    assert len(counted(finish)) <= 4 + 2, "\n".join(counted(finish))
