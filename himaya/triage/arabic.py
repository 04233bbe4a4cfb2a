"""Reading chat text as it is written: built-in indicator patterns. Pure: no Django.

Method: hand-written regular expressions over a folded form of the text, no
model and nothing downloaded. We chose patterns over a morphological analyser
(none of the offline ones reads dialect or Arabizi) and over a classifier (it
would need real chats to learn from, which SPEC §6 rules out, and its verdicts
cannot be explained phrase by phrase). Every match names its pattern, the words
it covered, the field they came from and why they count (`PATTERN_WHY`).

1. Folding (`fold`): textmatch's normalisation (diacritics, tatweel, hamza on
   alef, taa marbuta, alef maqsura, Persian and Arabic-Indic digits, Persian
   letters, punctuation and spacing) and, on top, elongation: a letter written
   three times or more ("بنشرررر", "pleeease") is one letter (Latin: two, so
   that "meeeet" is "meet").
2. Patterns per category (`PATTERNS`): Levantine, Egyptian, Gulf, Iraqi and
   Maghrebi Arabic, Arabizi (3=ع, 7=ح, 2=ء, 5=خ, 9=ص/ق, 6=ط, gh/8=غ, sh/ch=ش)
   and colloquial or misspelt English. A threat may have words between its parts:
   `…` in a pattern stands for up to four words ("send … or I will post …").
3. Context (`_context`), per match, from the few words around it: a negation
   before it ("I won't hurt myself", "مش رح اقتلك") for the categories where it
   reverses the meaning; a harmless setting (a school trip, football, a game,
   laughter, a surprise party) for the categories where such a setting makes the
   words innocent; a past or reported age ("when I was 11"). A discounted match
   is kept with the reason it was discounted, so the analyst sees it too.
4. Ages: a first-person statement of age ("عمري ١١", "I'm 11", "3omri 11") or of
   a school year ("انا بالصف الخامس", "I'm in 6th grade") gives the age; a
   sibling's age ("اخوي عمره ١١", "my brother is 11") is not first person and
   does not match.

Speed (the rules run for every report of a from-scratch rebuild): patterns are
compiled once; each has a gate (`GATES`), groups of substrings of which the
folded text (or, for "~" entries, its Latin skeleton without vowels) must hold
one per group for the pattern to be tried at all. Most texts open no gate. A
test holds the gated search to the ungated one.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from himaya.triage.textmatch import _TABLE, _kept, _plain, normalize_text, normalize_with_map

_AR_RUN = re.compile(r"([\u0621-\u064a])\1{2,}")
_LAT_RUN = re.compile(r"([a-z])\1{2,}")
_ANY_RUN = re.compile(r"([\u0621-\u064aa-z])\1\1")


# Letters of Persian and Maghrebi writing on top of textmatch's folding (one for one).
_EXTRA = str.maketrans({"پ": "ب", "چ": "ج", "ڤ": "ف", "ژ": "ز", "ڨ": "ق", "ڭ": "ك", "ګ": "ك"})


def fold(text: str) -> str:
    """The folded text the patterns read. Cached (but for long texts, which the
    cache would keep alive): a text with a rule set's phrase in it is folded for
    `context_of` (once per phrase found there, and its quote) and again for the
    built-in patterns; a rebuild did each of these anew."""
    return _fold_cached(text) if len(text) <= _FOLD_CACHED_LEN else _fold(text)


_FOLD_CACHED_LEN = 20_000


def _fold(text: str) -> str:
    norm = normalize_text(text).translate(_EXTRA)
    if _ANY_RUN.search(norm):
        norm = _LAT_RUN.sub(r"\1\1", _AR_RUN.sub(r"\1", norm))
    return norm


_fold_cached = functools.lru_cache(maxsize=512)(_fold)
_NONSPACE = re.compile(r"\S+")


def _fold_with_map_fast(text: str) -> tuple[str, list[int], list[int]] | None:
    """fold_with_map for the common text (ASCII and Arabic letters, no elongation),
    a word at a time; None for any other."""
    if not _plain(text):
        return None
    t = text.translate(_TABLE).casefold().translate(_EXTRA)
    kept = _kept(text)
    if len(kept) != len(t):
        return None
    parts: list[str] = []
    where: list[int] = []
    for m in _NONSPACE.finditer(t):
        if parts:
            where.append(kept[m.start() - 1])
        parts.append(m[0])
        where.extend(kept[m.start():m.end()])
    folded = " ".join(parts)
    if _ANY_RUN.search(folded):
        return None
    return folded, where, where


def fold_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """`fold(text)` and, for each of its characters, the first and the last index in
    `text` it stands for (an elongated letter stands for the whole run)."""
    fast = _fold_with_map_fast(text)
    if fast is not None:
        return fast
    norm, where = normalize_with_map(text)
    norm = norm.translate(_EXTRA)
    out: list[str] = []
    pos: list[int] = []
    last: list[int] = []
    i, n = 0, len(norm)
    while i < n:
        c = norm[i]
        j = i
        while j < n and norm[j] == c:
            j += 1
        run = j - i
        if run >= 3 and "\u0621" <= c <= "\u064a":
            keep = 1
        elif run >= 3 and "a" <= c <= "z":
            keep = 2
        else:
            keep = run
        out.extend(c * keep)
        pos.extend(where[i:i + keep])
        last.extend(where[i:i + keep])
        last[-1] = where[j - 1]
        i = j
    return "".join(out), pos, last


# --- the pattern language ------------------------------------------------------
# `…` up to four words; `…2` up to two. Arabizi skeletons through az().
_GAP = {"…": r"(?:\s+\S+){0,4}\s+", "…2": r"(?:\s+\S+){0,2}\s+", "…6": r"(?:\s+\S+){0,6}\s+"}
_V = "[aeiouy']*"
_AZ = {
    "7": "(?:7|h)", "3": "3", "2": "(?:2|')?", "5": "(?:5|kh)", "9": "(?:9|s|q)", "6": "(?:6|t)",
    "S": "(?:sh|ch|\\$)", "G": "(?:gh|8)", "K": "(?:kh|5)", "q": "(?:q|2|g|k)", "w": "(?:w|ou|o|u)", "y": "(?:y|i|e)",
    "j": "(?:j|g|dj)", "T": "(?:th|t|s)", "D": "(?:dh|d|z)",
}


def az(skeleton: str) -> str:
    """An Arabizi word from its consonant skeleton: any vowels between and around
    the consonants, each consonant possibly doubled ("fD7k" → fada7ek, fdahk…)."""
    parts = [_V]
    for ch in skeleton:
        parts.append("(?:" + _AZ.get(ch, re.escape(ch)) + ")+" if ch not in "2" else _AZ[ch])
        parts.append(_V)
    return "".join(parts)


_AR_FOLD = str.maketrans({"ة": "ه", "ى": "ي", "أ": "ا", "إ": "ا", "آ": "ا", "ئ": "ي", "ؤ": "و", "ـ": None, "پ": "ب", "چ": "ج", "ڤ": "ف", "ژ": "ز", "ڨ": "ق", "ڭ": "ك"})


def _expand(src: str) -> str:
    """A pattern as written → over folded text: its Arabic letters folded as the text's are, its gaps spelt out."""
    src = src.translate(_AR_FOLD)
    return re.sub(r"\s*(…\d?)\s*", lambda m: _GAP[m[1]], src)


@dataclass(frozen=True, slots=True)
class Pattern:
    pid: str  # category.name
    category: str
    source: str  # regular expression over folded text (with … gaps)
    why: str  # why a match counts (English; labels.PATTERN_WHY translates by pid)
    age: bool = False  # a group holds an age (or, with grade, a school year)
    grade: bool = False


# Arabic building blocks (folded: ة→ه, ى→ي, أ/إ/آ→ا, ئ→ي, ؤ→و).
# "I will" before a verb: a first-person prefix (sa-, ha-, ba-, n-, a-) or a separate future word.
_I_WILL = r"(?:(?:رح|راح|ح|غادي|غا|بدي|ابي|ناوي|حا)\s*[ان]|لا|سا|سن|س|ه|ح|ب|ن|ا)"
_PUBLISH = r"(?:نشر|نزل|بعت|بعث|رسل|وزع|صيفط|دز|طرش|فرج|سرب|فضح|لوح)"
_SHOW = r"(?:نشر|فضح|سرب|وزع|فرج|نزل|لوح)"
_NOT_YOU = r"(?!ي\b|يلي|يلنا|ين\b|و\b|لي\b|لنا\b)"  # not the imperative or second person ("ابعتي", "ابعتيلي")
_IMAGES = r"(?:صور|تصاو|تصوير|فيديو|فديو|مقاطع|مقطع|سنابات|الصور|الفيديو|الفيديوهات)"
_FAMILY = (r"(?:(?:ل|ع|عل|علي|الي|لكل|بكل|في|ف)\s*)?(?:اهل|ابو|ام|ماما|بابا|اب|اخو|اخت|عيل|عائل|صحاب|اصحاب|اصدقا|رفقا|صاحبات|كل\s+الناس|الكل|كل\s+العالم"
           r"|الناس|المدرس|مدرس|الجامع|النت|الفيس|الانستا|انستا|السناب|التيك|الجروب|القروب|الكروب|خطيب|جوز|زوج|جيران|الحاره|الحي|مامت|باباك)"
           r"(?:ت|ي)?(?:ك|كي|ج|كم|ه|ها|نا)?\b")
_COND = r"(?:\bو?\s*الا|\bوالله\s+ان\s+ما|\bلو\s+ما|لو\s+مش|اذا\s+ما|اذا\s+مش|ان\s+ما|ان\s+لم|لو\s+لم|مالا|ولا\s+غادي|وال?ا\s+غادي|ومن\s+غير|وإلا)"
_GIVE = r"(?:ابعت|ابعث|ارسل|رسل|دز|طرش|صيفط|حول|ادفع|دفع|اشحن|اعط|عطين|جيب|هات|حط|نزل)"
_PAY_OBJ = (r"(?:مصاري|مصريات|فلوس|فلوسك|مبلغ|المبلغ|رصيد|كاش|دولار|دنانير|دينار|ريال|جنيه|دراهم|درهم|ليره|شيكل|يورو|بطاقه|بطاقات|كارت|كروت|ايتونز|جوجل\s+بلاي|بيتكوين)")
_NEG_AR = r"(?:ما|مش|مو|مب|موب|مهو|لا|لن|لم|ماني|مانيش|مستحيل|عمري\s+ما|ابدا|ماراح|مارح|منيش|مانا|ميش)"
_AR_NUM = (r"(\d{1,2}|عشر|عشره|احدعش|حداش|حدعش|احدي\s+عشر|احد\s+عشر|اتناش|اطناش|اثنا\s+عشر|اثني\s+عشر|اثنعش|ثنعش|طنعش|تلتاش|تلطاش|ثلطعش|ثلاثه?\s+عشر"
           r"|اربعتاش|اربطعش|اربعه?\s+عشر|خمستاش|خمسطعش|خمسه?\s+عشر|تسع|تسعه|تمن|تمانيه|ثمان|ثمانيه|سبع|سبعه|ست|سته|ستاش|سطعش|سته?\s+عشر|سبعتاش|سبعطعش)")
_ORD_AR = (r"(الاول|الثاني|التاني|الثالث|التالت|الرابع|الخامس|السادس|السابع|الثامن|التامن|التاسع|اول|اولي|ثاني|تاني|ثانيه|تانيه|ثالث|تالت|ثالثه|تالته|رابع|رابعه"
           r"|خامس|خامسه|سادس|سادسه|سابع|سابعه|ثامن|تامن|تاسع|[1-9])")

PATTERNS: tuple[Pattern, ...] = (
    # ---- sextortion: a threat to expose someone's images, or blackmail ----
    Pattern("sextortion.expose", "sextortion", r"\b[وف]?" + _I_WILL + r"?فضح(?:ك|كي|ج|كم|كو|ها|هم)\b",
            "a threat to expose the person"),
    Pattern("sextortion.publish_to", "sextortion",
            r"\b[وف]?" + _I_WILL + _PUBLISH + _NOT_YOU + r"\w*\s+(?:\S+\s+)?\S*" + _IMAGES + r"\S*\s+(?:\S+\s+)?" + _FAMILY
            + r"|\b[وف]?" + _I_WILL + _SHOW + r"(?:ها|هن|هم|ه|هم)\w*\s+(?:\S+\s+)?" + _FAMILY,
            "a threat to send or publish to the person's family, friends or online"),
    Pattern("sextortion.publish_images", "sextortion", r"\b[وف]?" + _I_WILL + _PUBLISH + _NOT_YOU + r"\w*\s+(?:\S+\s+)?" + _IMAGES + r"(?:ك|كي|ج|ها|كم|ك\s+كلها|ج\s+كلهن)\b",
            "a threat to publish the person's own images"),
    Pattern("sextortion.conditional", "sextortion", _COND + r" …6 " + r"[وف]?" + _I_WILL + _PUBLISH + _NOT_YOU + r"\w*",
            "a demand backed by a threat to publish"),
    Pattern("sextortion.reported_ar", "sextortion", r"\b(?:هدد|يهدد|عم\s+يهدد|بيهدد|قاعد\s+يهدد|كيهدد|يبتز|ابتز|ابتزاز|بيبتز|يبتزني|يبتزها|يبتزه)\w*",
            "the report says the person is being threatened or blackmailed"),
    Pattern("sextortion.en_or", "sextortion",
            r"\b(?:or|or else|otherwise|if (?:you|u) (?:dont|don't|do not|wont|won't))\b …6 (?:i|ill|i'll|imma|ima)?\s*(?:will|wil|gonna|going to|gon)?\s*"
            r"(?:post|send|share|leak|show|expose|upload|spread|sned|snd)\b",
            "a demand backed by a threat to publish"),
    Pattern("sextortion.en_to", "sextortion",
            r"\b(?:post|send|share|leak|show|upload|spread|sned|snd)\w*\s+(?:all\s+)?(?:your|ur|yr|ya|these|the|those|ur)\s+(?:\w+\s+)?(?:pics|pix|pictures|photos|nudes|vids|videos|picz|nudez|pic|photo|video)\b"
            r"(?:\s+\S+){0,2}\s+(?:to|with|on|in)\s+(?:your|ur|ya|all|every|the)",
            "a threat to send or publish the person's images to others"),
    Pattern("sextortion.en_expose", "sextortion", r"\b(?:i(?:'ll| will| wil|ll| gonna| am going to| m going to)|imma|ima|gonna)\s+(?:expose|ruin)\s+(?:you|u|ur|your)\b",
            "a threat to expose the person"),
    Pattern("sextortion.en_reported", "sextortion",
            r"\b(?:blackmail\w*|sextort\w*|threaten\w*\s+(?:to\s+|me\s+|her\s+|him\s+|them\s+)?(?:post|send|share|leak|publish|expose|release)\w*)",
            "the report says the person is being threatened or blackmailed"),
    Pattern("sextortion.en_everyone", "sextortion", r"\b(?:every\s*one|everybody|all your friends|your (?:mom|mum|dad|parents|family|school))\s+(?:will|gonna|is going to|are going to)\s+see\b",
            "a threat that others will see the images"),
    Pattern("sextortion.az_expose", "sextortion", r"\b(?:ra7|raa7|7a|ha|ba|bi|gha|ghadi|rah|hayk|b|h|n|a)?\s*" + az("fD7") + r"(?:k|ek|ik|ich|ech|j|ij|kom)\b",
            "a threat to expose the person (Arabizi)"),
    Pattern("sextortion.az_publish", "sextortion",
            r"\b(?:ra7|raa7|rah|7a|ha|ba|bi|ghadi|gha|w?ela|w?illa|walla|wla)?\s*(?:" + az("nSr") + "|" + az("nzl") + "|" + az("b3t") + "|" + az("wzj") + "|" + az("sift")
            + r")\w*\s+(?:\S+\s+)?(?:" + az("swr") + "|" + az("tsawr") + "|" + az("tSwr") + r"|video|vidyo|fidyo|pics)\w*(?:\s+\S+){0,2}\s+(?:l|la|le|3ala|3la|ela|li)?\s*(?:ahl|a7l|abook|abuk|umm|omm|mama|baba|kol|kul|nas|sohab|s7ab|as7ab|famil)",
            "a threat to send or publish images to the person's family or others (Arabizi)"),
    Pattern("sextortion.az_cond", "sextortion",
            r"\b(?:w?ela|w?illa|walla|wla|w?ila|law\s+ma|iza\s+ma|eza\s+ma|ida\s+ma)\b …6 (?:ra7|raa7|ha|ba|bi|ghadi|gha|n|a)?\s*(?:" + az("nSr") + "|" + az("nzl") + "|" + az("fD7") + "|" + az("wzj") + r")\w*",
            "a demand backed by a threat to publish (Arabizi)"),
    # ---- payment demands ----
    Pattern("payment.ar", "payment", r"\b[وف]?(?:" + _GIVE + r")\w*(?:\s+\S+){0,3}?\s+(?:\d+\s*)?" + _PAY_OBJ + r"\w*",
            "a demand for money, credit or gift cards"),
    Pattern("payment.ar_pay", "payment", r"\b[وف]?(?:تدفع|ادفع|دفعي|تدفعي|تدفعين|تخلص|ادفعلي|ادفعيلي)\w*\b", "a demand to pay"),
    Pattern("payment.en", "payment",
            r"\b(?:send|give|pay|transfer|wire|get)\s+(?:me\s+)?(?:\$\s?\d+|\d+\s?(?:\$|usd|dollars|bucks|euros?|jod|sar|egp|dh)|money|cash|the money|a gift ?card|gift ?cards|steam cards?|itunes|bitcoin|btc|crypto|robux|vbucks|v-bucks)\b",
            "a demand for money, credit or gift cards"),
    Pattern("payment.en_pay", "payment", r"\b(?:pay\s+(?:me|up|now|or)|paypal|cash\s?app|venmo|western union|moneygram)\b", "a demand to pay"),
    Pattern("payment.az", "payment", r"\b(?:t|b|h|n|y|ra7\s*)?(?:" + az("7wl") + "|" + az("b3t") + "|" + az("dfa3") + "|" + az("dfe3") + "|" + az("S7n") + r")\w*(?:\s+\S+){0,2}\s+(?:" + az("msr") + "|" + az("flws") + "|" + az("rsyd") + "|" + az("msryat") + r"|cash|dollars?|\d+)\w*",
            "a demand for money or credit (Arabizi)"),
    # ---- requests for images ----
    Pattern("image_request.ar", "image_request",
            r"\b[وف]?(?:ابعت|ابعث|بعت|ارسل|رسل|دز|صيفط|نزل|وري|فرج|حط|صور|اعطين|عطين|ابي|ابغي|بدي|عايز|عاوز|نفسي\s+اشوف|بغيت|باغي|خليني\s+اشوف)\w*(?:\s+\S+){0,2}?\s+"
            r"(?:صوره|صور|صورتك|صورك|سناب|فيديو|فديو|مقطع|تصويره|تصاور|تصويره|جسمك|جسمج|جسدك|حالك|نفسك|روحك|حالج|نفسج|شكلك)\w*",
            "a request for pictures or video of the person"),
    Pattern("image_request.ar_self", "image_request", r"\b(?:صوري|صوريلي|صوريني|صوري\s+لي|صورلي|صوريلنا)\s+(?:\S+\s+)?(?:حالك|نفسك|روحك|حالج|نفسج|جسمك|جسمج|وجهك|شكلك|اللي|بدون|من\s+غير|بلا)\b",
            "a request for pictures of the person's body"),
    Pattern("image_request.intimate_ar", "image_request",
            r"\b(?:بدون|من\s+غير|من\s+دون|بلا|بلاش|بلادون|شلحي|اشلحي|اقلعي|قلعي|فصخي|افسخي|نزعي|حيدي)\s+(?:\S+\s+)?(?:ملابس|هدوم|لبس|اواعي|تيابك|ثياب|حوايج|حوايجك|الملابس|الهدوم|البلوزه|الاواعي|تياب|حوايجك)\w*",
            "a request to undress or for pictures without clothes"),
    Pattern("image_request.en", "image_request",
            r"\b(?:send|snd|sned|show|shw|give|get|take|trade)\s+(?:me\s+|us\s+)?(?:a\s+|some\s+|more\s+|another\s+|ur\s+|your\s+|a\s+few\s+|1\s+)?(?:\w+\s+)?"
            r"(?:pics?|pix|picz|pictures?|photos?|nudes?|nudez|snaps?|vids?|videos?|selfies?)\b",
            "a request for pictures or video of the person"),
    Pattern("image_request.en_more", "image_request", r"\b(?:more|another|new|sum|some)\s+(?:pics|pix|picz|nudes|nudez|vids|videos|photos|pictures)\b",
            "a request for pictures or video of the person"),
    Pattern("image_request.en_body", "image_request",
            r"\b(?:show|send|snd)\s+(?:me\s+)?(?:ur|your|ya)\s+(?:body|boobs|chest|legs|butt|bum|self|underwear)\b|\b(?:without|with\s+no|no)\s+(?:your\s+|ur\s+)?(?:clothes|clothing|shirt|top|bra)\b|\btake\s+(?:it\s+|ur\s+|your\s+)?(?:all\s+)?off\b|\bin\s+(?:ur|your)\s+(?:underwear|bra|pyjamas|pajamas)\b",
            "a request for pictures of the person's body or to undress"),
    Pattern("image_request.az", "image_request",
            r"\b(?:" + az("b3t") + "|" + az("b3tly") + "|" + az("wryny") + "|" + az("frjyny") + "|" + az("swry") + "|" + az("dzy") + "|" + az("sftly") + r"|bde|bdi|abi|abgha|3ayz|3awz)\w*(?:\s+\S+){0,2}?\s+(?:"
            + az("swr") + "|" + az("tswr") + "|" + az("tSwr") + r"|snap|vid|video|pic|" + az("7lk") + "|" + az("jsmk") + r")\w*",
            "a request for pictures or video of the person (Arabizi)"),
    Pattern("image_request.az_intimate", "image_request", r"\b(?:bdon|bidun|bdoun|bala|bla|men\s*ghir|min\s*gher|mn\s*3'er)\s+(?:" + az("hdwm") + "|" + az("mlbs") + "|" + az("awa3y") + "|" + az("tyab") + "|" + az("7wyj") + r")\w*",
            "a request to undress or for pictures without clothes (Arabizi)"),
    # ---- meeting arrangements ----
    Pattern("meeting.ar", "meeting",
            r"\b[وف]?(?:نلتقي|نتلاقي|نتقابل|نتلاقا|نتلاقاو|نشوف\s+بعض|نتشاوف|القاك|نلاقيك|الاقيك|اجي\s+اخدك|اجي\s+اخذك|اجيلك|اجيك|نجيك|اجيج|امرلك|امر\s+عليك|بمر\s+عليك|مستنيكي|مستنياكي|استناكي|انطرك|بستناكي|اخدك\s+بالسياره|اوصلك|نوصلك|(?:ابي|ابغي|بدي|عايز|عاوز|نفسي|ودي|حاب|بغيت|باغي)\s+(?:اشوفك|اشوفج|نشوفك|القاك|اقابلك|اشوفكي))\w*",
            "an arrangement to meet in person"),
    Pattern("meeting.ar_where", "meeting",
            r"\b(?:وين|فين|اين|وينك|وينج|فاين|شو|ايش|وش)\s+(?:\S+\s+)?(?:ساكنه|ساكنين|ساكن|تسكني|تسكنين|تسكن|كتسكني|بيتك|بيتكم|بيتج|عنوانك|عنوانج|مدرستك|مدرستج|ساكنه|دارك|داركم|حارتك|حيك)\b"
            r"|\b(?:ابعتيلي|ابعثيلي|ارسليلي|عطيني|اعطيني|دزيلي|صيفطي\s*ليا?|ابعتلي|ارسلي)\s+(?:\S+\s+)?(?:العنوان|عنوانك|اللوكيشن|لوكيشن|موقعك|الموقع|اللوكيشن)\b",
            "a question about where the person lives or a request for their location"),
    Pattern("meeting.ar_come", "meeting", r"\b(?:تعالي|تعال|تعالي|اجي|تجي|تيجي|تجين)\s+(?:\S+\s+)?(?:لعندي|عندي|لبيتي|بيتي|للبيت|داري|لداري|شقتي|للشقه|السياره|سيارتي|الفندق|للفندق|ورا\s+المدرسه|الحديقه|للحديقه|المول)\b",
            "an invitation to come to the person's place or car"),
    Pattern("meeting.en", "meeting",
            r"\b(?:meet\s+(?:me|up|you|u|irl|in person)|lets\s+meet|let's\s+meet|wanna\s+meet|want to meet|can we meet|we (?:should|could|can) meet|see (?:you|u) (?:in person|irl)|hang\s?out\s+(?:irl|in person|alone))\b",
            "an arrangement to meet in person"),
    Pattern("meeting.en_where", "meeting",
            r"\b(?:where\s+(?:do\s+)?(?:you|u|ya)\s+live|wh?ere\s+u\s+live|what(?:'s|s| is)\s+(?:your|ur)\s+(?:address|school|location)|send\s+(?:me\s+)?(?:your|ur)\s+(?:address|location|loc|pin)|pick\s+(?:you|u)\s+up|come\s+to\s+my\s+(?:place|house|car|room|flat|apartment|hotel)|i(?:'ll| will|ll)?\s+come\s+to\s+(?:you|ur|your))\b",
            "a question about where the person lives, a pick-up or an invitation"),
    Pattern("meeting.az", "meeting",
            r"\b(?:" + az("nt2abl") + "|" + az("ntl2a") + "|" + az("ntla2a") + "|" + az("nSwf b3d") + "|" + az("nSwfk") + "|" + az("Swfk") + r"|net2abal|nitla2a|ntla9aw|ntla2aw)\b"
            r"|\b(?:wen|wein|fen|fein|fin|wain)\s+(?:\S+\s+)?(?:" + az("skn") + "|" + az("btk") + "|" + az("3nwnk") + r")\w*"
            r"|\b(?:" + az("t3aly") + r")\s+(?:\S+\s+)?(?:3ndi|3andi|la3ndi|bayti|beti|dari|lsayara|sayarti)\b",
            "an arrangement to meet, or a question about where the person lives (Arabizi)"),
    # ---- secrecy demands ----
    Pattern("secrecy.ar_tell", "secrecy",
            r"\b[وف]?(?:لا|ما|م|متـ?|اوعي|اوعك|اياك|بلاش|حذاري|ماتـ?)\s*(?:ت|تـ)?(?:قولي|تقولي|قولي|حكي|تحكي|خبري|تخبري|تعلمي|علمي|كولين|تكولين|قولين|تقولين|تقوليش|قوليش|تقول|تحكيش|تخبرين|تعلمين|تحكين|تحكيها)\w*\s+(?:\S+\s+)?"
            r"(?:لحدا|لحد|لاحد|حدا|حد|احد|لاي\s+حد|لأي|لاهلك|لاهلج|لماما|لامك|لامج|لابوك|لبابا|لاخوك|لاختك|لحتي\s+واحد|لحتا\s+واحد|لصحابك|لصاحباتك|لحدي|اهلك|امك|ابوك|لمامتك|لباباكي|لمامتج|لاي\s+احد)\w*",
            "a demand not to tell anyone, or not to tell the parents"),
    Pattern("secrecy.ar_secret", "secrecy",
            r"\b[وف]?(?:سر\s+بين\w*|سر\s+بينا|خلي\w*\s+(?:\S+\s+)?سر|سرنا|بيني\s+وبينك|بيني\s+وبينج|بيناتنا|بيناتك|بس\s+بيني\s+وبينك|سر\s+ما\s+بين)\b",
            "a demand that the conversation stay a secret"),
    Pattern("secrecy.ar_delete", "secrecy",
            r"\b[وف]?(?:امسحي|احذفي|شيلي|مسحي|حذفي|امسح|احذف|امسحو|احذفو|فسخي|مسحيه|امسحيه|احذفيه)\s+(?:\S+\s+)?(?:المحادثه|الشات|الرسايل|الرسائل|المسجات|الرسالة|الرساله|المحادثات|الكلام|هالشات|هالمحادثه|الماسجات|المساجات|المسج)\b",
            "a demand to delete the conversation"),
    Pattern("secrecy.en", "secrecy",
            r"\b(?:(?:don'?t|dont|do not|never|dnt|dun)\s+tell\s+(?:any\s*one|any\s*body|no\s*one|nobody|ur|your|ya|ppl|people|mom|mum|dad|parents|family|teacher)|keep\s+(?:it|this|this chat|us|our chat)\s+(?:a\s+)?secret|(?:our|a)\s+(?:little\s+)?secret|(?:just\s+)?between\s+(?:you\s+and\s+me|u\s+and\s+me|us)|delete\s+(?:the\s+|this\s+|our\s+|these\s+|all\s+)?(?:chat|chats|messages|msgs|convo|conversation|texts))\b",
            "a demand for secrecy or to delete the conversation"),
    Pattern("secrecy.az", "secrecy",
            r"\b(?:la|ma|mat|matet)\s*(?:" + az("t2wly") + "|" + az("t7ky") + "|" + az("tqwly") + "|" + az("qwly") + "|" + az("7ky") + r"|t2oli|t2ouli|t2uli|te2ouli|tgooli|tgouli|t9oli)\w*\s+(?:\S+\s+)?(?:l?7ada|l?7ad|la7ada|l?ahlik|l?ahlek|l?mama|l?baba|l?7ad)\b"
            r"|\b(?:sir|ser|sirr|sr)\s+(?:bena|beina|binatna|bentna|bynatna|bina)\b|\b(?:beni|bini|bayni)\s+(?:w|o|u)\s*(?:benik|binek|binik|baynek|baynik|benek)\b"
            r"|\b(?:" + az("ms7y") + "|" + az("m7y") + "|" + az("7dfy") + r")\s+(?:\S+\s+)?(?:chat|el\s*chat|ilchat|lchat|rasayel|msgs)\b",
            "a demand for secrecy or to delete the conversation (Arabizi)"),
    # ---- age statements (first person) ----
    Pattern("age.ar", "age", r"\b(?:انا\s+)?عمري\s+(?:هو\s+|بس\s+|بالضبط\s+)?" + _AR_NUM + r"(?:\s+(?:سنه|سنين|سنوات|عام|سنه))?\b", "the person states their age", age=True),
    Pattern("age.ar_ana", "age", r"\bانا\s+(?:عندي\s+|كملت\s+|صار\s+عمري\s+|بس\s+)?" + _AR_NUM + r"\s+(?:سنه|سنين|سنوات|عام|اعوام)\b", "the person states their age", age=True),
    Pattern("age.ar_grade", "age",
            r"\bانا\s+(?:(?:ب|في|ف)\s*)?(?:الصف|صف|السنه|الفصل|فصل)\s*" + _ORD_AR + r"(?:\s+(?:ابتدائي|الابتدائي|اساسي|ابتدائيه|متوسط|اعدادي|الاعدادي))?\b"
            r"|\bانا\s+(?:(?:ب|في|ف)\s*)?(?:سنه\s+)?" + _ORD_AR + r"\s+(?:ابتدائي|الابتدائي|اساسي|ابتدائيه|متوسط|اعدادي|الاعدادي)\b",
            "the person states their school year", age=True, grade=True),
    Pattern("age.en", "age",
            r"\b(?:i\s*am|i'?m|im|i\s+m)\s+(?:only\s+|just\s+|like\s+|turning\s+)?(\d{1,2}|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|nine|eight)\b(?!\s*(?:min|mins|minutes|hours|hrs|am|pm|km|miles|%|\$|dollars|percent|times|o'?clock|days|weeks|feet|ft|kg|cm))",
            "the person states their age", age=True),
    Pattern("age.en_my", "age", r"\b(?:my\s+age\s+(?:is\s+)?|age\s*[:=]?\s*)(\d{1,2})\b|\b(\d{1,2})\s*(?:yo|y/o|yrs?\s+old|years?\s+old)\b", "the person states their age", age=True),
    Pattern("age.en_grade", "age", r"\b(?:i\s*am|i'?m|im)\s+(?:in|n)\s+(?:the\s+)?(?:(\d)(?:st|nd|rd|th)?|(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|year\s+(\d))\s*(?:grade|class|form)?\b",
            "the person states their school year", age=True, grade=True),
    Pattern("age.az", "age", r"\b(?:" + az("3mry") + r"|ana)\s+(\d{1,2})\s*(?:" + az("sny") + "|" + az("snt") + r"|sana|sne|sneen|3am)?\b", "the person states their age (Arabizi)", age=True),
    # ---- self-harm ----
    Pattern("self_harm.ar", "self_harm",
            r"\b(?:بدي|ودي|نفسي|ابي|ابغي|اريد|باغي|بغيت|حابب|حابه|عايز|عايزه|عاوز|عاوزه|رح|راح|غادي)\s+(?:\S+\s+)?(?:اموت|موت|نموت|انتحر|ننتحر|اقتل\s+حالي|اقتل\s+نفسي|اقتل\s+روحي|نقتل\s+روحي|اخلص\s+من\s+حياتي|انهي\s+حياتي)\b"
            r"|\b[وف]?(?:س|ه|ح|ب|ن)?(?:انتحر|ينتحر|انتحار|نتحر|قتل\s+حالي|قتل\s+نفسي|قتل\s+روحي|اقتل\s+حالي|اقتل\s+نفسي|اقتل\s+روحي|اذي\s+حالي|اذي\s+نفسي|اجرح\s+حالي|اجرح\s+نفسي|جرح\s+حالي|جرح\s+نفسي|اذبح\s+روحي|ذبح\s+روحي)\b"
            r"|\b(?:ما\s+بدي\s+اعيش|مش\s+عايزه?\s+اعيش|ما\s+ابي\s+اعيش|ما\s+ابغي\s+اعيش|مابغيتش\s+نعيش|ما\s+بغيتش\s+نعيش|تعبت\s+من\s+الحياه|ما\s+الي\s+عيشه|ما\s+الي\s+داعي\s+اعيش|حياتي\s+ما\s+الها\s+معني)\b",
            "the person speaks of killing or harming themself"),
    Pattern("self_harm.en", "self_harm",
            r"\b(?:kill\s*(?:my\s*self|myslef|mself)|kms|k\.m\.s|wanna\s+die|want\s+to\s+die|wana\s+die|end\s+(?:it\s+all|my\s+life|myself)|cut(?:ting)?\s+(?:my\s*self|my\s+wrists?|my\s+arms?)|hurt(?:ing)?\s+my\s*self|suicid\w*|(?:don'?t|dont|do not)\s+want\s+to\s+(?:live|be alive|exist)|no\s+reason\s+to\s+live|better\s+off\s+dead|self[\s-]?harm\w*|harm\s+themsel\w+)\b",
            "the person speaks of killing or harming themself"),
    Pattern("self_harm.az", "self_harm",
            r"\b(?:bde|bdi|badi|bade|bidi|bedi|beddi|nefsi|nifsi|abi|abgha|baghi|bghit|3ayz|3ayza|ra7|ha|ba|bi)\s+(?:\S+\s+)?(?:" + az("mwt") + "|" + az("ntt7r") + "|" + az("nt7r") + r")\b|\b(?:ba|ha|ra7\s*|bi)?" + az("qtl") + r"\s+(?:" + az("7aly") + "|" + az("nfsy") + "|" + az("rw7y") + r")\b|\b(?:ba|ha|ra7\s*|bi|n|a)?(?:" + az("nt7r") + "|" + az("ntt7r") + r")\w*",
            "the person speaks of killing or harming themself (Arabizi)"),
    # ---- threats of violence ----
    Pattern("threats.ar", "threats",
            r"\b[وف]?" + _I_WILL + r"(?:قتل|ذبح|دبح|موت|كسر\s+راس|كسر|ضرب|طعن|اذي|وذي|ذي|حرق|خنق|شوه|خطف)(?:ك|كي|ج|كم|ها)\b"
            r"|\b(?:بعرف|عارف|اعرف|نعرف|كنعرف|ادري|اعرف)\s+(?:وين|فين|اين|وش|عنوان)\s*(?:\S+\s+)?(?:ساكنه|ساكن|بيتك|بيتكم|مدرستك|بيتج|تسكني|عايشه|داركم|تسكنين)\b",
            "a threat of violence against the person"),
    Pattern("threats.en", "threats",
            r"\b(?:i(?:'ll| will| wil|ll| am gonna| m gonna|m gonna| gonna| am going to| m going to)|imma|ima|gonna)\s+(?:\w+\s+)?(?:kill|hurt|stab|beat|shoot|strangle|burn|kidnap)\s+(?:you|u|ya|ur\s+family|your\s+family)\b"
            r"|\bi\s+know\s+where\s+(?:you|u)\s+(?:live|go to school|study)\b|\byou(?:'ll| will)\s+(?:regret|pay for)\b",
            "a threat of violence against the person"),
    Pattern("threats.az", "threats",
            r"\b(?:ra7|raa7|rah|ha|ba|bi|ghadi|gha|n|a)?\s*(?:" + az("qtl") + "|" + az("Db7") + "|" + az("db7") + "|" + az("ksr") + "|" + az("drb") + "|" + az("6'3n") + r")(?:k|ek|ik|ich|ech|j|ij|kom)\b"
            r"|\b(?:ba3rf|b3rf|3aref|ana\s+3aref|kan3ref)\s+(?:wen|fen|wein)\s+(?:" + az("skn") + "|" + az("btk") + r")\w*",
            "a threat of violence against the person (Arabizi)"),
)

# Substrings the folded text must hold (one of each "&" group) for a pattern to be
# tried; "~x": x in the Latin skeleton (the folded text without a e i o u y ').
GATES = {
    "sextortion.expose": "فضح",
    "sextortion.publish_to": "نشر|نزل|بعت|بعث|رسل|وزع|صيفط|دز|طرش|فرج|سرب|فضح|لوح",
    "sextortion.publish_images": "نشر|نزل|بعت|بعث|رسل|وزع|صيفط|دز|طرش|فرج|سرب|فضح|لوح",
    "sextortion.conditional": "الا|لو|اذا|ان|مالا|والله|ولا|غير|غادي & نشر|نزل|بعت|بعث|رسل|وزع|صيفط|دز|طرش|فرج|سرب|فضح|لوح",
    "sextortion.reported_ar": "هدد|بتز",
    "sextortion.en_or": "or|if & post|send|share|leak|show|expose|upload|spread|sned|snd",
    "sextortion.en_to": "post|send|share|leak|show|upload|spread|sned|snd & pic|pix|photo|nude|vid",
    "sextortion.en_expose": "expose|ruin",
    "sextortion.en_reported": "blackmail|sextort|threaten",
    "sextortion.en_everyone": "see & every|your|all",
    "sextortion.az_expose": "~fd7|~fdh",
    "sextortion.az_publish": "~nshr|~nchr|~n$r|~nzl|~b3t|~wzj|~zj|~sft & ~swr|~sr|~tswr|~tsr|~tshwr|~tchwr|~tshr|~tchr|vid|fid|pics & ahl|a7l|abo|abu|umm|omm|mama|baba|kol|kul|nas|sohab|s7ab|famil",
    "sextortion.az_cond": "ela|illa|walla|wla|ila|law|iza|eza|ida & ~nshr|~nchr|~n$r|~nzl|~fd7|~fdh|~wzj|~zj",
    "payment.ar": "بعت|بعث|رسل|دز|طرش|حول|دفع|شحن|اعط|عطين|جيب|هات|حط|نزل & مصاري|مصريات|فلوس|مبلغ|رصيد|كاش|دولار|دنانير|دينار|ريال|جنيه|دراهم|درهم|ليره|شيكل|يورو|بطاق|كارت|كروت|ايتونز|جوجل|بيتكوين",
    "payment.ar_pay": "دفع|تخلص",
    "payment.en": "send|give|pay|transfer|wire|get & $|usd|dollar|buck|euro|jod|sar|egp|dh|money|cash|gift|steam|itunes|bitcoin|btc|crypto|robux",
    "payment.en_pay": "pay|cash|venmo|western|moneygram",
    "payment.az": "~7wl|~7l|~hwl|~b3t|~df3|~sh7n|~ch7n|~$7n|~shhn|~chhn & ~msr|~flws|~fls|~rsd|cash|dollar|dolar|0|1|2|3|4|5|6|7|8|9",
    "image_request.ar": "صور|سناب|فيديو|فديو|مقطع|تصوير|تصاو|جسم|جسد|حالك|نفسك|روحك|حالج|نفسج|شكلك",
    "image_request.ar_self": "صور",
    "image_request.intimate_ar": "ملابس|هدوم|لبس|اواعي|تياب|ثياب|حوايج",
    "image_request.en": "pic|pix|photo|nude|snap|vid|selfie",
    "image_request.en_more": "pic|pix|nude|vid|photo & more|another|new|sum|some",
    "image_request.en_body": "body|boob|chest|legs|butt|bum|self|underwear|clothes|clothing|shirt|top|bra|off|pyjama|pajama",
    "image_request.az": "~b3t|~wry|~wr|~frj|~swr|~sr|~dz|~sft|bde|bdi|abi|abgha|3ayz|3awz & ~swr|~sr|~tswr|~tsr|~tshwr|~tchwr|~tshr|~tchr|snap|vid|pic|~7lk|~hlk|~jsmk|~gsmk|~jsm|~gsm",
    "image_request.az_intimate": "bdon|bidun|bdoun|bala|bla|ghir|gher|3'er",
    "meeting.ar": "نلتقي|نتلاقي|نتقابل|نتلاقا|نشوف|نتشاوف|القاك|نلاقيك|الاقيك|اجي|نجيك|امر|بمر|مستني|استناكي|انطرك|اخدك|اوصلك|نوصلك|اشوف|اقابل|شوفك|شوفج",
    "meeting.ar_where": "ساكن|تسكن|بيت|عنوان|مدرست|دار|حارت|حيك|لوكيشن|موقع",
    "meeting.ar_come": "تعال|اجي|تجي|تيجي|تجين",
    "meeting.en": "meet|see you|see u|hang",
    "meeting.en_where": "live|address|school|location|loc|pin|pick|come",
    "meeting.az": "~nt2bl|~ntqbl|~ntgbl|~ntkbl|~ntl2|~ntl9|~ntlq|~ntlg|~shwf|~chwf|~shf|~chf|~$f|~$wf ; wen|wein|fen|fein|fin|wain & ~skn|~btk|~3nwn|~3nn ; ~t3l & 3ndi|3andi|la3ndi|bayti|beti|dari|lsayara|sayarti",
    "secrecy.ar_tell": "قول|حكي|خبر|علم|كول & حد|اهل|ماما|ام|اب|بابا|اخو|اخت|واحد|صحاب|صاحب",
    "secrecy.ar_secret": "سر|بيني|بينات",
    "secrecy.ar_delete": "مسح|حذف|شيل|فسخ & محادث|شات|رسا|مسج|الكلام|ماسج|مساج",
    "secrecy.en": "tell|secret|between|delete",
    "secrecy.az": "la|ma|mat & 7ad|ahl|mama|baba ; sir|ser|sr & bena|beina|binatna|bentna|bynatna|bina ; beni|bini|bayni & benik|binek|binik|baynek|baynik|benek ; ~ms7|~m7|~7df|~msh|~hdf & chat|rasayel|msgs",
    "age.ar": "عمري",
    "age.ar_ana": "انا & سن|عام",
    "age.ar_grade": "انا & صف|السنه|فصل|ابتداي|اساسي|متوسط|اعدادي",
    "age.en": "i & 0|1|2|3|4|5|6|7|8|9|ten|eleven|twelve|teen|nine|eight",
    "age.en_my": "age|yr|year| yo|0yo|1yo|2yo|3yo|4yo|5yo|6yo|7yo|8yo|9yo|y o & 0|1|2|3|4|5|6|7|8|9",
    "age.en_grade": "grade|class|form|year|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth",
    "age.az": "~3mr|ana & 0|1|2|3|4|5|6|7|8|9",
    "self_harm.ar": "موت|نتحر|انتحار|قتل|اذي|جرح|ذبح|عيش|الحياه|حياتي",
    "self_harm.en": "kill|kms|die|end|cut|hurt|suicid|live|alive|exist|dead|harm",
    "self_harm.az": "bd|nefs|nifs|abi|abgh|bagh|bgh|3ay|ra7|ha|ba|bi & ~mt|~mwt|~nt7r|~ntt7r|~nthr ; ~qtl|~2tl|~gtl|~ktl & ~7l|~hl|~nfs|~rw7|~rwh ; ~nt7r|~ntt7r|~nthr|~ntthr",
    "threats.ar": "قتل|ذبح|دبح|موت|كسر|ضرب|طعن|ذي|حرق|خنق|شوه|خطف|عرف|ادري",
    "threats.en": "kill|hurt|stab|beat|shoot|strangle|burn|kidnap|know where|regret|pay for",
    "threats.az": "~qtl|~2tl|~gtl|~ktl|~db7|~dbh|~zb7|~zbh|~dhb|~ksr|~drb|~63n|~t3n|~3rf",
}

_SKELETON = str.maketrans("", "", "aeiouy'")
_LATIN = re.compile("[a-z]")


# Categories and the contexts that reverse or empty their meaning.
NEGATABLE = frozenset({"self_harm", "threats", "meeting", "image_request", "sextortion"})
_NEG_BEFORE = re.compile(r"(?:^|\s)(?:" + _NEG_AR + r"|not|never|dont|don't|do not|won't|wont|wouldn't|would never|didn't|didnt|cant|can't|no way i|will not|i'?d never|i will never|never gonna)(?:\s+\S+)?\s*$")
# "If … not" is a condition, not a negation: "والله ان ما ترسلين بطرش صورك", "if u dont send i post".
_IF_NOT = re.compile(r"(?:^|\s)(?:ان|اذا|لو|الا|if|unless|law|iza|eza|ida)\s+(?:" + _NEG_AR + r"|not|dont|don't|do not|won't|wont|u\s+dont|you\s+dont)\b")
# Harmless settings, looked for in the words right after the match (and before it, for some).
_BENIGN = {
    "image_request": re.compile(r"\b[وفبلك]?ل?(?:رحله|الرحله|الرحلة|المدرسه|الواجب|واجب|الحصه|الدرس|العيد|الحفله|حفله|عيد\s+ميلاد|المباراه|الماتش|الكوره|التمرين|الجامعه|الامتحان|الشهاده|الجواز|الهويه|الطبخه|الاكل|الكيكه|المنظر|الغروب|القطه|الكلب|الورقه|السبوره|الجدول"
                                r"|school|trip|homework|class|project|party|birthday|match|game|team|trophy|cake|dog|cat|sunset|view|recipe|passport|id\s+card|receipt|notes|slides|assignment|wedding|graduation|puppy|kitten|"
                                + az("r7l") + r"|" + az("wjb") + r"|" + az("mdrs") + r")\b"),
    "meeting": re.compile(r"\b[وفبلك]?ل?(?:كوره|الكوره|ماتش|الماتش|مباراه|المباراه|تمرين|التمرين|النادي|الدرس|درس|ندرس|نذاكر|مذاكره|المكتبه|مع\s+ماما|مع\s+بابا|مع\s+امي|مع\s+ابوي|مع\s+الشله|مع\s+البنات|مع\s+الشباب|الصف|الفصل|المعلمه|الاستاذ|الكشافه|المسجد|الكنيسه|العيله|الجامعه|الحصه"
                          r"|football|soccer|basketball|match|practice|training|game|study|homework|class|library|project|team|coach|with\s+(?:my\s+)?(?:mom|dad|mum|parents)|church|mosque|scouts|school\s+trip|with\s+the\s+(?:team|class|group)|"
                          + az("kwr") + r"|" + az("mtS") + r"|" + az("tmryn") + r"|" + az("drs") + r")\b"),
    "threats": re.compile(r"\b[وفبلك]?ل?(?:اللعبه|لعبه|اللعبة|ببجي|فورتنايت|فري\s+فاير|ماينكرافت|روبلوكس|بالجيم|الجيم|فيفا|ههه+|هه|مزح|بمزح|امزح|يمزح|نكته|بالكوره|الماتش|المباراه|ضحك"
                          r"|game|fortnite|pubg|minecraft|roblox|fifa|cod|valorant|lol|lmao|haha+|jk|joking|kidding|round|match|level|boss|" + az("l3b") + r"|pubg|haha)\b"),
    "self_harm": re.compile(r"\b(?:ضحك|الضحك|من\s+الضحك|من\s+الجوع|من\s+الحر|من\s+البرد|من\s+التعب|جوع|عليك|عليكي|عليه|عليها|فيك|فيكي|ههه+|هه|الملل|من\s+الملل|المسلسل|الحلقه"
                           r"|laugh\w*|lol|lmao|haha+|hunger|hungry|embarrass\w*|cringe|boredom|bored|heat|prevention|awareness|hotline|article|episode|"
                           + az("D7k") + r")\b"),
    "age": re.compile(r"(?!x)x"),
    "secrecy": re.compile(r"\b(?:مفاجاه|المفاجاه|مفاجأة|عيد\s+ميلاد|هديه|الهديه|surprise|birthday|gift|present|party|" + az("mfaj2") + r")\b"),
    "payment": re.compile(r"\b(?:الغدا|الغداء|الاكل|الفطور|البيتزا|التكسي|الباص|الرحله|الاشتراك|الكتاب|الكتب|الدين\s+اللي|lunch|pizza|taxi|bus|ticket|tickets|subscription|book|books|rent|bill|back\s+(?:for|tomorrow|later)|the\s+bill|class\s+fees)\b"),
}
_BENIGN_BEFORE = {
    "image_request": _BENIGN["image_request"], "threats": _BENIGN["threats"],  # (a meeting's setting follows it: "meet … for football")
    "self_harm": re.compile(r"\b(?:هموت|بموت|بموت|رح\s+موت|ميت|ميته|dying|dead|died|killing\s+me|prevention|awareness|hotline|article|news|مقال|توعيه|حمله)\b"),
}
# An age in the past or someone else's ("كان عمري", "when I was 11").
_AGE_NOT_NOW = re.compile(r"(?:كان|كنت|لما|لمن|وقت|من\s+وانا|when|was|back\s+when|since|at|til|until|till|for)\s*$")
# Words that make the text a mention rather than a use (a song, a film, an awareness message).
_MENTION = re.compile(r"\b(?:اغنيه|الاغنيه|كلمات\s+اغنيه|فيلم|الفيلم|مسلسل|المسلسل|مقال|المقال|توعيه|حمله\s+توعيه|نصيحه|نصايح|تحذير|اعلان|song|lyrics|movie|film|series|article|awareness|campaign|safety\s+tips|warning\s+about|poster|quote\s+from|meme)\b")

_ORDINALS = {
    "اول": 1, "الاول": 1, "اولي": 1, "ثاني": 2, "تاني": 2, "الثاني": 2, "التاني": 2, "ثانيه": 2, "تانيه": 2, "ثالث": 3, "تالت": 3, "الثالث": 3,
    "التالت": 3, "ثالثه": 3, "تالته": 3, "رابع": 4, "الرابع": 4, "رابعه": 4, "خامس": 5, "الخامس": 5, "خامسه": 5, "سادس": 6, "السادس": 6, "سادسه": 6,
    "سابع": 7, "السابع": 7, "سابعه": 7, "ثامن": 8, "تامن": 8, "الثامن": 8, "التامن": 8, "تاسع": 9, "التاسع": 9,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}
_NUMBER_WORDS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "nine": 9, "eight": 8,
    "عشر": 10, "عشره": 10, "احدعش": 11, "حداش": 11, "حدعش": 11, "احدي عشر": 11, "احد عشر": 11, "اتناش": 12, "اطناش": 12, "اثنا عشر": 12,
    "اثني عشر": 12, "اثنعش": 12, "ثنعش": 12, "طنعش": 12, "تلتاش": 13, "تلطاش": 13, "ثلطعش": 13, "ثلاث عشر": 13, "ثلاثه عشر": 13,
    "اربعتاش": 14, "اربطعش": 14, "اربع عشر": 14, "اربعه عشر": 14, "خمستاش": 15, "خمسطعش": 15, "خمس عشر": 15, "خمسه عشر": 15,
    "تسع": 9, "تسعه": 9, "تمن": 8, "تمانيه": 8, "ثمان": 8, "ثمانيه": 8, "سبع": 7, "سبعه": 7, "ست": 6, "سته": 6,
    "ستاش": 16, "سطعش": 16, "ست عشر": 16, "سته عشر": 16, "سبعتاش": 17, "سبعطعش": 17,
}


def _age_of(pattern: Pattern, m: re.Match[str]) -> int | None:
    """The age a match states: a number or a number word; a school year + 5 (+ 6 more
    for the intermediate/preparatory years)."""
    value = next((g for g in m.groups() if g), None)
    if value is None:
        return None
    value = " ".join(value.split())
    if not pattern.grade:
        n = int(value) if value.isdigit() else _NUMBER_WORDS.get(value)
        return n if n is not None and 3 <= n <= 99 else None
    grade = int(value) if value.isdigit() else _ORDINALS.get(value)
    if grade is None or not 1 <= grade <= 12:
        return None
    if "متوسط" in m[0] or "اعدادي" in m[0]:
        grade += 6
    return grade + 5


@dataclass(frozen=True, slots=True)
class Indicator:
    category: str
    pid: str  # the pattern, or "phrase" for a rule set's phrase
    quote: str  # the report's own words
    field: str
    why: str
    discounted: str = ""  # why it does not count ("negated", "context: football", ...), "" when it counts
    age: int | None = None


_Gate = tuple[frozenset[str], ...]  # every group must hold a stem ("~x": x in the skeleton)


@dataclass(frozen=True)
class CompiledPatterns:
    rows: tuple[tuple[Pattern, re.Pattern[str], tuple[_Gate, ...]], ...]  # (pattern, regex, gate: any of its alternatives opens it)
    plain: tuple[str, ...]  # every stem looked for in the folded text
    latin: tuple[str, ...]  # every stem looked for in the skeleton
    index: dict[str, tuple[tuple[int, int, int], ...]]  # stem -> (row, alternative, group) it satisfies
    find_plain: re.Pattern[str]  # at each position, the longest stem there (a trie, in C)
    find_latin: re.Pattern[str]
    within: dict[str, tuple[str, ...]]  # a stem -> every stem it holds (itself too): the shorter stems at the same place
    groups: dict[tuple[int, int], int]  # (row, alternative) -> how many groups it has


def _gate(spec: str) -> tuple[_Gate, ...]:
    """"a|b & c ; d": (a or b) and c, or else d."""
    if not spec:
        return ()
    return tuple(tuple(frozenset(x.strip() for x in group.split("|") if x.strip()) for group in alternative.split("&"))
                 for alternative in spec.split(";"))


def compile_patterns(patterns: Iterable[Pattern] = PATTERNS, *, gates: bool = True) -> CompiledPatterns:
    rows = tuple((p, re.compile(_expand(p.source)), _gate(GATES.get(p.pid, "")) if gates else ()) for p in patterns)
    index: dict[str, list[tuple[int, int, int]]] = {}
    groups: dict[tuple[int, int], int] = {}
    for r, (_, _, gate) in enumerate(rows):
        for a, alternative in enumerate(gate):
            groups[(r, a)] = len(alternative)
            for g, group in enumerate(alternative):
                for x in group:
                    index.setdefault(x, []).append((r, a, g))
    plain = tuple(sorted(x for x in index if not x.startswith("~")))
    latin = tuple(sorted(x[1:] for x in index if x.startswith("~")))
    within = {x: tuple(y for y in plain if y in x) for x in plain}
    within.update({"~" + x: tuple("~" + y for y in latin if y in x) for x in latin})
    return CompiledPatterns(rows=rows, plain=plain, latin=latin, index={x: tuple(v) for x, v in index.items()}, groups=groups,
                            find_plain=re.compile(f"(?=({_trie(plain)}))"), find_latin=re.compile(f"(?=({_trie(latin)}))"), within=within)


def _trie(words: Iterable[str]) -> str:
    """One regular expression for the words, by common prefixes: at a position it
    takes the longest word there."""
    root: dict = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        end = "" in node
        parts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 and len(parts[0]) == 1 else "(?:" + "|".join(parts) + ")"
        return body + "?" if end else body
    return build(root) or "(?!x)x"


COMPILED = compile_patterns()
_WORDS_BEFORE = re.compile(r"(?:\S+\s+){0,3}$")


def _context(category: str, folded: str, start: int, end: int) -> str:
    """Why a match at folded[start:end] does not count, or ""."""
    before = folded[max(0, start - 60):start]
    after = folded[end:end + 60]
    near_after = " ".join(after.split()[:6])
    near_before = _WORDS_BEFORE.search(before)
    nb = near_before[0] if near_before else ""
    if category in NEGATABLE and _NEG_BEFORE.search(nb) and not _IF_NOT.search(nb):
        return "negated"
    benign = _BENIGN.get(category)
    if benign is not None:
        m = benign.search(near_after)
        if m:
            return f"context: {m[0]}"
    benign_before = _BENIGN_BEFORE.get(category)
    if benign_before is not None:
        m = benign_before.search(nb)
        if m:
            return f"context: {m[0]}"
    if category == "age" and _AGE_NOT_NOW.search(nb):
        return "not a current age"
    m = _MENTION.search(folded[max(0, start - 80):start])
    if m:
        return f"a mention, not a use: {m[0]}"
    return ""


def find_indicators(texts: Iterable[tuple[str, str]], compiled: CompiledPatterns = COMPILED) -> list[Indicator]:
    """Every built-in pattern found in (field, text) pairs: the first match of each
    pattern that counts, or else its first discounted match."""
    found: dict[str, Indicator] = {}
    for field, text in texts:
        if not text:
            continue
        one = _in_text(text) if compiled is COMPILED else _in_text_with(text, compiled)
        for i in one:
            prev = found.get(i.pid)
            if prev is None or (prev.discounted and not i.discounted):
                found[i.pid] = Indicator(i.category, i.pid, i.quote, field, i.why, i.discounted, i.age)  # (dataclasses.replace cost 3 times as much)
    return list(found.values())


@functools.lru_cache(maxsize=4096)
def _in_text(text: str) -> tuple[Indicator, ...]:
    """The built-in patterns in one text (field left empty). Cached: the same words
    arrive in many reports (a forwarded message, a provider's template summary)."""
    return _in_text_with(text, COMPILED)


def _in_text_with(text: str, compiled: CompiledPatterns) -> tuple[Indicator, ...]:
    found: dict[str, Indicator] = {}
    folded = fold(text)
    present = {y for x in set(compiled.find_plain.findall(folded)) for y in compiled.within[x]}
    if _LATIN.search(folded):
        skeleton = folded.translate(_SKELETON)
        present.update(y for x in set(compiled.find_latin.findall(skeleton)) for y in compiled.within["~" + x])
    held: dict[tuple[int, int], set[int]] = {}
    for x in present:
        for r, a, g in compiled.index[x]:
            held.setdefault((r, a), set()).add(g)
    opened = {ra[0] for ra, gs in held.items() if len(gs) == compiled.groups[ra]}
    where: tuple[list[int], list[int]] | None = None
    for r, (pattern, regex, gate) in enumerate(compiled.rows):
        if gate and r not in opened:
            continue
        category = pattern.category
        for m in regex.finditer(folded):
            prev = found.get(pattern.pid)
            if prev is not None and not prev.discounted:
                break
            why_not = _context(category, folded, m.start(), m.end())
            if prev is not None and why_not:
                continue
            age = None
            if pattern.age:
                age = _age_of(pattern, m)
                if age is None:
                    continue
            if where is None:
                mapped, starts, ends = fold_with_map(text)
                where = (starts, ends) if mapped == folded else ([], [])  # (they agree; else quote the folded words)
            quote = text[where[0][m.start()]: where[1][m.end() - 1] + 1].strip() if where[0] else m[0]
            found[pattern.pid] = Indicator(category, pattern.pid, quote, "", pattern.why, why_not, age)
    return tuple(found.values())


def context_of(category: str, text: str, quote: str) -> str:
    """The context verdict for a rule set's phrase matched in `text` (quoted as `quote`)."""
    folded, q = fold(text), fold(quote)
    at = folded.find(q)
    if at < 0 or not q:
        return ""
    return _context(category, folded, at, at + len(q))
