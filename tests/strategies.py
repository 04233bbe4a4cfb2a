"""Hypothesis strategies for CyberTipline documents, driven by the XSD.

The structure (elements, attributes, occurrence, sequence / choice / all,
enumerations, builtin types) comes from walking the packaged XSD with
xmlschema, an implementation independent of the lxml reading in
``himaya.intake.cybertip.schema``, so the two check each other. On top of the
schema we lay the rules NCMEC documents beyond it (Appendices A-C and E):
values that must be valid IPs, URLs, e-mails and country codes, dates in the
past, verified-when-dated, date ordering, e-mails of an e-mail incident also
on a person, batched-report restrictions, and so on. Every document a strategy
here produces is therefore one Himaya must accept; a rejection is a bug.

Data policy (SPEC §6): every e-mail is on example.com/.org/.net, every IP in a
documentation range (RFC 5737 / RFC 3849), every URL on an example domain;
names are drawn as arbitrary text, never from a list of real people.
"""
from __future__ import annotations

import ipaddress
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import xmlschema
from hypothesis import strategies as st
from lxml import etree

XSD_PATH = (
    Path(__file__).resolve().parents[1] / "himaya" / "intake" / "cybertip" / "cybertipline-report.xsd"
)
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = "https://report.cybertip.org/ispws/xsd"

# The spec caps nothing; three repetitions already exercise "more than one"
# while keeping a document (and Hypothesis's choice budget) small.
UNBOUNDED_CAP = 3

# Every generated instant lies before this, so "must be in the past" holds for
# any `now` from 2025 on, however long the suite keeps running.
LATEST_INSTANT = datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
EARLIEST_INSTANT = datetime(1995, 1, 1, tzinfo=UTC)

DOCUMENTATION_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("192.0.2.0/24"),  # RFC 5737 TEST-NET-1
    ipaddress.ip_network("198.51.100.0/24"),  # RFC 5737 TEST-NET-2
    ipaddress.ip_network("203.0.113.0/24"),  # RFC 5737 TEST-NET-3
    ipaddress.ip_network("2001:db8::/32"),  # RFC 3849
)
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")


# --------------------------------------------------------------------------
# The schema, compiled once into small frozen records.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SimpleType:
    builtin: str  # local name of the nearest XSD builtin: string, token, boolean, int, ...
    enumeration: tuple[str, ...] | None = None
    patterns: tuple[str, ...] = ()
    type_name: str | None = None  # the named simple type, if any ("country", "state")


@dataclass(frozen=True)
class AttributeDecl:
    name: str
    simple: SimpleType
    required: bool


@dataclass(eq=False)
class Group:
    model: str  # "sequence" | "choice" | "all"
    min_occurs: int
    max_occurs: int | None
    particles: list[ElementDecl | Group] = field(default_factory=list)


@dataclass(eq=False)
class ElementDecl:
    name: str
    type_name: str | None
    min_occurs: int
    max_occurs: int | None
    fixed: str | None
    attributes: tuple[AttributeDecl, ...] = ()
    simple: SimpleType | None = None  # simple type or simple content
    content: Group | None = None  # element-only content (possibly empty)

    def child_names(self) -> list[str]:
        """Child tags in declaration order (choice alternatives share a rank)."""
        names: list[str] = []

        def walk(group: Group) -> None:
            for particle in group.particles:
                if isinstance(particle, Group):
                    walk(particle)
                else:
                    names.append(particle.name)

        if self.content is not None:
            walk(self.content)
        return names

    def child(self, name: str) -> ElementDecl:
        def walk(group: Group) -> ElementDecl | None:
            for particle in group.particles:
                if isinstance(particle, Group):
                    found = walk(particle)
                    if found is not None:
                        return found
                elif particle.name == name:
                    return particle
            return None

        found = walk(self.content) if self.content is not None else None
        if found is None:
            raise KeyError(f"<{self.name}> declares no child <{name}>")
        return found


_XSD_NS = "{http://www.w3.org/2001/XMLSchema}"


def _simple_type(xsd_type: Any) -> SimpleType:
    type_name = xsd_type.local_name if xsd_type.name and not xsd_type.name.startswith(_XSD_NS) else None
    enumeration = tuple(xsd_type.enumeration) if getattr(xsd_type, "enumeration", None) else None
    facets = getattr(xsd_type, "patterns", None)
    patterns = tuple(str(p) for p in getattr(facets, "regexps", ()) or ())
    builtin = xsd_type
    while builtin.name is None or not builtin.name.startswith(_XSD_NS):
        builtin = builtin.base_type
    return SimpleType(
        builtin=builtin.local_name, enumeration=enumeration, patterns=patterns, type_name=type_name
    )


def _compile_element(xsd_el: Any) -> ElementDecl:
    xsd_type = xsd_el.type
    type_name = xsd_type.local_name if xsd_type.name else None
    decl = ElementDecl(
        name=xsd_el.local_name,
        type_name=type_name,
        min_occurs=xsd_el.min_occurs,
        max_occurs=xsd_el.max_occurs,
        fixed=xsd_el.fixed,
    )
    if xsd_type.is_simple():
        decl.simple = _simple_type(xsd_type)
        return decl
    decl.attributes = tuple(
        AttributeDecl(name=name, simple=_simple_type(attr.type), required=attr.use == "required")
        for name, attr in xsd_type.attributes.items()
        if name is not None
    )
    if xsd_type.has_simple_content():
        decl.simple = _simple_type(xsd_type.content)
    else:
        decl.content = _compile_group(xsd_type.content)
    return decl


def _compile_group(xsd_group: Any) -> Group:
    group = Group(
        model=xsd_group.model, min_occurs=xsd_group.min_occurs, max_occurs=xsd_group.max_occurs
    )
    for particle in xsd_group:
        if isinstance(particle, xmlschema.validators.XsdGroup):
            group.particles.append(_compile_group(particle))
        else:
            group.particles.append(_compile_element(particle))
    return group


@cache
def schema_roots() -> dict[str, ElementDecl]:
    """The four global document roots of the XSD, compiled."""
    schema = xmlschema.XMLSchema10(str(XSD_PATH))
    return {
        name: _compile_element(schema.elements[name])
        for name in ("report", "fileDetails", "reportResponse", "reportDoneResponse")
    }


def declared_names(roots: Sequence[str] | None = None) -> tuple[set[str], set[tuple[str, str]]]:
    """Every element name and every (element, attribute) pair the XSD declares
    under the given roots (all four by default)."""
    elements: set[str] = set()
    attributes: set[tuple[str, str]] = set()

    def walk(decl: ElementDecl) -> None:
        elements.add(decl.name)
        attributes.update((decl.name, a.name) for a in decl.attributes)
        if decl.content is not None:
            for name in decl.child_names():
                walk(decl.child(name))

    compiled = schema_roots()
    for root in roots or compiled:
        walk(compiled[root])
    return elements, attributes


# --------------------------------------------------------------------------
# Leaf value strategies.
# --------------------------------------------------------------------------

# Letters, marks, digits, punctuation, symbols and spaces of every script:
# this excludes C0/C1 controls, surrogates, U+FFFE/U+FFFF and unassigned code
# points, which XML 1.0 forbids or which no provider would send.
_TEXT_CHARS = st.characters(
    codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"), include_characters="&<>\"'"
)

# Texts that break naive code: RTL and mixed-direction Arabic, emoji (outside
# the BMP), XML specials including the CDATA terminator, combining marks,
# no-break and ideographic spaces, internal newlines and tabs.
CURATED_TEXTS: tuple[str, ...] = (
    "بلاغ عن حساب مشبوه",
    "حساب user_123 تم إيقافه مؤقتاً",
    "طلب المستخدم نقل المحادثة إلى تطبيق آخر",
    "مرحبا 👋🏽 كيف حالك؟",
    "🙂👍🏿👨‍👩‍👧",
    "a & b < c > d \" e ' f",
    "]]> not a CDATA end",
    "&amp; literally",
    "<report>not markup</report>",
    "Cafe\u0301 cafe\u0301",
    "\u00a0no-break\u00a0spaces\u00a0",
    "ideographic\u3000space",
    "line one\nline two",
    "windows\r\nline",
    "col1\tcol2",
    "  leading and trailing  ",
    "\u200fرسالة\u200e mixed",
    "0",
    "false",
    "null",
    "-",
)

# Names are synthetic by construction: random strings, or these invented ones.
_FIRST_NAMES = ("Samir", "Layla", "Yusuf", "Hana", "Omar", "Noor", "سامي", "ليلى", "يوسف", "هناء")
_LAST_NAMES = ("Testfamily", "Exampleson", "Placeholder", "الاختباري", "المثالي", "التجريبي")


def _nonblank(s: str) -> bool:
    return bool(s.strip())


@cache
def text(max_len: int | None = None, *, allow_empty: bool = False) -> st.SearchStrategy[str]:
    """Free text: curated edge cases, random Unicode, padded, or exactly at the
    documented maximum length (the boundary a length check must accept)."""
    limit = max_len if max_len is not None else 4000
    curated = [t for t in CURATED_TEXTS if len(t) <= limit]
    short = st.text(_TEXT_CHARS, min_size=1, max_size=min(12, limit)).filter(_nonblank)
    options: list[st.SearchStrategy[str]] = [st.sampled_from(curated), short, short]
    if limit >= 4:
        options.append(
            st.tuples(sampled((" ", "  ", "\t", "\n ")), short, sampled(("", " ", "\n")))
            .map("".join)
            .filter(lambda s: len(s) <= limit)
        )
    if max_len is not None:
        # Repeating a short seed reaches the limit cheaply. The seed avoids
        # astral characters so that "length" means the same in every language.
        seed = st.text(sampled("abcXYZ019 حمايةبلاغ-_&<>"), min_size=1, max_size=5)
        options.append(
            seed.filter(_nonblank).map(lambda s: (s * (max_len // len(s) + 1))[:max_len]).filter(_nonblank)
        )
    strategy = st.one_of(*options)
    if allow_empty:
        strategy = st.one_of(st.sampled_from(("", " ", "\n\t")), strategy, strategy, strategy)
    return strategy


@cache
def token_text(max_len: int = 40) -> st.SearchStrategy[str]:
    """xs:token: no leading/trailing/double spaces, no tabs or newlines."""
    return st.text(
        sampled(string.ascii_letters + string.digits + "-_.:"), min_size=1, max_size=max_len
    )


@cache
def sampled(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """sampled_from, built once per tuple: building strategies is what makes
    a draw-heavy composite slow."""
    return st.sampled_from(values)


_BOOLEANS = st.booleans()
# Repetition counts, weighted towards "none or one" so that documents stay small.
_COUNTS: dict[tuple[int, int], st.SearchStrategy[int]] = {
    (lo, hi): st.sampled_from(tuple(range(lo, hi + 1)) + (lo,) * 2 + ((lo + 1,) if lo < hi else ()))
    for lo in (0, 1)
    for hi in (1, 2, 3)
    if hi >= lo
}
_ONE_IN_THREE = st.integers(0, 2)
_ONE_IN_EIGHT = st.integers(0, 7)
_WIDE = st.integers(0, 2**20 - 1)
_TARGET_COUNTS = st.integers(1, 4)
_ONE_IN_FOUR = st.integers(0, 3)
_ONE_IN_FIVE = st.integers(0, 4)


@cache
def booleans_lexical() -> st.SearchStrategy[str]:
    return sampled(("true", "false", "1", "0"))


@cache
def true_lexical() -> st.SearchStrategy[str]:
    return sampled(("true", "1"))


@cache
def int_lexical(lo: int, hi: int) -> st.SearchStrategy[str]:
    """An integer in [lo, hi] in any xs:int/xs:long spelling: plain, with a
    plus sign, or with leading zeros."""

    def spell(pair: tuple[int, int]) -> str:
        value, style = pair
        if style == 1 and value >= 0:
            return f"+{value}"
        if style == 2 and value >= 0:
            return f"00{value}"
        return str(value)

    return st.tuples(st.integers(lo, hi), sampled((0, 0, 0, 1, 2))).map(spell)


@cache
def double_lexical(lo: float, hi: float) -> st.SearchStrategy[str]:
    """An xs:double in [lo, hi], spelled as fixed point, exponent, integer,
    with a plus sign or a bare leading/trailing point."""

    def spell(pair: tuple[float, int]) -> str:
        value, style = pair
        forms = [
            f"{value:.6f}",
            f"{value:.4E}",
            repr(value),
            f"{value:+.3f}",
            f"{value:.2f}".replace("0.", ".", 1) if 0 < value < 1 else f"{value:.1f}",
            f"{round(value)}." if abs(value) >= 1 else "0.",
            str(int(value)),
        ]
        return forms[style % len(forms)]

    return st.tuples(
        st.floats(lo, hi, allow_nan=False, allow_infinity=False), st.integers(0, 6)
    ).map(spell)


_OFFSETS = ("Z", "+00:00", "+03:00", "-05:00", "+02:00", "+01:00", "+05:30", "-09:30", "+14:00", "-12:00", "+04:00")


@cache
def instants(
    lo: datetime = EARLIEST_INSTANT, hi: datetime = LATEST_INSTANT
) -> st.SearchStrategy[datetime]:
    span = int((hi - lo).total_seconds() * 1000)
    return st.integers(0, span).map(lambda ms: lo + timedelta(milliseconds=ms))


def format_instant(instant: datetime, offset: str, fraction_digits: int) -> str:
    """xs:dateTime lexical form of `instant` as seen from `offset`."""
    if offset == "Z":
        tz: timezone = UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    local = instant.astimezone(tz)
    text_ = local.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        text_ += "." + f"{local.microsecond:06d}"[:fraction_digits]
    return text_ + offset


def datetime_lexical_of(instant: datetime) -> st.SearchStrategy[str]:
    # Fractions are truncated: give whole-second instants where an ordering
    # between two values matters.
    return st.tuples(sampled(_OFFSETS), sampled((0, 0, 1, 3, 6))).map(
        lambda pair: format_instant(instant, pair[0], pair[1])
    )


@cache
def past_datetimes() -> st.SearchStrategy[str]:
    return st.tuples(instants(), sampled(_OFFSETS), sampled((0, 0, 1, 3, 6))).map(
        lambda t: format_instant(t[0], t[1], t[2])
    )


@cache
def past_dates() -> st.SearchStrategy[str]:
    # xs:date with no zone: the docs ask for an "ISO 8601 date" and a zone on a
    # calendar date is rare enough that providers do not send one.
    return st.dates(date(1930, 1, 1), date(2024, 12, 30)).map(date.isoformat)


@cache
def ip_addresses() -> st.SearchStrategy[str]:
    """IPv4, IPv6 (compressed, full, upper case) and IPv4-mapped IPv6, all in
    documentation ranges."""
    v4 = st.tuples(sampled(("192.0.2", "198.51.100", "203.0.113")), st.integers(0, 255)).map(
        lambda t: f"{t[0]}.{t[1]}"
    )
    v6_int = st.integers(0, 2**96 - 1).map(lambda low: ipaddress.IPv6Address((0x20010DB8 << 96) | low))
    v6 = st.tuples(v6_int, st.integers(0, 2)).map(
        lambda t: [t[0].compressed, t[0].exploded, t[0].compressed.upper()][t[1]]
    )
    mapped = v4.map(lambda a: f"::ffff:{a}")
    return st.one_of(v4, v4, v6, mapped)


_EMAIL_LOCAL = st.text(sampled(string.ascii_lowercase + string.digits), min_size=1, max_size=10)


@cache
def emails() -> st.SearchStrategy[str]:
    local = st.tuples(
        _EMAIL_LOCAL, sampled(("", ".", "_", "+", "-")), _EMAIL_LOCAL.filter(lambda s: len(s) < 6)
    ).map(lambda t: t[0] + (t[1] + t[2] if t[1] else ""))
    domain = st.tuples(sampled(("", "mail.", "users.")), sampled(EXAMPLE_DOMAINS)).map("".join)
    return st.tuples(local, domain).map(lambda t: f"{t[0]}@{t[1]}")


_PATH_SEGMENT = st.one_of(
    st.text(sampled(string.ascii_letters + string.digits + "-_."), min_size=1, max_size=8),
    sampled(("%D8%A8%D9%84%D8%A7%D8%BA", "u%2Fx", "p%20q", "~user")),
)


@cache
def urls() -> st.SearchStrategy[str]:
    """http(s) URLs on example domains, with ports, paths, queries (whose &
    the XML must escape) and fragments."""
    host = st.tuples(sampled(("", "www.", "cdn.", "m.")), sampled(EXAMPLE_DOMAINS)).map("".join)
    port = sampled(("", "", "", ":8080", ":443"))
    path = st.lists(_PATH_SEGMENT, max_size=3).map(lambda segs: "/" + "/".join(segs))
    query = sampled(("", "", "?id=42", "?a=1&b=2", "?q=%D8%B7%D9%81%D9%84&lang=ar"))
    fragment = sampled(("", "", "#top"))
    return st.tuples(sampled(("http", "https")), host, port, path, query, fragment).map(
        lambda t: f"{t[0]}://{t[1]}{t[2]}{t[3]}{t[4]}{t[5]}"
    )


# Real calling codes, so a checker that knows the numbering plan is not
# confused by an impossible code.
CALLING_CODES = ("+1", "+20", "+44", "+49", "+212", "+216", "+961", "+962", "+964", "+966", "+970", "+971", "+972")


@cache
def phone_numbers() -> st.SearchStrategy[str]:
    """Phone texts: fictional ranges where they exist (NANP 555-0100..0199,
    Ofcom drama 07700 900xxx, 020 7946 0xxx), otherwise digit strings of a
    plausible national shape that are not meant to reach anyone."""
    fictional = st.one_of(
        st.integers(100, 199).map(lambda n: f"202-555-0{n}"),
        st.integers(0, 999).map(lambda n: f"07700 900{n:03d}"),
        st.integers(0, 999).map(lambda n: f"020 7946 0{n:03d}"),
    )
    national = st.tuples(
        sampled(("0", "(0", "0")),
        st.text(sampled(string.digits), min_size=7, max_size=11),
        sampled(("", " ", "-")),
    ).map(lambda t: t[0] + (t[1][:3] + ")" if t[0] == "(0" else t[1][:3]) + t[2] + t[1][3:])
    return st.one_of(fictional, national)


@cache
def _enumeration(type_name: str) -> tuple[str, ...]:
    for root in schema_roots().values():
        found = _find_enum(root, type_name, set())
        if found is not None:
            return found
    raise KeyError(type_name)


def _find_enum(decl: ElementDecl, type_name: str, seen: set[int]) -> tuple[str, ...] | None:
    if id(decl) in seen:
        return None
    seen.add(id(decl))
    candidates = [decl.simple] + [a.simple for a in decl.attributes]
    for simple in candidates:
        if simple is not None and simple.type_name == type_name and simple.enumeration is not None:
            return simple.enumeration
    if decl.content is not None:
        for name in decl.child_names():
            found = _find_enum(decl.child(name), type_name, seen)
            if found is not None:
                return found
    return None


# Enumerated in the XSD but not ISO 3166-1 alpha-2 codes in use (GeoIP
# pseudo-codes, the EU, withdrawn or user-assigned codes) or empty: the
# documented rule "must be a valid ISO 3166-1 alpha-2 country code" excludes them.
NON_ISO_COUNTRY_VALUES = frozenset({"", "A1", "A2", "O1", "AP", "EU", "AN", "FX", "XK"})


@cache
def iso_countries() -> tuple[str, ...]:
    return tuple(c for c in _enumeration("country") if c not in NON_ISO_COUNTRY_VALUES)


@cache
def us_states() -> tuple[str, ...]:
    return tuple(s for s in _enumeration("state") if s)


# Documented maximum lengths (Appendices A-C), by element or attribute name.
# Where one name has two limits in different places the smaller one is used.
MAX_LENGTHS: dict[str, int] = {
    "platform": 256, "escalateToHighPriority": 3000, "incidentDateTimeDescription": 3000,
    "name": 64, "chatClient": 255, "chatRoomName": 255, "gameName": 255, "console": 255,
    "locationName": 255, "client": 255, "agencyName": 255, "caseNumber": 100,
    "firstName": 100, "lastName": 100, "middleName": 256, "address": 255, "city": 100,
    "zipCode": 20, "nonUsaState": 100, "region": 255, "vehicleDescription": 300,
    "espIdentifier": 255, "espService": 100, "screenName": 256, "displayName": 255,
    "groupIdentifier": 255, "schoolName": 255, "idType": 255, "idValue": 2083,
    "originalFileName": 2056, "hashType": 64, "phone": 50, "phoneNumber": 50,
    "fileName": 2056,
}

# Free-text fields where an empty element is plausible and carries no rule.
EMPTY_OK = frozenset(
    {"additionalInfo", "content", "profileBio", "companyTemplate", "termsOfService", "fileNames", "value"}
)

_EXTENSIONS = st.text(st.sampled_from(string.digits), min_size=1, max_size=10)
_DEVICE_IDS = st.one_of(st.text(st.sampled_from(string.digits), min_size=15, max_size=20), text(2083))
_HASH_TYPES = st.one_of(st.sampled_from(("MD5", "SHA1", "SHA256", "PDQ")), text(64))
_URL_FIELDS = frozenset({"url", "profileUrl", "legalURL", "locationOfFile"})
_EMAIL_TYPES = frozenset({"email"})
_PHONE_TYPES = frozenset({"phone"})


# --------------------------------------------------------------------------
# The generic walker.
# --------------------------------------------------------------------------

Path_ = tuple[str, ...]


@dataclass
class Mode:
    """What the surrounding document allows: rule overlays by path."""

    root: str
    prior_ids: tuple[int, ...] = ()
    batched: bool = False
    report_id: int | None = None
    file_id: str | None = None


# Paths that must not appear in a VIRAL_POTENTIAL_MEME report (Appendix E.1).
_BATCHED_FORBIDDEN_REPORT = frozenset(
    {
        ("report", "incidentSummary", "escalateToHighPriority"),
        ("report", "internetDetails"),
        ("report", "lawEnforcement"),
        ("report", "intendedRecipient"),
        ("report", "victim"),
        ("report", "additionalInfo"),
    }
)
_BATCHED_FORBIDDEN_FILE = frozenset(
    {"originalFileName", "locationOfFile", "originalFileHash", "ipCaptureEvent", "deviceId", "details", "additionalInfo", "potentialMeme"}
)
_FILE_ANNOTATIONS_BATCHED = frozenset({"viral", "potentialMeme"})


@cache
def declared_paths(root: str) -> tuple[Path_, ...]:
    """Every element path (and attribute path, ending in "@name") under a root."""
    found: list[Path_] = []

    def walk(decl: ElementDecl, path: Path_) -> None:
        found.append(path)
        found.extend(path + ("@" + a.name,) for a in decl.attributes)
        if decl.content is not None:
            for name in decl.child_names():
                walk(decl.child(name), path + (name,))

    walk(schema_roots()[root], (root,))
    return tuple(found)


@cache
def coverage_keys(root: str) -> tuple[tuple[Path_, ...], ...]:
    """The declared paths grouped by what a coverage check counts: an element
    name, or an (element, attribute) pair. Drawing a group first gives a name
    declared in one place (phoneNumber/@extension) the same chance as one
    declared in forty (email)."""
    groups: dict[str | tuple[str, str], list[Path_]] = {}
    for path in declared_paths(root):
        key: str | tuple[str, str] = (path[-2], path[-1][1:]) if path[-1].startswith("@") else path[-1]
        groups.setdefault(key, []).append(path)
    return tuple(tuple(paths) for _, paths in sorted(groups.items(), key=lambda kv: str(kv[0])))


class _Walker:
    def __init__(
        self,
        draw: Callable[[st.SearchStrategy[Any]], Any],
        mode: Mode,
        targets: Sequence[Path_] = (),
        *,
        full: bool = False,
    ) -> None:
        self.draw = draw
        self.mode = mode
        # Paths this document must contain if its mode allows them, with all
        # their ancestors: left to chance alone, an element three optional
        # levels down behind an eight-way choice can be missed by 300 examples.
        self.forced: set[Path_] = {t[:i] for t in targets for i in range(1, len(t) + 1)}
        # A "full" document has every optional part its mode allows, and its
        # repeated choices take different branches: the large-document case,
        # and a floor under coverage that does not depend on luck.
        self.full: bool = full
        self._branches_used: dict[Path_, set[str]] = {}

    # -- occurrence ------------------------------------------------------

    def occurs(self, decl: ElementDecl, path: Path_) -> int:
        lo, hi = decl.min_occurs, decl.max_occurs
        hi = UNBOUNDED_CAP if hi is None else hi
        mode = self.mode
        name = decl.name
        if name in ("priorCTReports", "priorCTReport") and not mode.prior_ids:
            return 0
        if mode.root == "report":
            if mode.batched:
                if path in _BATCHED_FORBIDDEN_REPORT:
                    return 0
                if path == ("report", "batchedReport"):
                    return 1
                if path == ("report", "personOrUserReported"):
                    lo = 1
                if path[:2] == ("report", "personOrUserReported") and len(path) == 3:
                    return 1 if name == "espIdentifier" else 0
            else:
                if path == ("report", "batchedReport"):
                    return 0
                if path == ("report", "personOrUserReported"):
                    hi = 1
        elif mode.root == "fileDetails" and mode.batched and len(path) == 2:
            if name in _BATCHED_FORBIDDEN_FILE:
                return 0
            if name == "fileAnnotations":
                return 1
        elif mode.root == "fileDetails" and mode.batched and path[-2:-1] == ("fileAnnotations",):
            # Only viral / potentialMeme; at least one is ensured afterwards.
            if name not in _FILE_ANNOTATIONS_BATCHED:
                return 0
        if self.full:
            repeat_choice = decl.content is not None and decl.content.model == "choice"
            return hi if repeat_choice else max(lo, 1)
        if path in self.forced:
            lo = max(lo, 1)
        if lo == hi:
            return lo
        # Deep, optional parts appear less often: a document stays around a
        # hundred elements, and 300 examples still reach every declaration.
        deep = len(path) > 4
        if hi == 1:
            return int(self.draw(_ONE_IN_THREE) == 0) if deep else int(self.draw(_BOOLEANS))
        return self.draw(_COUNTS[(lo, 2 if deep else hi)])

    # -- values ----------------------------------------------------------

    def value(self, name: str, simple: SimpleType, path: Path_, *, fixed: str | None = None) -> str:
        draw = self.draw
        mode = self.mode
        if fixed is not None:
            # libxml2 compares a fixed value lexically, so "1" would be refused;
            # an empty element takes the fixed value.
            return draw(sampled((fixed, "")))
        if name == "reportId" and mode.root == "fileDetails" and mode.report_id is not None:
            return str(mode.report_id)
        if name == "fileId" and mode.root == "fileDetails" and mode.file_id is not None:
            return mode.file_id
        if name in ("priorCTReports", "priorCTReport"):
            return str(draw(sampled(mode.prior_ids)))
        if simple.enumeration is not None:
            if simple.type_name == "country":
                return draw(sampled(iso_countries()))
            if simple.type_name == "state":
                return draw(sampled(us_states()))
            return draw(sampled(simple.enumeration))
        if name == "ipAddress":
            return draw(ip_addresses())
        if name in _URL_FIELDS:
            return draw(urls())
        if name in ("age", "approximateAge"):
            return draw(int_lexical(0, 150))
        if name == "port":
            return draw(int_lexical(1, 65535))
        if name == "latitude":
            return draw(double_lexical(-90.0, 90.0))
        if name == "longitude":
            return draw(double_lexical(-180.0, 180.0))
        if name == "countryCallingCode":
            return draw(sampled(CALLING_CODES))
        if name == "extension":
            return draw(_EXTENSIONS)
        if name == "hashType":
            return draw(_HASH_TYPES)
        if name == "idValue":
            return draw(_DEVICE_IDS)
        if name == "firstName" and draw(_BOOLEANS):
            return draw(sampled(_FIRST_NAMES))
        if name == "lastName" and draw(_BOOLEANS):
            return draw(sampled(_LAST_NAMES))
        builtin = simple.builtin
        if builtin == "boolean":
            return draw(booleans_lexical())
        if builtin == "dateTime":
            return draw(past_datetimes())
        if builtin == "date":
            return draw(past_dates())
        if builtin == "int":
            return draw(int_lexical(-(2**31), 2**31 - 1))
        if builtin == "long":
            return draw(int_lexical(1, 2**63 - 1))
        if builtin == "double":
            return draw(double_lexical(-1e6, 1e6))
        if builtin == "token":
            return draw(token_text())
        return draw(text(MAX_LENGTHS.get(name), allow_empty=name in EMPTY_OK))

    def element_text(self, decl: ElementDecl, path: Path_) -> str:
        assert decl.simple is not None
        if decl.type_name in _EMAIL_TYPES:
            return self.draw(emails())
        if decl.type_name in _PHONE_TYPES:
            return self.draw(phone_numbers())
        return self.value(decl.name, decl.simple, path, fixed=decl.fixed)

    # -- structure -------------------------------------------------------

    def element(self, decl: ElementDecl, path: Path_) -> etree._Element:
        el = etree.Element(decl.name)
        for attr in decl.attributes:
            wanted = attr.required or self.full or path + ("@" + attr.name,) in self.forced
            if wanted or self.draw(_BOOLEANS):
                el.set(attr.name, self.value(attr.name, attr.simple, path + ("@" + attr.name,)))
        if decl.simple is not None:
            el.text = self.element_text(decl, path)
        elif decl.content is not None:
            self.fill(el, decl.content, path)
        fixer = _FIXERS.get(decl.type_name or decl.name)
        if fixer is not None:
            fixer(self, el, decl, path)
        return el

    def fill(self, el: etree._Element, group: Group, path: Path_) -> None:
        if group.model == "choice":
            options = group.particles
            if self.mode.root == "fileDetails" and self.mode.batched:
                # A batched file is annotated through <fileAnnotations>, not
                # the legacy top-level <potentialMeme>.
                options = [p for p in options if not isinstance(p, ElementDecl) or p.name != "potentialMeme"]
            wanted = [p for p in options if isinstance(p, ElementDecl) and path + (p.name,) in self.forced]
            if self.full:
                used = self._branches_used.setdefault(path, set())
                wanted = [p for p in options if isinstance(p, ElementDecl) and p.name not in used]
            branch = self.draw(st.sampled_from(wanted or options))
            if isinstance(branch, ElementDecl):
                self._branches_used.setdefault(path, set()).add(branch.name)
            particles: list[ElementDecl | Group] = [branch]
        elif group.model == "all":
            particles = list(self.draw(st.permutations(group.particles)))
        else:
            particles = list(group.particles)
        for particle in particles:
            if isinstance(particle, Group):
                self.fill(el, particle, path)
                continue
            child_path = path + (particle.name,)
            for _ in range(self.occurs(particle, child_path)):
                el.append(self.element(particle, child_path))


def insert_in_order(parent: etree._Element, parent_decl: ElementDecl, child: etree._Element) -> None:
    """Insert `child` where the parent's sequence wants it: after its own kind."""
    order = {name: rank for rank, name in enumerate(parent_decl.child_names())}
    rank = order[child.tag]
    for position, existing in enumerate(parent):
        if order.get(existing.tag, -1) > rank:
            parent.insert(position, child)
            return
    parent.append(child)


# --------------------------------------------------------------------------
# Rule overlays, run on each element right after it is built.
# --------------------------------------------------------------------------

Fixer = Callable[[_Walker, etree._Element, ElementDecl, Path_], None]


def _fix_verified(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    # "verified must be true when verificationDate is supplied"
    if el.get("verificationDate") is not None:
        el.set("verified", w.draw(true_lexical()))


def _fix_phone(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    _fix_verified(w, el, decl, path)
    code = el.get("countryCallingCode")
    number = el.text or ""
    if code is not None:
        digits = code.lstrip("+")
        bare = number.lstrip("+( ")
        # "must not start with the country calling code"
        if number.startswith("+") or bare.startswith(digits):
            el.text = "0" + bare
    elif w.draw(_ONE_IN_FIVE) == 0:
        # International form is fine when no separate code is given.
        el.text = w.draw(sampled(CALLING_CODES)) + " " + number.lstrip("0(").replace(")", "")


def _fix_disabled(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    # disabledDate <= userNotifiedDate, disabledDate < reenabledDate, all past.
    names = [n for n in ("disabledDate", "userNotifiedDate", "reenabledDate") if el.get(n) is not None]
    if not names:
        return
    # Whole seconds: the lexical forms truncate fractions independently, which
    # could put an "equal" notification a millisecond before the disabling.
    base = w.draw(instants(hi=LATEST_INSTANT - timedelta(days=30))).replace(microsecond=0)
    # Zero delay for the notification is allowed ("on or after"); exercise it.
    notified = base + timedelta(seconds=w.draw(sampled((0, 0, 1, 3600, 86400 * 3))))
    reenabled = base + timedelta(seconds=w.draw(sampled((1, 60, 86400, 86400 * 20))))
    when = {"disabledDate": base, "userNotifiedDate": notified, "reenabledDate": reenabled}
    for name in names:
        el.set(name, w.draw(datetime_lexical_of(when[name])))


def _fix_estimated_location(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    country = el.find("countryCode")
    if country is None:
        country = etree.Element("countryCode")
        country.text = w.draw(sampled(("US",) + iso_countries()))
        el.append(country)
    if country.text == "US":
        region = el.find("region")
        if region is not None:
            region.text = w.draw(sampled(us_states()))
        elif el.find("city") is not None:
            region = etree.Element("region")
            region.text = w.draw(sampled(us_states()))
            insert_in_order(el, decl, region)


def _fix_associated_account(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    age, born = el.find("approximateAge"), el.find("dateOfBirth")
    if age is not None and born is not None:
        el.remove(w.draw(sampled((age, born))))


def _fix_person(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    if path[-1] == "reportingPerson" and el.find("email") is None:
        email = etree.Element("email")
        email.text = w.draw(emails())
        insert_in_order(el, decl, email)


def _fix_batched_report(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    el.set("reason", "VIRAL_POTENTIAL_MEME")


def _fix_file_annotations(w: _Walker, el: etree._Element, decl: ElementDecl, path: Path_) -> None:
    if w.mode.batched and el.find("viral") is None and el.find("potentialMeme") is None:
        tag = w.draw(sampled(tuple(sorted(_FILE_ANNOTATIONS_BATCHED))))
        mark = etree.SubElement(el, tag)
        mark.text = w.draw(sampled(("true", "")))


_FIXERS: dict[str, Fixer] = {
    "email": _fix_verified,
    "phone": _fix_phone,
    "accountTemporarilyDisabled": _fix_disabled,
    "accountPermanentlyDisabled": _fix_disabled,
    "estimatedLocation": _fix_estimated_location,
    "associatedAccount": _fix_associated_account,
    "person": _fix_person,
    "batchedReport": _fix_batched_report,
    "fileAnnotations": _fix_file_annotations,
}


# Whole-document rules that relate distant elements.

_PERSON_HOLDERS = (
    ("personOrUserReported", "personOrUserReportedPerson"),
    ("intendedRecipient", "intendedRecipientPerson"),
    ("victim", "victimPerson"),
)


def _fix_report(w: _Walker, root: etree._Element, decl: ElementDecl) -> None:
    # E-mails of an e-mail or newsgroup incident must also be given for the
    # reported person, an intended recipient or a victim.
    incident_emails = root.xpath(
        "internetDetails/emailIncident/emailAddress | internetDetails/newsgroupIncident/emailAddress"
    )
    known = {e.text for e in root.xpath("*/personOrUserReportedPerson/email | */intendedRecipientPerson/email | */victimPerson/email")}
    missing = [e.text for e in incident_emails if e.text not in known]
    if not missing:
        return
    persons: list[tuple[etree._Element, ElementDecl]] = []
    for holder_tag, person_tag in _PERSON_HOLDERS:
        holder_decl = decl.child(holder_tag)
        for holder in root.findall(holder_tag):
            person = holder.find(person_tag)
            if person is None:
                person = etree.Element(person_tag)
                insert_in_order(holder, holder_decl, person)
            persons.append((person, holder_decl.child(person_tag)))
    if not persons:
        holder = etree.Element("personOrUserReported")
        holder_decl = decl.child("personOrUserReported")
        person = etree.SubElement(holder, "personOrUserReportedPerson")
        insert_in_order(root, decl, holder)
        persons.append((person, holder_decl.child("personOrUserReportedPerson")))
    for address in dict.fromkeys(missing):
        person, person_decl = w.draw(st.sampled_from(persons))
        email = etree.Element("email")
        email.text = address
        insert_in_order(person, person_decl, email)


def _fix_file_details(w: _Walker, root: etree._Element, decl: ElementDecl) -> None:
    exif = root.find("exifViewedByEsp")
    if exif is not None and exif.text in ("true", "1"):
        viewed = root.find("fileViewedByEsp")
        if viewed is None:
            viewed = etree.Element("fileViewedByEsp")
            insert_in_order(root, decl, viewed)
        viewed.text = w.draw(true_lexical())
    relevance = root.find("fileRelevance")
    # Only "Reported" files may carry a meme/viral annotation or a
    # classification; batched files must be "Reported".
    marked = (
        w.mode.batched
        or root.find("potentialMeme") is not None
        or root.find("industryClassification") is not None
        or root.find("fileAnnotations/potentialMeme") is not None
        or root.find("fileAnnotations/viral") is not None
    )
    if relevance is not None and marked:
        relevance.text = "Reported"


# --------------------------------------------------------------------------
# Public strategies.
# --------------------------------------------------------------------------


def _serialize(draw: Callable[[st.SearchStrategy[Any]], Any], root: etree._Element) -> bytes:
    if draw(_ONE_IN_FOUR) == 0:
        # The schema location attribute NCMEC's own example carries.
        tree_root = etree.Element(root.tag, nsmap={"xsi": XSI})
        tree_root.set(f"{{{XSI}}}noNamespaceSchemaLocation", SCHEMA_LOCATION)
        for k, v in root.attrib.items():
            tree_root.set(k, v)
        tree_root.extend(list(root))
        root = tree_root
    if draw(_ONE_IN_FOUR) == 0:
        # CDATA is another spelling of the same text; the tree must not care.
        for el in root.iter():
            if len(el) == 0 and el.text and ("<" in el.text or "&" in el.text) and "]]>" not in el.text:
                el.text = etree.CDATA(el.text)
    pretty = draw(_BOOLEANS)
    body = etree.tostring(root, encoding="UTF-8", pretty_print=pretty)
    declaration = draw(sampled(_DECLARATIONS))
    return declaration + body


# lxml's own spelling, NCMEC's, and NCMEC's after a Windows editor (BOM, CRLF).
_DECLARATIONS = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n",
    b'<?xml version="1.0" encoding="UTF-8"?>\n',
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\r\n',
)


@st.composite
def _document(draw: Callable[[st.SearchStrategy[Any]], Any], mode: Mode, cover: int | None = None) -> bytes:
    decl = schema_roots()[mode.root]
    keys = coverage_keys(mode.root)
    if cover is not None:
        # A deterministic sweep: the coverage test asks for each group in turn.
        targets = [draw(sampled(keys[cover % len(keys)]))]
    else:
        # Wide integers reduced modulo: Hypothesis biases small integers and the
        # ends of a sampled_from, and a target must be near-uniform to be useful.
        targets = [
            draw(sampled(keys[draw(_WIDE) % len(keys)])) for _ in range(draw(_TARGET_COUNTS))
        ]
    walker = _Walker(draw, mode, targets, full=draw(_ONE_IN_EIGHT) == 0)
    root = walker.element(decl, (mode.root,))
    if mode.root == "report":
        _fix_report(walker, root, decl)
    elif mode.root == "fileDetails":
        _fix_file_details(walker, root, decl)
    return _serialize(draw, root)


def report_documents(*, prior_ids: tuple[int, ...] = (), cover: int | None = None) -> st.SearchStrategy[bytes]:
    """Complete, valid, non-batched `<report>` documents. `prior_ids` are the
    CyberTipline report ids that exist; priorCTReports only ever cite them.
    `cover=i` forces the i-th coverage group (see `coverage_keys`) into the document."""
    return _document(Mode(root="report", prior_ids=tuple(prior_ids)), cover)


def batched_report_documents(*, prior_ids: tuple[int, ...] = ()) -> st.SearchStrategy[bytes]:
    """Valid VIRAL_POTENTIAL_MEME batched `<report>` documents (Appendix E.1)."""
    return _document(Mode(root="report", prior_ids=tuple(prior_ids), batched=True))


def file_details_documents(
    *, report_id: int, file_id: str, batched: bool = False, cover: int | None = None
) -> st.SearchStrategy[bytes]:
    """Valid `<fileDetails>` documents for an uploaded file; `batched` applies
    the file rules of a VIRAL_POTENTIAL_MEME report."""
    return _document(Mode(root="fileDetails", report_id=report_id, file_id=file_id, batched=batched), cover)


def response_documents() -> st.SearchStrategy[bytes]:
    """`<reportResponse>` and `<reportDoneResponse>` documents (what Himaya
    answers), so that every element the XSD declares has a generator."""
    return st.one_of(_document(Mode(root="reportResponse")), _document(Mode(root="reportDoneResponse")))
