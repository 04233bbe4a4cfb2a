"""Background work on the embedded database queue: heartbeats, orphan recovery and
the periodic upkeep (expiry of unfinished reports)."""
from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from himaya.core.models import WorkerHeartbeat

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = float(os.environ.get("HIMAYA_WORKER_HEARTBEAT_SECONDS", "5"))
# A worker silent for this long is dead; its running task goes back in the queue.
DEAD_AFTER_SECONDS = float(os.environ.get("HIMAYA_WORKER_DEAD_AFTER_SECONDS", "30"))


def enqueue_with_transaction(task: Any, **kwargs: Any) -> None:
    """Enqueue `task` so that it exists if and only if the current transaction commits.

    On the database queue the task row is written in the same transaction (one
    commit, and no window where a crash after commit loses the task); on Redis it
    is sent after the commit.
    """
    from django.conf import settings

    if settings.HIMAYA_TASK_BACKEND == "rq":
        transaction.on_commit(lambda: task.enqueue(**kwargs))
        return
    from django_tasks_db.backend import DatabaseBackend

    backend = task.get_backend()
    if type(backend) is DatabaseBackend:
        _db_enqueue(backend, task, kwargs)
    else:
        task.enqueue(**kwargs)


_VALIDATED: dict[tuple[str, int], Any] = {}
_TASK_ROW_SQL: dict[str, tuple[str, list[Any]]] = {}


def _db_enqueue(backend: Any, task: Any, kwargs: dict[str, Any]) -> Any:
    """`task.enqueue(**kwargs)` on django-tasks-db's DatabaseBackend: the row its
    `DBTaskResult.objects.create` writes (the same instance, values, `pre_save` and
    `post_save` signals, which set `run_after`), then its `task_enqueued` signal, but
    the INSERT made once per process instead of compiled by the ORM for every task
    (one a provider report). A task is checked by `validate_task` once per process:
    a task is a module-level constant."""
    from django.db.models.signals import post_save, pre_save
    from django_tasks_db.compat import normalize_json, task_enqueued
    from django_tasks_db.models import DBTaskResult

    key = (backend.alias, id(task))
    if _VALIDATED.get(key) is not task:
        backend.validate_task(task)
        _VALIDATED[key] = task
    row = DBTaskResult(
        id=backend._get_id(), args_kwargs=normalize_json({"args": (), "kwargs": kwargs}), priority=task.priority,
        task_path=task.module_path, queue_name=task.queue_name, run_after=task.run_after, backend_name=backend.alias,
    )
    conn = transaction.get_connection()  # the proxy's every attribute is a thread-local look-up
    cached = _TASK_ROW_SQL.get(conn.vendor)
    if cached is None:
        meta = DBTaskResult._meta
        fields = [f for f in meta.local_concrete_fields if not f.generated]
        assert meta.auto_field is None and not meta.parents and not any(f.has_db_default() for f in fields)
        q = conn.ops.quote_name
        cached = _TASK_ROW_SQL[conn.vendor] = (
            f"INSERT INTO {q(meta.db_table)} ({', '.join(q(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))})",
            fields,
        )
    sql, fields = cached
    pre_save.send(sender=DBTaskResult, instance=row, raw=False, using=conn.alias, update_fields=None)
    with transaction.mark_for_rollback_on_error(conn.alias), conn.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(row, True), conn) for f in fields])
    row._state.adding, row._state.db = False, conn.alias
    post_save.send(sender=DBTaskResult, instance=row, created=True, update_fields=None, raw=False, using=conn.alias)
    result = row.task_result
    task_enqueued.send(type(backend), task_result=result)
    return result


def worker_heartbeat(*, worker_id: str) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id, defaults=dict(host=socket.gethostname()[:255], pid=os.getpid(), last_seen=now), create_defaults=dict(
            host=socket.gethostname()[:255], pid=os.getpid(), started_at=now, last_seen=now)
    )


def worker_forget(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def tasks_requeue_orphans(*, dead_after: timedelta = timedelta(seconds=DEAD_AFTER_SECONDS)) -> int:
    """Put back RUNNING tasks whose worker is gone, so every enqueued task runs.

    Tasks are idempotent (they take ids and re-derive their state), so running one
    again after a crash mid-way is safe.
    """
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    alive = set(WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - dead_after).values_list("worker_id", flat=True))
    requeued = 0
    for result in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only("id", "worker_ids"):
        owner = result.worker_ids[-1] if result.worker_ids else None
        if owner in alive:
            continue
        with transaction.atomic():
            n = DBTaskResult.objects.filter(id=result.id, status=TaskResultStatus.RUNNING).update(status=TaskResultStatus.READY, started_at=None)
        if n:
            log.warning("task %s was running on worker %s, which stopped; queued again", result.id, owner)
            requeued += n
    WorkerHeartbeat.objects.filter(last_seen__lt=timezone.now() - timedelta(days=1)).delete()
    return requeued


def audit_upkeep() -> None:
    from himaya.audit.services import audit_seal

    audit_seal()


def periodic_upkeep() -> None:
    from himaya.enrichment.services import enrichment_retry_due
    from himaya.intake.services import reports_expire

    expired = reports_expire()
    if expired:
        log.info("%d unfinished report(s) expired", expired)
    retried = enrichment_retry_due()
    if retried:
        log.info("%d failed enrichment run(s) queued again", retried)


def rq_requeue_abandoned() -> int:
    """With Redis workers: RQ moves a job whose worker died to the failed registry as
    "abandoned"; put such jobs back in their queue (they are idempotent)."""
    import django_rq
    from django.conf import settings
    from django_tasks_rq import Job
    from rq.registry import FailedJobRegistry, StartedJobRegistry
    from rq.timeouts import TimerDeathPenalty

    requeued = 0
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name, job_class=Job)
        # Detects jobs of dead workers now rather than at the next enqueue. The worker's upkeep
        # calls this from a thread, where RQ's default time limit on the failure callback
        # (SIGALRM) cannot be set: a timer-based one can.
        StartedJobRegistry(queue=queue, job_class=Job, death_penalty_class=TimerDeathPenalty).cleanup()
        failed = FailedJobRegistry(queue=queue, job_class=Job)
        for job_id in failed.get_job_ids():
            job = queue.fetch_job(job_id)
            if job is not None and "AbandonedJobError" in (job.exc_info or ""):
                failed.requeue(job_id)
                log.warning("job %s was abandoned by a dead worker; queued again", job_id)
                requeued += 1
    return requeued
