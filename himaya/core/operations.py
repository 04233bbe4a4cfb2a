"""What an operator's tools ask of a running installation (pure reads, no request
objects): is it ready to serve, and the figures Prometheus scrapes.

Figures are installation-wide and carry no unit, no report and no person: they are
for whoever runs the machines, behind their own token, not for staff.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        return Check("database", True, "reachable")
    except Exception as exc:  # any driver error means "not ready"
        return Check("database", False, type(exc).__name__)


def check_queue() -> Check:
    if settings.HIMAYA_TASK_BACKEND == "rq":
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            return Check("queue", True, "redis reachable")
        except Exception as exc:
            return Check("queue", False, f"redis: {type(exc).__name__}")
    if settings.HIMAYA_TASK_BACKEND == "immediate":
        return Check("queue", True, "tasks run in the request")
    from himaya.core.models import WorkerHeartbeat
    from himaya.core.tasks import DEAD_AFTER_SECONDS

    try:
        alive = WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - timedelta(seconds=DEAD_AFTER_SECONDS)).count()
    except Exception as exc:
        return Check("queue", False, type(exc).__name__)
    if not alive:
        return Check("queue", False, "no background worker has been seen alive")
    return Check("queue", True, f"{alive} worker(s) alive")


def check_storage() -> Check:
    from himaya.core import storage

    try:
        storage.check()
        return Check("storage", True, "writable")
    except storage.StorageError as exc:
        return Check("storage", False, str(exc))


def readiness() -> list[Check]:
    return [check_database(), check_queue(), check_storage()]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics_text() -> str:
    """Prometheus text exposition format (version 0.0.4)."""
    from django_tasks_db.models import DBTaskResult

    from himaya.reports.models import Report

    now = timezone.now()
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")

    by_status = dict(Report.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    family("himaya_reports", "gauge", "Reports stored, by status.", [({"status": s}, float(n)) for s, n in sorted(by_status.items())])
    recent = Report.objects.filter(finished_at__gte=now - timedelta(minutes=5)).count()
    family("himaya_intake_reports_per_second", "gauge", "Reports finished per second over the last five minutes.", [({}, recent / 300.0)])

    if settings.HIMAYA_TASK_BACKEND != "rq":
        rows = (DBTaskResult.objects.values("task_path", "status").annotate(n=Count("id"), oldest=Min("enqueued_at"))
                .order_by("task_path", "status"))
        depth, failures, oldest = [], [], []
        for row in rows:
            stage = row["task_path"].rsplit(".", 1)[-1]
            if row["status"] in ("READY", "RUNNING"):
                depth.append(({"stage": stage, "state": row["status"].lower()}, float(row["n"])))
                if row["status"] == "READY" and row["oldest"] is not None:
                    oldest.append(({"stage": stage}, max(0.0, (now - row["oldest"]).total_seconds())))
            elif row["status"] == "FAILED":
                failures.append(({"stage": stage}, float(row["n"])))
        family("himaya_queue_depth", "gauge", "Background tasks waiting or running, per stage.", depth)
        family("himaya_queue_oldest_pending_seconds", "gauge", "Age of the oldest task waiting, per stage.", oldest)
        family("himaya_task_failures", "gauge", "Background tasks that failed, per stage.", failures)
    from himaya.enrichment.selectors import enrichment_metric_samples

    for name, kind, help_text, samples in enrichment_metric_samples(now=now):
        family(name, kind, help_text, samples)
    family("himaya_ready", "gauge", "1 when the database, the queue and the storage answer.",
           [({"check": c.name}, 1.0 if c.ok else 0.0) for c in readiness()])
    family("himaya_process_id", "gauge", "The process that answered.", [({}, float(os.getpid()))])
    return "\n".join(lines) + "\n"
