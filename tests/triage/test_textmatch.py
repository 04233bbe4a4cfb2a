"""Arabic normalisation and phrase matching: pure, no database."""
from __future__ import annotations

from himaya.triage.textmatch import compile_phrases, find_phrases, normalize_text


def test_arabic_normalisation() -> None:
    assert normalize_text("أإآٱ") == "اااا"
    assert normalize_text("مدرسة") == normalize_text("مدرسه")  # taa marbuta
    assert normalize_text("على") == normalize_text("علي")  # alef maqsura
    assert normalize_text("صُوَرَكِ") == "صورك"  # diacritics
    assert normalize_text("صـــور") == "صور"  # tatweel
    assert normalize_text("  Send   PICS!! ") == "send pics"
    assert normalize_text("عمري ١٣") == "عمري 13"


def test_phrase_quotes_the_reports_own_words() -> None:
    compiled = compile_phrases({"sextortion": ["سأنشر صورك"], "meeting": ["أين تسكنين", "meet me"], "grooming": ["كم عمرك"]})
    found = find_phrases([
        ("chat", "وسَأنـــشر صوركِ إن لم تدفعي"),
        ("info", "اين تسكنين؟ MEET  me after school"),
        ("other", "كمعمرك"),  # not a phrase boundary
    ], compiled)
    by = {(m.category, m.phrase): m for m in found}
    assert by[("sextortion", "سأنشر صورك")].quote.startswith("وسَأنـــشر صور")
    assert by[("sextortion", "سأنشر صورك")].field == "chat"
    assert by[("meeting", "أين تسكنين")].quote == "اين تسكنين"
    assert by[("meeting", "meet me")].quote == "MEET  me"
    assert ("grooming", "كم عمرك") not in by


def test_english_word_boundaries() -> None:
    compiled = compile_phrases({"threats": ["i will hurt"]})
    assert find_phrases([("x", "I will hurt you")], compiled)
    assert not find_phrases([("x", "hi will hurtle")], compiled)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from himaya.triage.textmatch import normalize_with_map  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(min_codepoint=0, max_codepoint=0x7F), st.characters(min_codepoint=0x600, max_codepoint=0x6FF)), max_size=60))
def test_fast_normalisation_equals_the_mapped_one(text: str) -> None:
    assert normalize_text(text) == normalize_with_map(text)[0]
