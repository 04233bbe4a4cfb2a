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
    # the same process's committed mark of that month: tests/pipeline/test_intake_statements.py::test_the_month_mark_*).
    assert len(counted(finish)) <= 3 + 1, "\n".join(counted(finish))


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
