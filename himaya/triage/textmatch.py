"""Arabic and English free-text indicators. Pure: no Django, no database.

Arabic is written many ways: with or without hamza on alef, taa marbuta or haa,
alef maqsura or yaa, with diacritics and tatweel (kashida). Both the text and the
phrase lists are normalised the same way before matching, and every normalised
character remembers where it came from so that the evidence quotes the report's
own words.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_ARABIC_DIACRITICS = frozenset(
    [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670"] + [chr(c) for c in range(0x06D6, 0x06EE)]
)
_TATWEEL = "\u0640"
_FOLD = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ة": "ه", "ى": "ي", "ی": "ي", "ئ": "ي", "ؤ": "و", "ک": "ك", "گ": "ك",
    "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
    "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
    "’": "'", "‘": "'", "`": "'",
}
# A single-letter Arabic clitic (and, so, with, for, like) or the article may be
# glued to the first word of a phrase: "وسأنشر", "بالصور".
_CLITICS = r"(?:[وفبلك]?(?:ال)?|ال)"
# Every string _CLITICS matches (a test holds the two together).
_CLITIC_FORMS = tuple(c + a for c in ("", *"وفبلك") for a in ("", "ال"))


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the index it came from."""
    out: list[str] = []
    where: list[int] = []
    last_space = True
    for i, ch in enumerate(text):
        if ch in _ARABIC_DIACRITICS or ch == _TATWEEL or unicodedata.category(ch) == "Cf":
            continue
        ch = _FOLD.get(ch, ch)
        if len(ch) == 1 and not ch.isascii():
            ch = unicodedata.normalize("NFKC", ch)
        for c in ch.casefold():
            if c.isspace() or c in ".,;:!?؟،؛\"()[]{}«»<>/\\|*_-~":
                if last_space:
                    continue
                c = " "
                last_space = True
            else:
                last_space = False
            out.append(c)
            where.append(i)
    while out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


_PUNCT = ".,;:!?؟،؛\"()[]{}«»<>/\\|*_-~"
_TABLE = {ord(c): None for c in _ARABIC_DIACRITICS}
_TABLE[ord(_TATWEEL)] = None
_TABLE[0x061C] = None  # Arabic letter mark (a format character)
_TABLE.update({ord(k): v for k, v in _FOLD.items()})
_TABLE.update({ord(c): " " for c in _PUNCT})
_TABLE_KEYS = frozenset(chr(k) for k in _TABLE)
_DROPPED_SET = frozenset(chr(k) for k, v in _TABLE.items() if v is None)
_DROPPED = re.compile("[" + "".join(re.escape(c) for c in sorted(_DROPPED_SET)) + "]")


# Characters for which the table alone gives what the per-character loop gives:
# ASCII, and the Arabic-block letters that NFKC leaves alone. The table drops each
# of them or makes it one character, which casefold keeps one (find_phrases counts
# on that to map a match back to the report's characters).
_FAST = frozenset(
    ch for ch in map(chr, [*range(0x80), *range(0x600, 0x700)])
    if (ch.isascii() or ch in _TABLE_KEYS or (unicodedata.normalize("NFKC", ch) == ch and unicodedata.category(ch) != "Cf"))
    and len(ch.translate(_TABLE).casefold()) <= 1
)
# One scan in C instead of a Python test per character.
_NOT_FAST = re.compile("[^" + "".join(re.escape(c) for c in sorted(_FAST)) + "]")
_WORD = re.compile(r"\w+")


def _plain(text: str) -> bool:
    return _NOT_FAST.search(text) is None


def normalize_text(text: str) -> str:
    if _plain(text):
        return " ".join(text.translate(_TABLE).casefold().split())
    return normalize_with_map(text)[0]


def _kept(text: str) -> Sequence[int]:
    """For a _plain text, the index each character of its translation came from."""
    if _DROPPED.search(text) is None:
        return range(len(text))
    return [i for i, c in enumerate(text) if c not in _DROPPED_SET]


@dataclass(frozen=True)
class PhraseMatch:
    category: str
    phrase: str  # as written in the list
    quote: str  # the report's own words
    field: str


def _is_arabic(s: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in s)


@dataclass(frozen=True)
class CompiledPhrases:
    """Phrase lists ready to search. Most texts match no phrase, and one regular
    expression of every phrase would try each of them at every position of every
    text. A phrase can only match a text that holds one of its words as a whole
    word, so each phrase has one word (or the clitic forms of one word) to look up
    among the text's words, and only the phrases found there are searched."""

    rows: tuple[tuple[str, str, re.Pattern[str]], ...]  # (category, phrase, pattern), in list order
    by_anchor: Mapping[str, tuple[int, ...]]  # a word of the normalised text -> the rows it may match
    always: tuple[int, ...]  # rows with no such word, searched in every text

    def candidates(self, words: list[str]) -> list[int]:
        """The rows that may match a text whose \\w+ runs are `words`, in list order."""
        if not self.always and self.by_anchor.keys().isdisjoint(words):
            return []
        rows = set(self.always)
        for word in words:
            rows.update(self.by_anchor.get(word, ()))
        return sorted(rows)


def _anchors(words: list[str], prefixed: bool, weight: Mapping[str, int]) -> tuple[str, ...]:
    """Strings of which a text matching the phrase holds at least one as a whole \\w+ run.

    A word made only of word characters is bounded in the match by spaces or by the
    pattern's (?<!\\w)/(?!\\w), so it is one of the text's words; the first word of
    an Arabic phrase may carry a clitic, so it is one of its clitic forms. Empty if
    no word qualifies (apostrophes, other marks)."""
    usable = [w for k, w in enumerate(words) if (k or not prefixed) and _WORD.fullmatch(w)]
    if usable:
        # The longest word, and of those the one fewest phrases use, is the likeliest to be rare in texts.
        return (min(usable, key=lambda w: (-len(w), weight[w])),)
    if _WORD.fullmatch(words[0]):
        return tuple(c + words[0] for c in _CLITIC_FORMS)
    return ()


def compile_phrases(phrases: Mapping[str, Iterable[str]]) -> CompiledPhrases:
    parsed: list[tuple[str, str, list[str], bool]] = []
    for category, items in phrases.items():
        for phrase in items:
            norm = normalize_text(phrase)
            if norm:
                parsed.append((category, phrase, norm.split(" "), _is_arabic(norm)))
    weight = Counter(w for _, _, words, _ in parsed for w in set(words))
    rows: list[tuple[str, str, re.Pattern[str]]] = []
    by_anchor: dict[str, list[int]] = {}
    always: list[int] = []
    for i, (category, phrase, words, prefixed) in enumerate(parsed):
        body = r"\s+".join(re.escape(w) for w in words)
        prefix = _CLITICS if prefixed else ""
        rows.append((category, phrase, re.compile(rf"(?<!\w){prefix}{body}(?!\w)")))
        anchors = _anchors(words, prefixed, weight)
        for anchor in anchors:
            by_anchor.setdefault(anchor, []).append(i)
        if not anchors:
            always.append(i)
    return CompiledPhrases(tuple(rows), {a: tuple(ix) for a, ix in by_anchor.items()}, tuple(always))


def find_phrases(texts: Iterable[tuple[str, str]], compiled: CompiledPhrases) -> list[PhraseMatch]:
    """Every (category, phrase) found in (field, text) pairs, the first quote of each."""
    found: dict[tuple[str, str], PhraseMatch] = {}
    for field, text in texts:
        if not text:
            continue
        # A _plain text through the table is its normalised form but for runs of
        # spaces. The patterns take any run of spaces as one and a phrase's words
        # hold none, so they match there as in the normalised text, and the map to
        # the report's characters is needed only for a quote.
        where: Sequence[int] | None
        if _plain(text):
            norm, where = text.translate(_TABLE).casefold(), None
        else:
            norm, where = normalize_with_map(text)
        for i in compiled.candidates(_WORD.findall(norm)):
            category, phrase, pattern = compiled.rows[i]
            if (category, phrase) in found:
                continue
            m = pattern.search(norm)
            if m:
                if where is None:
                    where = _kept(text)
                quote = text[where[m.start()]: where[m.end() - 1] + 1]
                found[(category, phrase)] = PhraseMatch(category, phrase, quote.strip(), field)
    return list(found.values())
