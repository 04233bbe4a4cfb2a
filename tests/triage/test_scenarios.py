"""The urgent scenarios of issue 5, end to end through storage, linking and triage."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.accounts.permissions import OPERATOR
from himaya.audit.models import AuditEvent
from himaya.triage.models import ReportTriage, RuleSet, TriageOverride
from himaya.triage.selectors import report_triage_summary
from tests.linking.factory import ENTICEMENT, PS_IP, FileSpec, Person, report_xml, store

pytestmark = pytest.mark.django_db
KEYS = {"priority", "score", "reasons", "classification", "jurisdiction", "cluster", "linked_reports"}


def test_enticement_of_a_child_with_sextortion(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(incident_type=ENTICEMENT, annotations=("sextortion",), recipient_age=13,
                         chat="[23:01] falcon: أرسلي المزيد من الصور وإلا سأنشر صورك لأهلك",
                         suspect=Person(esp_id="u-1", ips=[(PS_IP, False)])), unit=unit)
    s = report_triage_summary(r)
    assert set(s) == KEYS
    assert s["priority"] == "P1" and 70 <= s["score"] <= 100
    rules = {x["rule"]: x for x in s["reasons"]}
    assert {"incident_enticement", "annotation_sextortion", "contact_with_child", "text_sextortion", "jurisdiction_ours"} <= set(rules)
    assert "سأنشر صورك" in rules["text_sextortion"]["evidence"]
    assert all(set(x) == {"rule", "weight", "evidence"} for x in s["reasons"])
    assert s["jurisdiction"] == {"country": "PS", "region": None, "decision": "ours"}
    assert "sextortion" in s["classification"]["offences"]


def test_provider_escalation_is_p1(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(escalation="A child disclosed ongoing abuse; immediate risk.", suspect=Person(esp_id="u-2")), unit=unit)
    s = report_triage_summary(r)
    assert s["priority"] == "P1"
    assert s["reasons"][0]["rule"] == "provider_escalation" and "immediate risk" in s["reasons"][0]["evidence"]


def test_new_material_with_production_indicators_is_p1(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(suspect=Person(esp_id="u-3")), unit=unit,
              files=[FileSpec(annotations=("possibleSelfProduction",), exif=True, public=False)])
    s = report_triage_summary(r)
    assert s["priority"] == "P1"
    reason = next(x for x in s["reasons"] if x["rule"] == "new_material_production")
    assert "possibleSelfProduction" in reason["evidence"] and "camera metadata" in reason["evidence"]


def test_viral_meme_batched_is_p4(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(batched=True, suspect=Person(esp_id="u-4")), unit=unit,
              files=[FileSpec(content=b"meme", annotations=("viral", "potentialMeme"), public=True)])
    s = report_triage_summary(r)
    assert s["priority"] == "P4"
    assert any(x["rule"] == "viral_or_meme" for x in s["reasons"])


def test_cluster_growth_retriages_older_reports(unit) -> None:  # type: ignore[no-untyped-def]
    old = timezone.now() - timedelta(days=400)
    a = store(report_xml(suspect=Person(esp_id="u-5", emails=["repeat@example.com"]), incident_at=old.isoformat(timespec="seconds")), unit=unit)
    score_before = ReportTriage.objects.get(report=a).score
    for n in range(3):
        store(report_xml(suspect=Person(esp_id=f"alt-{n}", emails=["repeat@example.com"])), unit=unit)
    t = ReportTriage.objects.get(report=a)
    assert t.score > score_before
    assert any(r["rule"] == "repeat_reporting" and "4 linked reports" in r["evidence"] for r in t.reasons)


def test_override_is_kept_audited_and_survives_retriage(unit, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from himaya.triage.services import report_triage, report_triage_override

    user = django_user_model.objects.create(username="analyst", unit=unit, roles=["intake_analyst"])
    r = store(report_xml(suspect=Person(esp_id="u-6")), unit=unit)
    computed = ReportTriage.objects.get(report=r).priority
    with pytest.raises(ValueError):
        report_triage_override(report_id=r.id, actor=user, reason=" ", priority="P1")
    report_triage_override(report_id=r.id, actor=user, reason="The child was identified by the school", priority="P1",
                           classification={"incident_type": ENTICEMENT, "offences": ["enticement_grooming"], "annotations": []})
    report_triage(report_id=r.id)
    t = ReportTriage.objects.get(report=r)
    assert t.effective_priority == "P1" and t.priority == computed
    assert report_triage_summary(r)["classification"]["offences"] == ["enticement_grooming"]
    o = TriageOverride.objects.get(report=r)
    assert o.reason.startswith("The child") and o.priority_after == "P1"
    assert AuditEvent.objects.filter(action="report.triage_overridden", target_id=str(r.id)).exists()


def test_ruleset_change_retriages_open_reports(unit, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.permissions import OPERATOR
    from himaya.triage.services import ruleset_publish

    r = store(report_xml(suspect=Person(esp_id="u-7"), recipient_age=12, incident_type=ENTICEMENT), unit=unit)
    before = ReportTriage.objects.get(report=r)
    assert before.ruleset_version == 1
    data = RuleSet.objects.get(version=1).as_data()
    for spec in data["rules"]:
        if spec["rule"] == "incident_enticement":
            spec["weight"] = 70
    with django_capture_on_commit_callbacks(execute=True):
        rs = ruleset_publish(actor=OPERATOR, data=data, note="enticement is always urgent")
    after = ReportTriage.objects.get(report=r)
    assert after.ruleset_version == rs.version == 2
    assert after.priority == "P1" and after.score > before.score


def test_overdue_and_review(unit, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from himaya.triage.selectors import triage_queue_for_user
    from himaya.triage.services import report_triage_review

    user = django_user_model.objects.create(username="a2", unit=unit, roles=["intake_analyst"])
    outsider = django_user_model.objects.create(username="a3", unit=None, roles=["intake_analyst"])
    late = store(report_xml(escalation="now", suspect=Person(esp_id="u-8")), unit=unit, now=timezone.now() - timedelta(hours=2))
    fresh = store(report_xml(suspect=Person(esp_id="u-9")), unit=unit)

    def queue(**kw):  # type: ignore[no-untyped-def]
        return [t.report for t in triage_queue_for_user(user, **kw)]

    assert queue(overdue=True) == [late]
    assert queue()[0] == late  # P1 first
    report_triage_review(report_ids=[late.id], actor=user)
    assert queue(overdue=True) == []
    assert fresh in queue() and late not in queue() and late in queue(reviewed=None)
    assert list(triage_queue_for_user(outsider)) == []


def test_report_received_signal_runs_the_pipeline(provider, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    xml = report_xml(escalation="urgent", suspect=Person(esp_id="u-10"))
    with django_capture_on_commit_callbacks(execute=True):
        report_id = provider.submit(xml).report_id
        assert provider.finish(report_id).code == 0
    assert ReportTriage.objects.get(report_id=report_id).priority == "P1"


def test_media_status_change_retriages_the_reports(unit, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from himaya.media.signals import media_status_changed
    from himaya.reports.models import ReportFile

    r = store(report_xml(suspect=Person(esp_id="u-11")), unit=unit, files=[FileSpec(annotations=("possibleSelfProduction",))])
    assert ReportTriage.objects.get(report=r).priority == "P1"  # pending: not on a known list yet
    f = ReportFile.objects.get(report=r)
    f.annotations = ["viral"]  # stands in for the media verdict: the handler re-reads everything
    f.save()
    with django_capture_on_commit_callbacks(execute=True):
        media_status_changed.send(sender=None, blob_address="x", old_status="pending", new_status="viral", report_ids=[r.id])
    assert ReportTriage.objects.get(report=r).priority == "P4"
