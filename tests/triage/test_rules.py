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


def test_the_rules_before_and_after_the_clusters_give_the_whole_verdict() -> None:
    """A rebuild evaluates a report's own rules while reading it and the cluster's
    rules later: the result, reasons and their order included, is evaluate()'s,
    and the first half does not look at the cluster facts at all."""
    import dataclasses
    import random

    from himaya.triage.rules import PREDICATES, evaluate_finish, evaluate_partial

    rng = random.Random(7)
    ruleset = {**DEFAULT_RULESET, "rules": [dict(r) for r in DEFAULT_RULESET["rules"]]}
    for spec in ruleset["rules"]:  # ties in weight with the cluster rule, so their order is tested too
        if spec["rule"] in ("recent_incident", "file_count"):
            spec["weight"] = next(r["weight"] for r in ruleset["rules"] if r["rule"] == "repeat_reporting")
    for _ in range(400):
        facts = Facts(
            incident_type=rng.choice([ENTICEMENT, POSSESSION, "Child Sex Trafficking", ""]),
            escalation=rng.choice(["", "", "a child is in danger now"]),
            annotations=rng.sample(["sextortion", "csamSolicitation", "minorToMinorInteraction"], rng.randint(0, 2)),
            files=[FileFacts(annotations=rng.sample(["infant", "viral", "possibleSelfProduction", "generativeAi"], rng.randint(0, 2)),
                             status=rng.choice(["pending", "known", "new", "viral"])) for _ in range(rng.randint(0, 3))],
            recipient_ages=rng.sample([9, 12, 15, 30], rng.randint(0, 1)),
            texts=[("chat", rng.choice(["hello", "where do you live? meet me", "أرسلي المزيد من الصور وإلا سأنشر صورك", ""]))],
            cluster_size=rng.choice([1, 1, 2, 5, 40]), previously_reported=rng.choice([0, 0, 1, 3]),
            age_days=rng.choice([None, 1.0, 30.0, 800.0]), jurisdiction=rng.choice(["ours", "foreign", "unknown"]),
            actionable_identifiers=rng.randint(0, 2),
        )
        alone = dataclasses.replace(facts, cluster_size=1, previously_reported=0)
        whole, split = evaluate(facts, ruleset), evaluate_finish(evaluate_partial(alone, ruleset), facts, ruleset)
        assert (split.priority, split.score, split.reasons, split.classification) == (whole.priority, whole.score, whole.reasons, whole.classification)
        rules_only = [(r.rule, r.weight) for r in whole.reasons if r.rule in PREDICATES]
        if any(r.rule.startswith("tier_") for r in whole.reasons):  # a floor or cap set the tier: its rules come first
            assert sorted(rules_only) == sorted(_in_one_pass(facts, ruleset))
        else:
            assert rules_only == _in_one_pass(facts, ruleset)
        assert sum(r.weight for r in whole.reasons) == whole.score or whole.score in (0, 100)


def _in_one_pass(facts, ruleset) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The documented order, computed the plain way: every enabled rule in the rule
    set's order, then the heaviest first (a stable sort keeps that order among equals)."""
    from himaya.triage.rules import PREDICATES, text_context
    from himaya.triage.textmatch import compile_phrases

    ctx = text_context(facts, compile_phrases(ruleset["phrases"]))
    fired = []
    for spec in ruleset["rules"]:
        if spec.get("enabled", True) and spec["rule"] in PREDICATES:
            out = PREDICATES[spec["rule"]](facts, {**(spec.get("params") or {}), "_weight": spec["weight"]}, ctx)
            if out is not None:
                fired.append((spec["rule"], int(out[1]) if isinstance(out, tuple) else int(spec["weight"])))
    return sorted(fired, key=lambda rw: -abs(rw[1]))


def test_a_rule_left_out_for_a_report_could_not_fire_on_it() -> None:
    """A report's own rules skip those whose need (rules.NEEDS: text matches, files,
    annotations, an escalation, a victim or recipient; an incident rule's types) the
    report lacks: each skipped predicate must say None on that report."""
    import random

    from himaya.triage.rules import CLUSTER_RULES, NEEDS, PREDICATES, _compiled, _local_rules, text_context

    rng = random.Random(19)
    compiled = _compiled(DEFAULT_RULESET)
    params = {s["rule"]: {**(s.get("params") or {}), "_weight": s["weight"]} for s in DEFAULT_RULESET["rules"]}
    skipped: set[str] = set()
    for _ in range(600):
        facts = Facts(
            incident_type=rng.choice([ENTICEMENT, POSSESSION, "Child Sex Trafficking", "Child Sex Tourism", "Child Sexual Molestation",
                                      "Unsolicited Obscene Material Sent to a Child", ""]),
            escalation=rng.choice(["", "", " ", "a child is in danger now"]),
            annotations=rng.sample(["sextortion", "csamSolicitation", "minorToMinorInteraction", "sadisticOnlineExploitation"], rng.randint(0, 2)),
            batched_reason=rng.choice(["", "", "VIRAL_POTENTIAL_MEME"]),
            files=[FileFacts(annotations=rng.sample(["infant", "viral", "possibleSelfProduction", "generativeAi", "physicalHarm"], rng.randint(0, 2)),
                             status=rng.choice(["pending", "known", "new", "viral"]), exif=rng.random() < 0.3,
                             publicly_available=rng.choice([None, False, True])) for _ in range(rng.choice([0, 0, 1, 2, 3]))],
            victim_ages=rng.sample([5, 11, 16, 25], rng.randint(0, 1)), recipient_ages=rng.sample([9, 12, 15, 30], rng.randint(0, 1)),
            has_victim_or_recipient=rng.random() < 0.5,
            texts=rng.sample([("chat", "hello"), ("chat", "where do you live? meet me"), ("info", "أرسلي المزيد من الصور وإلا سأنشر صورك"),
                              ("info", "I won't hurt myself"), ("chat", "عمري ١١ لا تخبري أحدا")], rng.randint(0, 2)),
            age_days=rng.choice([None, 1.0, 30.0, 800.0]), jurisdiction=rng.choice(["ours", "foreign", "unknown"]), jurisdiction_country="EG",
            actionable_identifiers=rng.randint(0, 2),
        )
        ctx = text_context(facts, compiled["re"])
        kept = {p.rule for _, p in _local_rules(compiled, facts, ctx)}
        for name in params:
            if name in CLUSTER_RULES or name in kept:
                continue
            skipped.add(name)
            assert PREDICATES[name](facts, params[name], ctx) is None, (name, facts)
    assert set(NEEDS) | {"incident_enticement", "incident_trafficking", "incident_molestation", "incident_unsolicited_to_child"} <= skipped
