"""Checks a rule set before it is published. Pure: no Django."""
from __future__ import annotations

from typing import Any

from himaya.triage.rules import PREDICATES, TIERS

PHRASE_CATEGORIES = ("grooming", "sextortion", "meeting", "threats", "self_harm", "access_to_children", "payment", "image_request", "secrecy")


class RuleSetError(ValueError):
    pass


def ruleset_validate(data: dict[str, Any]) -> dict[str, Any]:
    rules_in = data.get("rules")
    if not isinstance(rules_in, list) or not rules_in:
        raise RuleSetError("rules: a non-empty list is required")
    rules = []
    seen = set()
    for i, spec in enumerate(rules_in):
        if not isinstance(spec, dict) or spec.get("rule") not in PREDICATES:
            raise RuleSetError(f"rules[{i}]: unknown rule {spec.get('rule') if isinstance(spec, dict) else spec!r}")
        if spec["rule"] in seen:
            raise RuleSetError(f"rules[{i}]: {spec['rule']} appears twice")
        seen.add(spec["rule"])
        try:
            weight = int(spec.get("weight", 0))
        except (TypeError, ValueError):
            raise RuleSetError(f"rules[{i}]: weight must be a whole number") from None
        if not -100 <= weight <= 100:
            raise RuleSetError(f"rules[{i}]: weight must be between -100 and 100")
        clean = {"rule": spec["rule"], "weight": weight}
        for bound in ("floor", "cap"):
            if spec.get(bound):
                if spec[bound] not in TIERS:
                    raise RuleSetError(f"rules[{i}]: {bound} must be one of {', '.join(TIERS)}")
                clean[bound] = spec[bound]
        if spec.get("params"):
            if not isinstance(spec["params"], dict):
                raise RuleSetError(f"rules[{i}]: params must be an object")
            clean["params"] = spec["params"]
        if spec.get("enabled") is False:
            clean["enabled"] = False
        rules.append(clean)
    thresholds = data.get("thresholds") or {}
    try:
        t = {k: int(thresholds[k]) for k in ("P1", "P2", "P3")}
    except (KeyError, TypeError, ValueError):
        raise RuleSetError("thresholds: P1, P2 and P3 are whole numbers") from None
    if not 100 >= t["P1"] > t["P2"] > t["P3"] >= 0:
        raise RuleSetError("thresholds: 100 ≥ P1 > P2 > P3 ≥ 0")
    targets = data.get("service_targets") or {}
    try:
        s = {k: int(targets[k]) for k in TIERS}
    except (KeyError, TypeError, ValueError):
        raise RuleSetError("service_targets: minutes for P1..P4") from None
    if any(v <= 0 for v in s.values()):
        raise RuleSetError("service_targets: must be positive")
    phrases_in = data.get("phrases") or {}
    phrases: dict[str, list[str]] = {}
    for cat in PHRASE_CATEGORIES:
        items = phrases_in.get(cat, [])
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise RuleSetError(f"phrases.{cat}: a list of phrases")
        phrases[cat] = [x.strip() for x in items if x.strip()]
    return {"rules": rules, "thresholds": t, "service_targets": s, "phrases": phrases}
