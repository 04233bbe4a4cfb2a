"""Triage rules on facts: pure, no database."""
from __future__ import annotations

import pytest

from himaya.triage.defaults import DEFAULT_RULESET
from himaya.triage.rules import ENTICEMENT, POSSESSION, Facts, FileFacts, evaluate
from himaya.triage.validation import RuleSetError, ruleset_validate


def rules(verdict) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {r.rule: r.weight for r in verdict.reasons}


def test_enticement_of_a_child_with_sextortion_is_p1() -> None:
    v = evaluate(Facts(incident_type=ENTICEMENT, annotations=["sextortion"], recipient_ages=[13], has_victim_or_recipient=True,
                       texts=[("chat", "ارسلي المزيد والا سأنشر صورك")], jurisdiction="ours", jurisdiction_country="PS"), DEFAULT_RULESET)
    assert v.priority == "P1" and v.score >= 70
    assert {"incident_enticement", "annotation_sextortion", "contact_with_child", "text_sextortion"} <= set(rules(v))
    sext = next(r for r in v.reasons if r.rule == "text_sextortion")
    assert "سأنشر صورك" in sext.evidence
    assert {"enticement_grooming", "sextortion"} <= set(v.classification["offences"])


def test_escalation_floor_wins_over_foreign_and_viral() -> None:
    v = evaluate(Facts(escalation="child in danger now", jurisdiction="foreign", jurisdiction_country="EG", batched_reason="VIRAL_POTENTIAL_MEME"), DEFAULT_RULESET)
    assert v.priority == "P1"


def test_viral_meme_is_p4() -> None:
    v = evaluate(Facts(incident_type=POSSESSION, batched_reason="VIRAL_POTENTIAL_MEME", files=[FileFacts(annotations=["viral", "potentialMeme"])]), DEFAULT_RULESET)
    assert v.priority == "P4" and "viral_or_meme" in rules(v)


def test_new_material_with_production_indicators_is_p1_known_is_not() -> None:
    new = evaluate(Facts(incident_type=POSSESSION, files=[FileFacts(annotations=["possibleSelfProduction"], status="new")]), DEFAULT_RULESET)
    assert new.priority == "P1" and "production" in new.classification["offences"]
    known = evaluate(Facts(incident_type=POSSESSION, files=[FileFacts(annotations=["possibleSelfProduction"], status="known")]), DEFAULT_RULESET)
    assert known.priority != "P1"


def test_score_is_clamped_and_reasons_sorted() -> None:
    v = evaluate(Facts(incident_type=ENTICEMENT, escalation="x", annotations=["sextortion", "sadisticOnlineExploitation"], recipient_ages=[9]), DEFAULT_RULESET)
    assert v.score == 100
    weights = [abs(r.weight) for r in v.reasons]
    assert weights == sorted(weights, reverse=True)


def test_validation() -> None:
    ok = ruleset_validate(DEFAULT_RULESET)
    assert len(ok["rules"]) == len(DEFAULT_RULESET["rules"])
    with pytest.raises(RuleSetError):
        ruleset_validate({**DEFAULT_RULESET, "rules": [{"rule": "no_such_rule", "weight": 1}]})
    with pytest.raises(RuleSetError):
        ruleset_validate({**DEFAULT_RULESET, "thresholds": {"P1": 10, "P2": 20, "P3": 5}})
