"""The evidence of the issue-19 reasons, read in Arabic."""
from __future__ import annotations

from django.utils import translation

from himaya.triage.evidence import evidence_display


def test_new_evidence_shapes_in_arabic() -> None:
    with translation.override("ar"):
        assert evidence_display("chatImIncident/content: «بفضحك» [sextortion.expose]").endswith("«بفضحك» — تهديد بفضح الشخص")
        assert evidence_display("refer now to JO") == "إحالة فورية إلى JO"
        assert evidence_display("at least P1: text_child_in_danger") == "P1 على الأقل بسبب: الكلمات تدل على طفل في خطر الآن"
        assert evidence_display("combination: meeting + secrecy") == "مجتمعةً: طلبات اللقاء + طلبات الكتمان"
        shown = evidence_display("chatImIncident/content: «lets meet» [meeting: context: football]")
        assert shown.endswith("«lets meet» — لم تُحتسب: سياق غير مؤذٍ: football")
        assert evidence_display("stated age 11: chatImIncident/content: «عمري ١١» [age.ar]").startswith("العمر المذكور 11 — ")
