"""The "why this priority" panel in Arabic: the evidence is translated, what the
report itself says is kept as written; the API keeps the machine-readable text."""
from __future__ import annotations

import html
import re

import pytest
from django.utils import translation

from himaya.triage.evidence import evidence_display
from tests.linking.factory import ENTICEMENT, PS_IP, FileSpec, Person, report_xml, store
from tests.triage.test_views_api import login

# Words of the English evidence templates in rules.py (not values a report gives).
TEMPLATE_WORDS = re.compile(
    r"\b(aged|files?|linked reports?|cluster|days?|ago|jurisdiction|ours|foreign|referral|reportAnnotations|fileAnnotations|incidentType|"
    r"escalateToHighPriority|known-list|known lists?|previously|incident|batchedReport|every|identifier|location|content|additionalInfo|"
    r"camera|metadata|named|child|match|on \d+ of)\b", re.I)
_QUOTED = re.compile(r"«.*?»", re.S)


@pytest.mark.parametrize("evidence", [
    "reportAnnotations/sextortion",
    "fileAnnotations/infant on 2 of 3 files",
    "incidentType: Online Enticement of Children for Sexual Acts",
    "incidentType: Online Enticement of Children for Sexual Acts; a child is named",
    "intended recipient aged 13",
    "victim aged 4",
    "file 1 (new, no known-list match): possibleSelfProduction, camera metadata, not public",
    "5 files",
    "3 linked reports in the cluster; previously reported 2 time(s)",
    "incident 2 day(s) ago",
    "incident 400 days ago",
    "jurisdiction: ours (PS)",
    "jurisdiction: foreign (EG) → referral",
    "batchedReport reason=VIRAL_POTENTIAL_MEME",
    "every file is viral or a meme",
    "all 2 files match known lists",
    "no identifier of a reported person and no location",
    "chatImIncident/content: «send me your photos»; additionalInfo: «سأنشر صورك»",
])
def test_evidence_in_arabic_has_no_english_template_words(evidence: str) -> None:
    with translation.override("ar"):
        shown = evidence_display(evidence)
    assert shown and not TEMPLATE_WORDS.search(_QUOTED.sub("", shown)), shown
    assert _QUOTED.findall(evidence) == _QUOTED.findall(shown)  # the report's words as written
    with translation.override("en"):
        assert evidence_display(evidence)


@pytest.mark.django_db
def test_panel_in_arabic_shows_arabic_evidence(unit) -> None:  # type: ignore[no-untyped-def]
    suspect = Person(esp_id="u-ar", emails=["kestrel@example.com"], ips=[(PS_IP, False)])
    store(report_xml(suspect=Person(esp_id="u-ar-2", emails=["kestrel@example.com"])), unit=unit)
    r = store(report_xml(incident_type=ENTICEMENT, annotations=("sextortion",), recipient_age=11, chat="سأنشر صورك إذا لم ترسل المزيد",
                         escalation="طفل في خطر", suspect=suspect),
              unit=unit, files=[FileSpec(annotations=("possibleSelfProduction",), exif=True, public=False), FileSpec()])
    c = login("analyst-ar", "unit-a", ["intake_analyst"])
    page = c.get(f"/reports/{r.id}/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    shown = [html.unescape(x) for x in re.findall(r'<bdi class="evidence" dir="auto">(.*?)</bdi>', page, re.S)]
    rules = re.findall(r'data-rule="(\w+)"', page)
    assert {"provider_escalation", "annotation_sextortion", "contact_with_child", "young_victim", "file_count", "repeat_reporting",
            "jurisdiction_ours", "text_sextortion"} <= set(rules)
    assert len(shown) == len(rules)
    for text in shown:
        assert not TEMPLATE_WORDS.search(_QUOTED.sub("", text)), text
    assert any("سأنشر صورك" in t for t in shown)
    data = c.get(f"/api/v1/reports/{r.id}/").json()
    assert any(x["evidence"].startswith("reportAnnotations/") for x in data["reasons"])  # the API is unchanged
