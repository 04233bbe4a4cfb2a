"""The one enrichment flow per report (issue 18 item 1): media → link → triage, each
report linked and triaged once per change, with a state staff and operators can see."""
from __future__ import annotations

import ast
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from himaya.accounts.permissions import OPERATOR
from himaya.enrichment.models import ReportEnrichment, Stage
from himaya.linking.models import ReportLinkage
from himaya.media.models import FileStatus, MediaState
from himaya.reports.models import ReportFile
from himaya.triage.models import ReportTriage
from tests.linking.factory import Person, report_xml

pytestmark = pytest.mark.django_db


def arrive(provider, capture, xml: bytes, *files: bytes) -> int:  # type: ignore[no-untyped-def]
    """submit, upload, finish as a provider does; every background task runs at its commit."""
    with capture(execute=True):
        report_id = provider.submit(xml).report_id
        for data in files:
            assert provider.upload(report_id, data).code == 0
        assert provider.finish(report_id).code == 0
    return report_id


@pytest.fixture
def stage_calls(monkeypatch):  # type: ignore[no-untyped-def]
    """How often linking and triage really ran, counted at the functions themselves."""
    import himaya.enrichment.services as flow

    calls = {"link": [], "triage": []}
    link, triage_linked, triage = flow.report_rows_link, flow.report_triage_linked, flow.report_triage

    def counted_link(*, rows):  # type: ignore[no-untyped-def]
        calls["link"].append(rows.report.id)
        return link(rows=rows)

    def counted_triage_linked(*, rows, link):  # type: ignore[no-untyped-def]
        calls["triage"].append(rows.report.id)
        return triage_linked(rows=rows, link=link)

    def counted_triage(*, report_id, **kw):  # type: ignore[no-untyped-def]
        calls["triage"].append(report_id)
        return triage(report_id=report_id, **kw)

    monkeypatch.setattr(flow, "report_rows_link", counted_link)
    monkeypatch.setattr(flow, "report_triage_linked", counted_triage_linked)
    monkeypatch.setattr(flow, "report_triage", counted_triage)
    return calls


def test_a_report_with_a_file_is_hashed_linked_and_triaged_once(provider, image_bytes, django_capture_on_commit_callbacks, stage_calls) -> None:  # type: ignore[no-untyped-def]
    rid = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="once-1")), image_bytes)
    f = ReportFile.objects.get(report_id=rid)
    # The file's verdict moved pending → new while the report was in its flow: that is not a second change.
    assert MediaState.objects.get(blob_id=f.blob_id).status == FileStatus.NEW
    assert stage_calls == {"link": [rid], "triage": [rid]}
    row = ReportEnrichment.objects.get(report_id=rid)
    assert (row.stage, row.media_runs, row.link_runs, row.triage_runs, row.error) == (Stage.DONE, 1, 1, 1, "")
    assert row.verdicts == {f.blob_id: FileStatus.NEW}
    assert ReportTriage.objects.filter(report_id=rid).exists() and ReportLinkage.objects.filter(report_id=rid).exists()


def test_an_arrival_announced_twice_runs_nothing_again(provider, django_capture_on_commit_callbacks, stage_calls) -> None:  # type: ignore[no-untyped-def]
    from himaya.intake.tasks import report_received

    rid = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="twice-1")))
    report_received.call(report_id=rid)  # a task delivered again after a worker died
    assert stage_calls == {"link": [rid], "triage": [rid]}


def test_a_file_that_turns_viral_relinks_its_reports_through_the_flow(provider, image_bytes, django_capture_on_commit_callbacks, stage_calls) -> None:  # type: ignore[no-untyped-def]
    from himaya.media.services import hashlist_import

    shared_ip = "213.6.10.20"
    a = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="meme-1", ips=[(shared_ip, False)])), image_bytes)
    b = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="meme-2", ips=[(shared_ip, False)])), image_bytes)
    assert ReportLinkage.objects.get(report_id=b).cluster_id == a  # the address and the same picture: linked
    stage_calls["link"].clear()
    stage_calls["triage"].clear()
    with django_capture_on_commit_callbacks(execute=True):
        hashlist_import(data=f"md5:{hashlib.md5(image_bytes).hexdigest()}\n".encode(), name="memes", kind="viral", fmt="lines", actor=OPERATOR)
    # One re-link of each report holding the file, nothing more; the meme no longer links the two.
    assert sorted(stage_calls["link"]) == [a, b]
    assert ReportLinkage.objects.get(report_id=a).cluster_id != ReportLinkage.objects.get(report_id=b).cluster_id
    rows = {r.report_id: r for r in ReportEnrichment.objects.filter(report_id__in=[a, b])}
    assert rows[a].link_runs == 2 and rows[b].link_runs == 2 and rows[a].stage == rows[b].stage == Stage.DONE
    f = ReportFile.objects.get(report_id=a)
    assert rows[a].verdicts == {f.blob_id: FileStatus.VIRAL}


def test_a_report_joining_a_cluster_retriages_the_others_without_relinking_them(provider, django_capture_on_commit_callbacks, stage_calls) -> None:  # type: ignore[no-untyped-def]
    first = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="kin-1", emails=["kin@example.com"])))
    second = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="kin-2", emails=["kin@example.com"])))
    assert stage_calls["link"] == [first, second]
    assert stage_calls["triage"] == [first, second, first]  # the first again: its cluster grew
    row = ReportEnrichment.objects.get(report_id=first)
    assert (row.link_runs, row.triage_runs) == (1, 2)
    assert any(r["rule"] == "repeat_reporting" for r in ReportTriage.objects.get(report_id=first).reasons)


def test_a_failing_stage_is_shown_retried_with_backoff_and_then_done(provider, django_capture_on_commit_callbacks, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import himaya.enrichment.services as flow

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the index is being rebuilt")

    monkeypatch.setattr(flow, "report_rows_link", broken)
    rid = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="fail-1")))
    row = ReportEnrichment.objects.get(report_id=rid)
    # Its files were hashed and matched: it waits at linking.
    assert row.stage == Stage.LINK and row.failed_stage == Stage.LINK and row.attempts == 1 and row.media_runs == 1
    assert row.error == "RuntimeError: the index is being rebuilt"
    assert timedelta(seconds=25) < row.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert not ReportTriage.objects.filter(report_id=rid).exists()

    # Not due yet: nothing is queued. Due and still failing: the delay doubles.
    assert flow.enrichment_retry_due() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert flow.enrichment_retry_due(now=timezone.now() + timedelta(seconds=31)) == 1
    row.refresh_from_db()
    assert row.attempts == 2 and timedelta(seconds=55) < row.next_attempt_at - timezone.now() <= timedelta(seconds=60)

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert flow.enrichment_retry_due(now=timezone.now() + timedelta(seconds=61)) == 1
    row.refresh_from_db()
    assert (row.stage, row.error, row.attempts, row.next_attempt_at) == (Stage.DONE, "", 0, None)
    assert ReportTriage.objects.filter(report_id=rid).exists()


def test_a_run_killed_after_its_media_stage_resumes_at_linking(provider, image_bytes, django_capture_on_commit_callbacks, stage_calls) -> None:  # type: ignore[no-untyped-def]
    from himaya.enrichment.services import report_enrich
    from himaya.media import services as media

    rid = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="kill-1")), image_bytes)
    # As if the worker died after hashing and before the link committed.
    ReportEnrichment.objects.filter(report_id=rid).update(stage=Stage.MEDIA)
    hashed = []
    original = media.media_hash_blob
    media.media_hash_blob = lambda **kw: hashed.append(kw) or original(**kw)  # type: ignore[assignment]
    try:
        row = report_enrich(report_id=rid)
    finally:
        media.media_hash_blob = original  # type: ignore[assignment]
    assert hashed == []  # its content was hashed and matched already: not again
    assert row is not None and row.stage == Stage.DONE and row.link_runs == 2


def test_staff_see_the_state_on_the_report_page_and_operators_in_metrics(provider, django_capture_on_commit_callbacks, monkeypatch, settings, unit_user) -> None:  # type: ignore[no-untyped-def]
    import himaya.enrichment.services as flow
    from tests.auth_helpers import login_verified

    monkeypatch.setattr(flow, "report_rows_link", lambda **kw: (_ for _ in ()).throw(RuntimeError("database went away")))
    rid = arrive(provider, django_capture_on_commit_callbacks, report_xml(suspect=Person(esp_id="seen-1")))
    client = login_verified(Client(), unit_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/reports/{rid}/").content.decode()
    assert "Enrichment" in page and "Failed" in page and "database went away" in page and "at the stage: Linking identifiers" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    page_ar = client.get(f"/reports/{rid}/").content.decode()
    assert "الإثراء" in page_ar and "في المرحلة: ربط المعرّفات" in page_ar
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    settings.HIMAYA_METRICS_TOKEN = "operators-own-token-123"
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer operators-own-token-123").content.decode()
    assert 'himaya_enrichment_failed{stage="link"} 1' in text
    assert 'himaya_enrichment_pending{stage="link"} 0' in text

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        flow.enrichment_retry_due(now=timezone.now() + timedelta(minutes=1))
    page = client.get(f"/reports/{rid}/").content.decode()
    assert "Failed" not in page and "Done" in page
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer operators-own-token-123").content.decode()
    assert 'himaya_enrichment_failed{stage="link"} 0' in text


# The order of the flow. An app may import the ones before it, never one after it.
FLOW = ["intake", "media", "linking", "triage", "enrichment"]


def test_the_stages_never_import_a_later_one() -> None:
    root = Path(__file__).resolve().parents[2] / "himaya"
    offences = []
    for position, app in enumerate(FLOW):
        later = FLOW[position + 1:]
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts or "management" in path.parts:
                continue  # the rebuild commands run linking and triage together on purpose
            for node in ast.walk(ast.parse(path.read_text())):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names] if isinstance(node, ast.Import) else []
                for name in names:
                    if any(name == f"himaya.{x}" or name.startswith(f"himaya.{x}.") for x in later):
                        offences.append(f"{path.relative_to(root)} imports {name}")
    assert offences == []


@pytest.fixture
def unit_user(reporter):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import user_create

    return user_create(username="amal", password="a-long-password-1", roles=["intake_analyst"], unit_code=reporter.unit.code)
