"""An installation's rule set gets the new defaults (migration 0004): pure, no database."""
from __future__ import annotations

import copy

from himaya.triage.defaults import DEFAULT_RULESET, PHRASE_MOVES, RULES_V1_CHANGED, ruleset_upgrade
from himaya.triage.validation import ruleset_validate


def version_1() -> dict:
    """The built-in rule set as version 1 had it."""
    v1 = copy.deepcopy(DEFAULT_RULESET)
    new = {"text_payment", "text_image_request", "text_secrecy", "text_age_statement", "text_child_in_danger", "text_context"}
    v1["rules"] = [dict(RULES_V1_CHANGED.get(s["rule"], s)) for s in v1["rules"] if s["rule"] not in new]
    for cat in ("payment", "image_request", "secrecy"):
        del v1["phrases"][cat]
    for phrase, (src, _dst) in PHRASE_MOVES.items():
        v1["phrases"][src].append(phrase)
    return v1


def test_untouched_version_1_becomes_the_new_defaults() -> None:
    up = ruleset_upgrade(version_1())
    assert {s["rule"]: s for s in up["rules"]} == {s["rule"]: s for s in DEFAULT_RULESET["rules"]}
    assert {k: sorted(v) for k, v in up["phrases"].items()} == {k: sorted(v) for k, v in DEFAULT_RULESET["phrases"].items()}
    ruleset_validate(up)


def test_a_supervisors_edits_are_kept() -> None:
    v = version_1()
    for spec in v["rules"]:
        if spec["rule"] == "jurisdiction_foreign":
            spec["weight"] = -40  # a supervisor's choice
    v["phrases"]["grooming"].remove("our secret")  # deleted by a supervisor: not brought back
    v["phrases"]["sextortion"].append("سأرسلها لأبيك")  # added by a supervisor: kept where they put it
    up = ruleset_upgrade(v)
    rules = {s["rule"]: s for s in up["rules"]}
    assert rules["jurisdiction_foreign"]["weight"] == -40
    assert rules["text_meeting"] == {"rule": "text_meeting", "weight": 10}  # untouched: the new default
    assert rules["text_child_in_danger"]["floor"] == "P1"  # new rule added
    assert "our secret" not in up["phrases"]["secrecy"] and "our secret" not in up["phrases"]["grooming"]
    assert "سأرسلها لأبيك" in up["phrases"]["sextortion"]
    assert "pay me" in up["phrases"]["payment"] and "pay me" not in up["phrases"]["sextortion"]


def test_the_new_defaults_upgrade_to_themselves() -> None:
    assert ruleset_upgrade(copy.deepcopy(DEFAULT_RULESET)) == DEFAULT_RULESET
