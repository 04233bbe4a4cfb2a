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


# find_phrases looks up one word of each phrase in the text's words before it
# searches; these hold it to what searching every phrase in every text finds.

import itertools  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402

from himaya.triage.defaults import DEFAULT_PHRASES  # noqa: E402
from himaya.triage.textmatch import _CLITIC_FORMS, _CLITICS, _TABLE, PhraseMatch, _kept, _plain  # noqa: E402

EXTRA_PHRASES = {
    "marks": ["don't tell", "i’m a coach", "self-harm", "don't", "'", "ok!", "13 years", "سأنشر", "صورك '", "A_B c"],
}
PHRASES = {**DEFAULT_PHRASES, **EXTRA_PHRASES}


def reference_patterns(phrases: dict[str, list[str]]) -> list[tuple[str, str, re.Pattern[str]]]:
    out = []
    for category, items in phrases.items():
        for phrase in items:
            words = normalize_text(phrase)
            if words:
                prefix = _CLITICS if any("\u0600" <= c <= "\u06ff" for c in words) else ""
                body = r"\s+".join(re.escape(w) for w in words.split(" "))
                out.append((category, phrase, re.compile(rf"(?<!\w){prefix}{body}(?!\w)")))
    return out


def reference_find(texts: list[tuple[str, str]], patterns: list[tuple[str, str, re.Pattern[str]]]) -> list[PhraseMatch]:
    """Every phrase's pattern searched in every normalised text, nothing skipped."""
    found: dict[tuple[str, str], PhraseMatch] = {}
    for field, text in texts:
        norm, where = normalize_with_map(text)
        for category, phrase, pattern in patterns:
            m = pattern.search(norm)
            if m and (category, phrase) not in found:
                quote = text[where[m.start()]: where[m.end() - 1] + 1].strip()
                found[(category, phrase)] = PhraseMatch(category, phrase, quote, field)
    return list(found.values())


_WORDS = sorted({w for items in PHRASES.values() for p in items for w in re.split(r"[\s\-]+", p) if w})
_FILLER = ["hello", "the", "you", "Me", "school", "مرحبا", "في", "المدرسة", "غدا", "صور", "13", "١٣", "x"]
_MARKS = [" ", "  ", ", ", "? ", "!", "-", "_", "'", "\n", "، ", "؟", "...", " (", ") "]
_RARE_MARKS = ["’", "\u00a0", "\u200c", "🙂", "ß"]  # not _plain: the per-character normalisation
_DIACRITICS = ["\u064e", "\u0650", "\u0651", "\u0652", "\u064b", "\u0640"]
_VARIANTS = {"ا": "أإآ", "ه": "ة", "ي": "ى", "و": "ؤ"}


def _decorate(rng: random.Random, word: str) -> str:
    if any("\u0600" <= c <= "\u06ff" for c in word):
        word = "".join(rng.choice(_VARIANTS.get(c, c)) if rng.random() < 0.2 else c for c in word)
        word = "".join(c + (rng.choice(_DIACRITICS) if rng.random() < 0.15 else "") for c in word)
        if rng.random() < 0.3:
            word = rng.choice(["و", "ف", "ب", "ل", "ك", "ال", "وال", "بال", "س", "م", "ت"]) + word
    else:
        word = rng.choice([word, word.upper(), word.title(), word.swapcase()])
    return word


def _text(rng: random.Random) -> str:
    pieces: list[str] = []
    for _ in range(rng.randrange(1, 12)):
        r = rng.random()
        if r < 0.3:  # a whole phrase, its words decorated
            phrase = rng.choice(rng.choice(list(PHRASES.values())))
            piece = rng.choice([" ", "  ", " \n"]).join(_decorate(rng, w) for w in phrase.split(" "))
        elif r < 0.8:
            piece = _decorate(rng, rng.choice(_WORDS))
        else:
            piece = rng.choice(_FILLER)
        pieces.append(piece)
        # Usually a mark between pieces, sometimes none: a phrase glued to another word.
        r = rng.random()
        pieces.append(rng.choice(_MARKS) if r < 0.8 else rng.choice(_RARE_MARKS) if r < 0.85 else "")
    return "".join(pieces)


def test_find_phrases_equals_searching_every_phrase() -> None:
    rng = random.Random(20240611)
    compiled, patterns = compile_phrases(PHRASES), reference_patterns(PHRASES)
    matched = 0
    for _ in range(3000):
        texts = [(f"f{k}", _text(rng)) for k in range(rng.randrange(1, 4))]
        expected = reference_find(texts, patterns)
        assert find_phrases(texts, compiled) == expected, texts
        matched += bool(expected)
    assert 300 < matched < 2900  # the texts are a mix of matching and not


_COMPILED, _PATTERNS = compile_phrases(PHRASES), reference_patterns(PHRASES)
_PIECES = sorted({*_WORDS, *_FILLER, *_MARKS, *_RARE_MARKS, *_DIACRITICS, *_CLITIC_FORMS, "س", "مسأنشر", "كمعمرك", "meetme", "Don’t"})


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join), min_size=1, max_size=3))
def test_find_phrases_equals_searching_every_phrase_hypothesis(texts: list[str]) -> None:
    pairs = [(f"f{k}", t) for k, t in enumerate(texts)]
    assert find_phrases(pairs, _COMPILED) == reference_find(pairs, _PATTERNS)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.one_of(st.characters(min_codepoint=0, max_codepoint=0x7F), st.characters(min_codepoint=0x600, max_codepoint=0x6FF)), max_size=60))
def test_a_plain_text_through_the_table_lines_up_with_the_mapped_one(text: str) -> None:
    """find_phrases searches a _plain text through the table, its spaces not collapsed,
    and quotes through _kept: the same characters from the same places as the map."""
    if not _plain(text):
        return
    folded, kept = text.translate(_TABLE).casefold(), _kept(text)
    norm, where = normalize_with_map(text)
    assert len(kept) == len(folded)
    assert " ".join(folded.split()) == norm
    assert [(c, i) for c, i in zip(folded, kept) if not c.isspace()] == [(c, i) for c, i in zip(norm, where) if c != " "]


def test_clitic_forms_are_every_string_the_clitic_group_matches() -> None:
    letters = sorted(set(re.sub(r"[^\u0600-\u06ff]", "", _CLITICS)))
    matched = {"".join(p) for n in range(5) for p in itertools.product(letters, repeat=n) if re.fullmatch(_CLITICS, "".join(p))}
    assert set(_CLITIC_FORMS) == matched


def test_arabic_one_word_phrase_with_a_glued_clitic() -> None:
    compiled = compile_phrases({"sextortion": ["سأنشر"], "meeting": ["موعد"]})
    found = find_phrases([("chat", "وسَأنـــشر كل شيء"), ("info", "بالموعد غدا")], compiled)
    assert [(m.phrase, m.quote, m.field) for m in found] == [("سأنشر", "وسَأنـــشر", "chat"), ("موعد", "بالموعد", "info")]
    assert not find_phrases([("chat", "مسأنشر"), ("info", "موعدنا")], compiled)  # not a clitic; a longer word


def test_phrase_inside_a_longer_word_does_not_match() -> None:
    compiled = compile_phrases({"sextortion": ["pay me", "ادفعي"], "grooming": ["كم عمرك"]})
    assert not find_phrases([("x", "repay me"), ("y", "pay meow"), ("z", "سادفعي"), ("w", "كم عمركما")], compiled)
    assert [m.quote for m in find_phrases([("x", "Pay  ME!"), ("z", "فادفعي")], compiled)] == ["Pay  ME", "فادفعي"]


def test_phrase_with_an_apostrophe_or_punctuation() -> None:
    compiled = compile_phrases({"grooming": ["don't tell your parents", "don't"], "self_harm": ["self-harm"], "access": ["i'm a coach"]})
    found = find_phrases([
        ("a", "DON’T tell your parents!"),  # a curly apostrophe: not a _plain text
        ("b", "talk of self_harm"),
        ("c", "(I'm a coach)"),
    ], compiled)
    assert [(m.phrase, m.quote) for m in found] == [
        ("don't tell your parents", "DON’T tell your parents"), ("don't", "DON’T"), ("self-harm", "self_harm"), ("i'm a coach", "I'm a coach"),
    ]
    assert not find_phrases([("a", "dont tell your parents"), ("b", "selfharm"), ("c", "im a coach")], compiled)
