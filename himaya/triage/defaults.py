"""The built-in rule set: the weights and phrase lists a unit starts with.

Loaded into the database by a data migration (0002 on a new installation);
supervisors edit copies of it (new versions) in the UI. When these defaults
change, an installation gets them through a data migration that calls
`ruleset_upgrade` (0004: dialect patterns, combinations, referral): a rule or
phrase a supervisor changed is kept as they left it, only what still equals
the earlier built-in default is replaced, and the result is a new version. Weights were set so that the urgent scenarios of
SPEC §3.5 land in P1 on their own evidence and that one weak signal never does:
P1 ≥ 70, P2 ≥ 45, P3 ≥ 20. A floor marks evidence of a child at risk now, which
no negative signal (old, foreign, viral) may push down.
"""
from __future__ import annotations

from typing import Any

DEFAULT_THRESHOLDS = {"P1": 70, "P2": 45, "P3": 20}

# Minutes from receipt to first review (SPEC §3.5: "P1 reviewed within 1 hour").
DEFAULT_SERVICE_TARGETS = {"P1": 60, "P2": 24 * 60, "P3": 7 * 24 * 60, "P4": 30 * 24 * 60}

DEFAULT_RULES: list[dict[str, Any]] = [
    {"rule": "provider_escalation", "weight": 40, "floor": "P1"},
    {"rule": "annotation_sextortion", "weight": 30},
    {"rule": "annotation_csam_solicitation", "weight": 20},
    {"rule": "annotation_minor_to_minor", "weight": 5},
    {"rule": "annotation_sadistic_exploitation", "weight": 35, "floor": "P2"},
    {"rule": "file_infant", "weight": 30, "floor": "P2"},
    {"rule": "file_physical_harm", "weight": 25},
    {"rule": "file_violence_gore", "weight": 10},
    {"rule": "file_live_streaming", "weight": 30},
    {"rule": "file_possible_self_production", "weight": 15},
    {"rule": "file_generative_ai", "weight": -5},
    {"rule": "file_count", "weight": 1, "params": {"min": 2, "cap": 10}},  # weight per file
    {"rule": "new_material_production", "weight": 35, "floor": "P1"},
    {"rule": "known_material_only", "weight": -10},
    {"rule": "viral_or_meme", "weight": -40, "cap": "P4"},
    {"rule": "incident_enticement", "weight": 25},
    {"rule": "incident_trafficking", "weight": 35, "floor": "P2"},
    {"rule": "incident_molestation", "weight": 30, "floor": "P2"},
    {"rule": "incident_unsolicited_to_child", "weight": 15},
    {"rule": "contact_with_child", "weight": 15, "params": {"adult_age": 18}},
    {"rule": "young_victim", "weight": 15, "params": {"max_age": 12}},
    {"rule": "repeat_reporting", "weight": 3, "params": {"cap": 20}},  # weight per other report in the cluster
    {"rule": "recent_incident", "weight": 10, "params": {"days": 7}},
    {"rule": "old_incident", "weight": -5, "params": {"days": 365}},
    {"rule": "jurisdiction_ours", "weight": 5},
    {"rule": "jurisdiction_foreign", "weight": -10},  # jurisdiction decides the action (refer), not whether a child is in danger
    {"rule": "no_actionable_data", "weight": -10},
    {"rule": "text_grooming", "weight": 15},
    {"rule": "text_sextortion", "weight": 30},
    {"rule": "text_meeting", "weight": 10},  # alone, often harmless; with secrecy or a child: text_child_in_danger
    {"rule": "text_threats", "weight": 20},
    {"rule": "text_self_harm", "weight": 30, "floor": "P1"},
    {"rule": "text_access_to_children", "weight": 15},
    {"rule": "text_payment", "weight": 10},
    {"rule": "text_image_request", "weight": 10},
    {"rule": "text_secrecy", "weight": 15},
    {"rule": "text_age_statement", "weight": 15, "params": {"adult_age": 18, "young_age": 12, "young_weight": 25}},
    {"rule": "text_child_in_danger", "weight": 30, "floor": "P1", "params": {"adult_age": 18, "young_age": 12}},
    {"rule": "text_context", "weight": 0},  # words that did not count, and why: shown, not scored
]

# Both a child's or suspect's own words and a moderator's summary of them.
DEFAULT_PHRASES: dict[str, list[str]] = {
    "grooming": [
        "كم عمرك", "في أي صف", "أنت ناضجة", "نقل المحادثة إلى تطبيق آخر", "بطاقات هدايا", "رصيدا للألعاب",
        "how old are you", "what grade are you in", "you are so mature", "another app", "game credit", "gift cards",
    ],
    "sextortion": [
        "سأنشر صورك", "سأرسل صورك", "هدد بإرسال الصور", "سأفضحك", "امتلاك صور خاصة",
        "i will post your photos", "i will send your pictures", "threatened to send the images", "private images of the user",
    ],
    "payment": ["ادفعي", "ادفع المبلغ", "طالب بدفع", "pay me", "demanded payment"],
    "image_request": ["أرسلي المزيد", "صورة خاصة", "send more pics", "private photo"],
    "secrecy": [
        "سر بيننا", "لا تخبري أحدا", "لا تخبر أحدا", "لا تقولي لأهلك", "احذفي المحادثة", "إخفاء المحادثة",
        "our secret", "keep the conversation secret", "don't tell your parents", "delete this chat",
    ],
    "meeting": [
        "نلتقي", "أين تسكنين", "أين تسكن", "عنوانك", "تعالي إلى", "اللقاء شخصيا", "لقاء الطفل", "موعد",
        "let's meet", "meet me", "where do you live", "your address", "meeting in person", "meet the child", "pick you up",
    ],
    "threats": [
        "سأقتلك", "سأؤذيك", "ستندمين", "هدد بتسريب", "i will kill", "i will hurt", "you will regret", "threatened to leak",
    ],
    "self_harm": [
        "أريد أن أموت", "سأقتل نفسي", "أؤذي نفسي", "إيذاء النفس", "إيذاء نفسه", "انتحار", "kill myself", "want to die",
        "hurt myself", "self-harm", "harm themselves", "suicide",
    ],
    "access_to_children": [
        "أنا مدرس", "أنا معلم", "مدرب فريق", "حضانة", "روضة أطفال", "i am a teacher", "i'm a coach", "babysit", "youth group",
    ],
}

# What an earlier built-in default moved where (ruleset_upgrade moves it in an
# installation's rule set only if it is still in the category it came from).
PHRASE_MOVES: dict[str, tuple[str, str]] = {
    **{p: ("sextortion", "payment") for p in ("ادفعي", "ادفع المبلغ", "طالب بدفع", "pay me", "demanded payment")},
    **{p: ("sextortion", "image_request") for p in ("أرسلي المزيد", "send more pics")},
    **{p: ("grooming", "image_request") for p in ("صورة خاصة", "private photo")},
    **{p: ("grooming", "secrecy") for p in ("سر بيننا", "لا تخبري أحدا", "لا تخبر أحدا", "لا تقولي لأهلك", "احذفي المحادثة",
                                           "إخفاء المحادثة", "our secret", "keep the conversation secret", "don't tell your parents", "delete this chat")},
}

# The specs of version 1 that this version changed (to tell a supervisor's edit from an untouched default).
RULES_V1_CHANGED: dict[str, dict[str, Any]] = {
    "jurisdiction_foreign": {"rule": "jurisdiction_foreign", "weight": -25},
    "text_sextortion": {"rule": "text_sextortion", "weight": 25},
    "text_meeting": {"rule": "text_meeting", "weight": 25, "floor": "P2"},
}


def ruleset_upgrade(active: dict[str, Any], *, rules: list[dict[str, Any]] | None = None, phrases: dict[str, list[str]] | None = None,
                    earlier: dict[str, dict[str, Any]] | None = None, moves: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """An installation's rule set with the current defaults merged in: new rules added
    (in the defaults' place), a rule still equal to its earlier default replaced, a
    supervisor's edit kept; phrases moved as `moves` says when still where they were,
    the defaults' new categories added. Pure; the result is the data of a new version."""
    rules = DEFAULT_RULES if rules is None else rules
    phrases = DEFAULT_PHRASES if phrases is None else phrases
    earlier = RULES_V1_CHANGED if earlier is None else earlier
    moves = PHRASE_MOVES if moves is None else moves
    have = {spec["rule"]: spec for spec in active.get("rules", [])}
    out_rules = []
    for spec in rules:
        mine = have.pop(spec["rule"], None)
        if mine is None or (spec["rule"] in earlier and _same(mine, earlier[spec["rule"]])):
            out_rules.append(dict(spec))
        else:
            out_rules.append(mine)
    out_rules += list(have.values())  # a rule the defaults do not know (from a newer version): kept
    out_phrases = {k: list(v) for k, v in (active.get("phrases") or {}).items()}
    for phrase, (src, dst) in moves.items():
        if phrase in out_phrases.get(src, []):
            out_phrases[src].remove(phrase)
            out_phrases.setdefault(dst, [])
            if phrase not in out_phrases[dst]:
                out_phrases[dst].append(phrase)
    for cat in phrases:  # (this version adds no phrase: a phrase a supervisor deleted stays deleted)
        out_phrases.setdefault(cat, [])
    return {**active, "rules": out_rules, "phrases": out_phrases}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("weight", "floor", "cap", "params", "enabled")
    return all((a.get(k) or None) == (b.get(k) or None) for k in keys if k != "enabled") and a.get("enabled", True) == b.get("enabled", True)


DEFAULT_RULESET: dict[str, Any] = {
    "rules": DEFAULT_RULES,
    "thresholds": DEFAULT_THRESHOLDS,
    "service_targets": DEFAULT_SERVICE_TARGETS,
    "phrases": DEFAULT_PHRASES,
}
