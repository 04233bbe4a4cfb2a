"""What operators' tools read: /ready (database, queue, storage) and /metrics (behind its own token), JSON log lines."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_ready_says_what_is_missing_and_recovers(settings, tmp_path):
    from himaya.core.tasks import worker_heartbeat

    client = Client()
    settings.HIMAYA_TASK_BACKEND = "database"
    answer = client.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["checks"]["queue"] == {"ok": False, "detail": "no background worker has been seen alive"}
    worker_heartbeat(worker_id="w1")  # what a running worker writes
    answer = client.get("/ready")
    assert answer.status_code == 200 and answer.json()["status"] == "ready", answer.json()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the media folder should be")
    settings.HIMAYA_MEDIA_ROOT = blocked
    answer = client.get("/ready")
    assert answer.status_code == 503 and answer.json()["checks"]["storage"]["ok"] is False


def test_metrics_need_their_token(settings):
    settings.HIMAYA_METRICS_TOKEN = "operators-own-token-123"
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer operators-own-token-123")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain; version=0.0.4")


def test_metrics_count_reports_queue_depth_and_failures(settings, provider):
    from django_tasks_db.models import DBTaskResult

    from tests.conftest import DOC_REPORT

    settings.HIMAYA_METRICS_TOKEN = "operators-own-token-123"
    settings.HIMAYA_TASK_BACKEND = "database"
    for _ in range(3):
        provider.finish(provider.submit(DOC_REPORT).report_id)
    provider.submit(DOC_REPORT)  # left open
    old = timezone.now() - timedelta(seconds=90)
    for status, n in (("READY", 2), ("FAILED", 1)):
        for _ in range(n):
            DBTaskResult.objects.create(status=status, enqueued_at=old, args_kwargs={"args": [], "kwargs": {}}, priority=0,
                                        task_path="himaya.media.tasks.hash_file", queue_name="default", backend_name="default",
                                        worker_ids=[], return_value=None)
    DBTaskResult.objects.update(enqueued_at=old)  # the model stamps the creation time itself
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer operators-own-token-123").content.decode()
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}
    assert samples['himaya_reports{status="finished"}'] == 3 and samples['himaya_reports{status="open"}'] == 1, text
    assert samples['himaya_queue_depth{stage="hash_file",state="ready"}'] == 2
    assert samples['himaya_task_failures{stage="hash_file"}'] == 1
    assert samples['himaya_queue_oldest_pending_seconds{stage="hash_file"}'] >= 90
    assert samples["himaya_intake_reports_per_second"] == pytest.approx(3 / 300)


def test_json_log_lines():
    from himaya.core.logging import JsonLinesFormatter

    record = logging.LogRecord("himaya.intake", logging.WARNING, __file__, 1, "report %s refused: %s", (7, "سبب"), None)
    line = json.loads(JsonLinesFormatter().format(record))
    assert line["level"] == "WARNING" and line["logger"] == "himaya.intake" and line["message"] == "report 7 refused: سبب"
