"""Every statistics file handed to a browser is audited (who, which period, which
form), and finished national reports are deleted after HIMAYA_STATS_REPORT_KEEP_DAYS
when a new one is asked for. No PDF is laid out here: the jobs are made as done."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent
from himaya.stats.models import ReportJob
from tests.auth_helpers import login_verified
from tests.stats.conftest import make_user

PDF = b"%PDF-1.7 a test report"


@pytest.fixture
def people(db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"sup": make_user("dl-sup", ["supervisor"]), "sup2": make_user("dl-sup-2", ["supervisor"]),
            "analyst": make_user("dl-analyst", ["intake_analyst"])}


def done_job(user: Any, *, period: str = "2026-Q2", external: bool = True, days_ago: float = 0,
             status: str = ReportJob.Status.DONE) -> ReportJob:
    when = timezone.now() - timedelta(days=days_ago)
    job = ReportJob.objects.create(unit_id=user.unit_id, requested_by=user, period=period, lang="ar", external=external,
                                   status=status, pdf=PDF if status == ReportJob.Status.DONE else None, size=len(PDF),
                                   pages=1, started_at=when, finished_at=None if status in ("queued", "running") else when)
    ReportJob.objects.filter(pk=job.pk).update(created_at=when)
    return job


def downloads() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="stats.downloaded").order_by("id"))


def test_each_download_of_the_national_report_is_audited_with_its_period_and_format(people, client: Client) -> None:
    job = done_job(people["sup"])
    link = reverse("stats:report_file", args=[job.id])
    login_verified(client, people["sup"])
    for times in (1, 2):  # each download, not only the first
        answer = client.get(link)
        assert answer.status_code == 200 and answer.content == PDF
        assert len(downloads()) == times
    event = downloads()[0]
    assert event.actor == "user:dl-sup" and event.unit_id == people["sup"].unit_id
    assert event.target_type == "stats.period" and event.target_id == "2026-Q2"
    assert event.data == {"period": "2026-Q2", "format": "pdf", "external": True, "lang": "ar", "size": len(PDF), "job": job.id}
    assert AuditAction(event.action).label == "نُزّل ملف إحصاءات"  # the audit page, in Arabic

    # refused downloads leave no download behind
    for user, status in ((people["sup2"], 404), (people["analyst"], 403)):
        other = login_verified(Client(), user)
        assert other.get(link).status_code == status
    failed = done_job(people["sup"], status=ReportJob.Status.FAILED)
    assert client.get(reverse("stats:report_file", args=[failed.id])).status_code == 404
    assert len(downloads()) == 2


def test_no_file_leaves_without_its_audit_event(people, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from himaya.stats import events

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(events, "stats_downloaded_event", broken)
    login_verified(client, people["sup"])
    with pytest.raises(RuntimeError):
        client.get(reverse("stats:report_file", args=[done_job(people["sup"]).id]))
    with pytest.raises(RuntimeError):
        client.get(reverse("stats:export"), {"period": "2026"})


def test_the_dashboards_workbook_download_is_audited(people, client: Client) -> None:
    login_verified(client, people["sup"])
    client.cookies["django_language"] = "en"
    answer = client.get(reverse("stats:export"), {"period": "2026-07", "external": "1"})
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    (event,) = downloads()
    assert event.data == {"period": "2026-07", "format": "xlsx", "external": True, "lang": "en", "size": len(answer.content)}
    assert AuditEvent.objects.filter(action="stats.exported").count() == 1  # the export itself, as before
    login_verified(client, people["analyst"])
    assert client.get(reverse("stats:export"), {"period": "2026"}).status_code == 403
    assert len(downloads()) == 1


def test_finished_reports_are_deleted_after_the_kept_days_when_a_new_one_is_asked_for(people, settings) -> None:
    from himaya.stats.services import report_job_start

    sup, sup2 = people["sup"], people["sup2"]
    old_done, old_failed, old_other = (done_job(sup, days_ago=31), done_job(sup, days_ago=31, status="failed"),
                                       done_job(sup2, days_ago=45))
    recent = done_job(sup, days_ago=29)
    waiting = done_job(sup, days_ago=40, status="queued")  # not finished: its worker may still produce it
    running = done_job(sup, days_ago=40, status="running")
    assert settings.HIMAYA_STATS_REPORT_KEEP_DAYS == 30
    new = report_job_start(actor=sup2, period="2026", lang="en", external=False)
    kept = set(ReportJob.objects.values_list("id", flat=True))
    assert kept == {recent.id, waiting.id, running.id, new.id}
    assert not kept & {old_done.id, old_failed.id, old_other.id}

    settings.HIMAYA_STATS_REPORT_KEEP_DAYS = 7
    report_job_start(actor=sup, period="2026", lang="ar", external=False)
    assert not ReportJob.objects.filter(id=recent.id).exists()
    assert ReportJob.objects.filter(id=new.id).exists()  # still queued
