"""Rule set version 1: the weights and phrase lists a unit starts with.

Loaded into the database by a data migration; supervisors edit copies of it
(new versions) in the UI. Weights were set so that the urgent scenarios of
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
    {"rule": "jurisdiction_foreign", "weight": -25},
    {"rule": "no_actionable_data", "weight": -10},
    {"rule": "text_grooming", "weight": 15},
    {"rule": "text_sextortion", "weight": 25},
    {"rule": "text_meeting", "weight": 25, "floor": "P2"},
    {"rule": "text_threats", "weight": 20},
    {"rule": "text_self_harm", "weight": 30, "floor": "P1"},
    {"rule": "text_access_to_children", "weight": 15},
]

# Both a child's or suspect's own words and a moderator's summary of them.
DEFAULT_PHRASES: dict[str, list[str]] = {
    "grooming": [
        "كم عمرك", "في أي صف", "سر بيننا", "لا تخبري أحدا", "لا تخبر أحدا", "لا تقولي لأهلك", "احذفي المحادثة",
        "إخفاء المحادثة", "أنت ناضجة", "نقل المحادثة إلى تطبيق آخر", "بطاقات هدايا", "رصيدا للألعاب", "صورة خاصة",
        "how old are you", "what grade are you in", "our secret", "keep the conversation secret", "don't tell your parents",
        "delete this chat", "you are so mature", "another app", "game credit", "gift cards", "private photo",
    ],
    "sextortion": [
        "سأنشر صورك", "سأرسل صورك", "هدد بإرسال الصور", "ادفعي", "ادفع المبلغ", "طالب بدفع", "أرسلي المزيد", "سأفضحك",
        "امتلاك صور خاصة", "send more pics", "i will post your photos", "i will send your pictures", "pay me",
        "demanded payment", "threatened to send the images", "private images of the user",
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

DEFAULT_RULESET: dict[str, Any] = {
    "rules": DEFAULT_RULES,
    "thresholds": DEFAULT_THRESHOLDS,
    "service_targets": DEFAULT_SERVICE_TARGETS,
    "phrases": DEFAULT_PHRASES,
}
