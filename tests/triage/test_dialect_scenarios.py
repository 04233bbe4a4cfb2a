"""Issue 19 end to end: words-only danger, a child in danger abroad, tier and score
telling the same story — stored through intake, linked and triaged."""
from __future__ import annotations

import pytest

from himaya.triage.models import ReportTriage
from himaya.triage.selectors import report_triage_summary
from tests.linking.factory import ENTICEMENT, POSSESSION, Person, report_xml, store

pytestmark = pytest.mark.django_db


def test_words_only_sextortion_in_dialect_is_p1(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(incident_type=POSSESSION, chat="[22:10] zizo: لو مبعتيش فيديو تاني هنشر صورك على الفيس",
                         suspect=Person(esp_id="eg-1", country="PS")), unit=unit)
    s = report_triage_summary(r)
    assert s["priority"] == "P1" and s["score"] >= 70
    rules = [x["rule"] for x in s["reasons"]]
    assert {"text_child_in_danger", "text_sextortion"} == set(rules[:2])  # what drove the tier comes first
    sext = next(x for x in s["reasons"] if x["rule"] == "text_sextortion")
    assert "هنشر صورك" in sext["evidence"] and "[sextortion." in sext["evidence"]


def test_immediate_risk_abroad_is_p1_with_a_referral(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(incident_type=ENTICEMENT, chat="[21:03] m7md: وين ساكنة؟ بمر عليكي بس ما تقولي لحدا",
                         suspect=Person(esp_id="jo-1", country="JO", phones=[("791234567", "+962")])), unit=unit)
    s = report_triage_summary(r)
    assert s["jurisdiction"]["decision"] == "foreign"
    assert s["priority"] == "P1"
    assert s["reasons"][0] == {"rule": "referral_now", "weight": 0, "evidence": "refer now to JO"}
    assert s["classification"]["action"] == {"code": "refer_now", "country": "JO"}


def test_harmless_words_do_not_raise_the_tier(unit) -> None:  # type: ignore[no-untyped-def]
    plain = store(report_xml(incident_type=POSSESSION, suspect=Person(esp_id="h-0")), unit=unit)
    harmless = store(report_xml(incident_type=POSSESSION, chat="lets meet after school for football. send me the pics from the trip",
                                suspect=Person(esp_id="h-1")), unit=unit)
    a, b = ReportTriage.objects.get(report=plain), ReportTriage.objects.get(report=harmless)
    assert (b.priority, b.score) == (a.priority, a.score)
    shown = next(x for x in b.reasons if x["rule"] == "text_context")
    assert shown["weight"] == 0 and "context: football" in shown["evidence"]


def test_the_score_lies_in_its_tiers_band(unit) -> None:  # type: ignore[no-untyped-def]
    r = store(report_xml(incident_type=POSSESSION, escalation="child at risk now", suspect=Person(esp_id="b-1")), unit=unit)
    t = ReportTriage.objects.get(report=r)
    assert t.priority == "P1" and t.score >= 70
    assert t.reasons[0]["rule"] == "provider_escalation" and t.reasons[-1]["rule"] == "tier_floor"
    assert sum(x["weight"] for x in t.reasons) == t.score
