"""`himaya worker`: runs background tasks.

On the embedded database queue it is django-tasks-db's worker plus a heartbeat, the
recovery of tasks orphaned by a killed worker, and the periodic upkeep. With
HIMAYA_TASK_BACKEND=rq it runs an RQ worker on REDIS_URL (several machines may run
one each).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from himaya.core import tasks as core_tasks

log = logging.getLogger("himaya.worker")


class Command(BaseCommand):
    help = "Run background tasks (the web server's companion; `himaya serve` starts it for you)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls of an empty queue")
        parser.add_argument("--batch", action="store_true", help="exit when the queue is empty")
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args: Any, interval: float, batch: bool, worker_id: str | None, **options: Any) -> None:
        if settings.HIMAYA_TASK_BACKEND == "rq":
            self._run_rq()
            return
        from django_tasks_db.management.commands.db_worker import Worker

        worker_id = worker_id or f"himaya-{uuid.uuid4().hex[:12]}"
        stop = threading.Event()
        core_tasks.worker_heartbeat(worker_id=worker_id)
        core_tasks.tasks_requeue_orphans()
        upkeep = threading.Thread(target=self._upkeep, args=(worker_id, stop), daemon=True, name="himaya-upkeep")
        upkeep.start()
        threading.Thread(target=self._drain, args=(stop, interval), daemon=True, name="himaya-arrivals").start()
        worker = Worker(
            queue_names=["*"], interval=interval, batch=batch, backend_name="default", startup_delay=False,
            max_tasks=None, worker_id=worker_id, excluded_queue_names=[],
        )
        worker.configure_signals()
        try:
            worker.run()
            if batch:  # what waits in the enrichment flow too, before exiting
                from himaya.enrichment.services import arrivals_drain

                while arrivals_drain():
                    pass
        finally:
            stop.set()
            core_tasks.worker_forget(worker_id=worker_id)

    def _run_rq(self) -> None:
        from django.core.management import call_command

        stop = threading.Event()
        threading.Thread(target=self._rq_upkeep, args=(stop,), daemon=True, name="himaya-upkeep").start()
        threading.Thread(target=self._drain, args=(stop, 0.5), daemon=True, name="himaya-arrivals").start()
        try:
            call_command("rqworker", "default", job_class="django_tasks_rq.Job", with_scheduler=False)
        finally:
            stop.set()

    def _drain(self, stop: threading.Event, interval: float) -> None:
        """The enrichment flow's waiting reports (arrivals have no task of their own: their
        waiting row is their place in the queue), taken a batch at a time, every `interval`
        seconds when nothing waits."""
        from himaya.enrichment.services import arrivals_drain

        while not stop.is_set():
            ran = 0
            try:
                close_old_connections()
                ran = arrivals_drain()
            except Exception:  # the database restarting, say: the drain must never take the worker down
                log.exception("enrichment drain failed")
            if not ran:
                stop.wait(interval)
        connection.close()

    def _rq_upkeep(self, stop: threading.Event) -> None:
        last_periodic = 0.0
        while not stop.is_set():
            try:
                close_old_connections()
                core_tasks.audit_upkeep()
                now = time.monotonic()
                if now - last_periodic >= 30:
                    core_tasks.rq_requeue_abandoned()
                    core_tasks.periodic_upkeep()
                    last_periodic = now
            except Exception:
                log.exception("worker upkeep failed")
            stop.wait(core_tasks.HEARTBEAT_SECONDS)
        connection.close()

    def _upkeep(self, worker_id: str, stop: threading.Event) -> None:
        last_reap = last_periodic = 0.0
        while not stop.is_set():
            try:
                close_old_connections()
                core_tasks.worker_heartbeat(worker_id=worker_id)
                core_tasks.audit_upkeep()
                now = time.monotonic()
                if now - last_reap >= core_tasks.DEAD_AFTER_SECONDS / 2:
                    core_tasks.tasks_requeue_orphans()
                    last_reap = now
                if now - last_periodic >= 60:
                    core_tasks.periodic_upkeep()
                    last_periodic = now
            except Exception:  # the upkeep must never take the worker down
                log.exception("worker upkeep failed")
            stop.wait(core_tasks.HEARTBEAT_SECONDS)
        connection.close()
