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
from collections.abc import Iterable, Mapping
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


# Characters for which the table alone gives what the per-character loop gives:
# ASCII, and the Arabic-block letters that NFKC leaves alone.
_FAST = frozenset(
    [chr(c) for c in range(0x80)]
    + [chr(c) for c in range(0x600, 0x700)
       if chr(c) in _TABLE_KEYS or (unicodedata.normalize("NFKC", chr(c)) == chr(c) and unicodedata.category(chr(c)) != "Cf")]
)


def _plain(text: str) -> bool:
    return all(c in _FAST for c in text)


def normalize_text(text: str) -> str:
    if _plain(text):
        return " ".join(text.translate(_TABLE).casefold().split())
    return normalize_with_map(text)[0]


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
    """Phrase lists ready to search. Most texts match no phrase, and a text that
    matches usually matches one category: one search with every phrase, then one
    per category, then one per phrase of the categories that matched — instead of
    one search per phrase."""

    anyone: re.Pattern[str] | None
    categories: tuple[tuple[str, re.Pattern[str], tuple[tuple[str, re.Pattern[str]], ...]], ...]


def compile_phrases(phrases: Mapping[str, Iterable[str]]) -> CompiledPhrases:
    categories = []
    bodies: list[str] = []
    for category, items in phrases.items():
        rows = []
        mine: list[str] = []
        for phrase in items:
            norm = normalize_text(phrase)
            if not norm:
                continue
            body = r"\s+".join(re.escape(w) for w in norm.split(" "))
            prefix = _CLITICS if _is_arabic(norm) else ""
            rows.append((phrase, re.compile(rf"(?<!\w){prefix}{body}(?!\w)")))
            mine.append(f"{prefix}{body}")
        if rows:
            categories.append((category, re.compile(rf"(?<!\w)(?:{'|'.join(mine)})(?!\w)"), tuple(rows)))
            bodies += mine
    anyone = re.compile(rf"(?<!\w)(?:{'|'.join(bodies)})(?!\w)") if bodies else None
    return CompiledPhrases(anyone, tuple(categories))


def find_phrases(texts: Iterable[tuple[str, str]], compiled: CompiledPhrases) -> list[PhraseMatch]:
    """Every (category, phrase) found in (field, text) pairs, the first quote of each."""
    found: dict[tuple[str, str], PhraseMatch] = {}
    for field, text in texts:
        if not text or compiled.anyone is None or not compiled.anyone.search(normalize_text(text)):
            continue
        norm, where = normalize_with_map(text)
        for category, any_of_category, rows in compiled.categories:
            if not any_of_category.search(norm):
                continue
            for phrase, pattern in rows:
                if (category, phrase) in found:
                    continue
                m = pattern.search(norm)
                if m:
                    quote = text[where[m.start()]: where[m.end() - 1] + 1]
                    found[(category, phrase)] = PhraseMatch(category, phrase, quote.strip(), field)
    return list(found.values())
