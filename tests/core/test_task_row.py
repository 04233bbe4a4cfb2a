"""On the database queue, `enqueue_with_transaction` writes the task's row with a
statement made once per process (himaya.core.tasks._db_enqueue) instead of
django-tasks-db's ORM create: the row a worker picks up, its commit with the
caller's transaction and the `task_enqueued` signal stay as they were."""
from __future__ import annotations

import pytest
from django.db import transaction

from himaya.core.tasks import enqueue_with_transaction
from himaya.intake.tasks import report_received

pytestmark = pytest.mark.django_db(transaction=True)

DB_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _row(result_id: str) -> dict:
    from django_tasks_db.models import DBTaskResult

    row = DBTaskResult.objects.values().get(id=result_id)
    row.pop("id")
    row.pop("enqueued_at")
    return row


def test_the_queued_row_is_the_one_django_tasks_db_writes(settings) -> None:  # type: ignore[no-untyped-def]
    from django_tasks_db.compat import task_enqueued
    from django_tasks_db.models import DBTaskResult, get_date_max

    settings.TASKS = DB_QUEUE
    heard = []

    def listener(sender, task_result, **kwargs):  # type: ignore[no-untyped-def]
        heard.append(task_result)

    task_enqueued.connect(listener, dispatch_uid="test_task_row")
    try:
        with transaction.atomic():
            enqueue_with_transaction(report_received, report_id=41)
        by_library = report_received.enqueue(report_id=41)
    finally:
        task_enqueued.disconnect(dispatch_uid="test_task_row")
    ours = DBTaskResult.objects.exclude(id=by_library.id).get()
    assert _row(str(ours.id)) == _row(by_library.id)
    assert ours.status == "READY" and ours.run_after == get_date_max() and ours.args_kwargs == {"args": [], "kwargs": {"report_id": 41}}
    assert [r.id for r in heard] == [str(ours.id), by_library.id]
    assert heard[0].task.func is report_received.func and heard[0].kwargs == {"report_id": 41}
    # A worker finds it and knows what to run.
    assert DBTaskResult.objects.ready().count() == 2
    assert ours.task.func is report_received.func


def test_the_row_exists_only_if_the_callers_transaction_commits(settings) -> None:  # type: ignore[no-untyped-def]
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_QUEUE
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_with_transaction(report_received, report_id=7)
        raise RuntimeError("the report's change failed")
    assert not DBTaskResult.objects.exists()
