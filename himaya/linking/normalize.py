"""Identifier normalisation (SPEC §3.3). Pure: no Django, no database.

Two reports name "the same" account, phone or device only if their identifiers
normalise to the same key. A key is `kind:scope:value`; scope is the platform for
platform-local names (a screen name means nothing outside its platform).
"""
from __future__ import annotations

import functools
import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import phonenumbers
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

# Providers known to ignore dots in the local part and/or "+tag" suffixes. Others
# may treat "a.b" and "ab" as different mailboxes, so we only fold where we know.
EMAIL_IGNORES_DOTS = frozenset({"gmail.com", "googlemail.com"})
EMAIL_PLUS_TAGS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "icloud.com", "me.com", "mac.com", "protonmail.com", "proton.me", "fastmail.com", "yandex.com", "yandex.ru",
})
EMAIL_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
EMAIL_HYPHEN_TAGS = frozenset({"yahoo.com"})  # Yahoo's disposable addresses use "-"

# Tracking parameters say nothing about the page.
URL_DROP_PARAMS = re.compile(r"^(utm_.*|fbclid|gclid|igshid|si|ref|ref_src)$", re.I)

# Device id types as providers spell them → one canonical type.
DEVICE_TYPES = {
    "imei": "IMEI", "meid": "MEID", "iccid": "ICCID", "imsi": "IMSI", "mac": "MAC", "macaddress": "MAC",
    "mac address": "MAC", "idfa": "IDFA", "idfv": "IDFV", "androidid": "ANDROID_ID", "android id": "ANDROID_ID",
    "gaid": "GAID", "serial": "SERIAL", "serialnumber": "SERIAL", "udid": "UDID",
}


@dataclass(frozen=True)
class NormalIdentifier:
    kind: str
    key: str  # what reports are matched on
    display: str  # what a person reads


def _clean(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def normalize_email(value: str) -> str | None:
    value = _clean(value).lower()
    if value.startswith("mailto:"):
        value = value[7:]
    if value.count("@") != 1:
        return None
    local, domain = value.split("@")
    domain = domain.strip(".")
    if not local or not domain or "." not in domain:
        return None
    domain = EMAIL_DOMAIN_ALIASES.get(domain, domain)
    if domain in EMAIL_PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in EMAIL_HYPHEN_TAGS:
        local = local.split("-", 1)[0]
    if domain in EMAIL_IGNORES_DOTS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def normalize_phone(value: str, *, calling_code: str = "", region: str = "") -> str | None:
    """E.164. A number without "+" is read with the report's country calling code
    or, when the report states none, the given region (the unit's country); digits
    only when it cannot be parsed.

    A calling code the provider states is never replaced by the unit's region: a
    number that is not possible under it stays under it ("+1" and digits that are
    no NANP number stay "+1…", a number of no known country) rather than becoming
    a number of this country — which would put another country's report in "ours"."""
    raw = _clean(value)
    digits = re.sub(r"[^\d+]", "", raw)
    if not re.search(r"\d", digits):
        return None
    cc = re.sub(r"\D", "", calling_code or "")
    candidates: list[tuple[str, str | None]] = []
    if digits.startswith("+") or digits.startswith("00"):
        candidates.append(("+" + digits.lstrip("+").removeprefix("00") if digits.startswith("00") else digits, None))
    elif cc:
        national = re.sub(r"\D", "", digits).lstrip("0")
        try:
            number = phonenumbers.parse(f"+{cc}{national}", None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return f"+{cc}{national}" if len(national) >= 4 else None
    elif region:
        candidates.append((digits, region.upper()))
    for text, reg in candidates:
        try:
            number = phonenumbers.parse(text, reg)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    bare = re.sub(r"\D", "", digits)
    return bare if len(bare) >= 6 else None


@functools.lru_cache(maxsize=100_000)
def phone_country(e164: str) -> str | None:
    """ISO country of an E.164 number, or None."""
    if not e164.startswith("+"):
        return None
    # A calling code that one country alone uses (every Arab country's) names it
    # without parsing the number again — what region_code_for_number does for
    # such codes. Codes are prefix-free: the first one found is the code.
    digits = e164[1:]
    if digits.isdigit() and digits[0] != "0" and 3 <= len(digits) <= 17:
        for n in (1, 2, 3):
            regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:n]))
            if regions is not None:
                if len(regions) == 1 and len(digits) - n >= 2:
                    return regions[0] if regions[0] != "ZZ" else None
                break
    return parsed_phone_country(e164)


def parsed_phone_country(e164: str) -> str | None:
    """ISO country of a number as phonenumbers says after parsing it (`phone_country`
    without its shortcut)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """`ipaddress.ip_address(text)`, the C library's inet_pton first: the text of
    an address parsed in Python was a sixth of a rebuild's normalisation. What
    inet_pton refuses goes to `ipaddress`, which raises ValueError as before (a
    hypothesis test holds the two to the same answers)."""
    try:
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except OSError:
        pass
    if ":" in text:
        try:
            return ipaddress.IPv6Address(socket.inet_pton(socket.AF_INET6, text))
        except OSError:
            pass
    return ipaddress.ip_address(text)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = _clean(value).strip("[]")
    if "%" in raw:  # zone index is local to the capturing host
        raw = raw.split("%", 1)[0]
    try:
        address = parse_ip(raw)
    except ValueError:
        # "203.0.113.5:443" — a port glued on by some providers
        host = raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw
        try:
            address = parse_ip(host)
        except ValueError:
            return None
    # ::ffff:a.b.c.d is the IPv4 host seen through a dual-stack socket. (6to4 and
    # Teredo are tunnels, not the same host: left as they are.)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address


def canonical_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The address as `ipaddress` writes it (RFC 5952 for IPv6: lower case, the
    first longest run of two or more zero groups as "::"). IPv6 through the C
    library's inet_ntop, which writes the same but for an IPv4 tail (::a.b.c.d):
    `ipaddress`'s Python formatting was an eighth of the rebuild's normalisation."""
    if address.version == 6:
        text = socket.inet_ntop(socket.AF_INET6, address.packed)
        if "." not in text:
            return text
    return address.compressed


def normalize_ip(value: str) -> str | None:
    address = _address(value)
    return canonical_ip(address) if address is not None else None


def ip_is_public(canonical: str) -> bool:
    """Private, loopback and link-local addresses name nobody outside their network."""
    try:
        address = ipaddress.ip_address(canonical)
    except ValueError:
        return False
    return _is_public(address)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified:
        return False
    # The documentation ranges are "public" for our purposes: the test and demo
    # data use them as stand-ins for subscribers (SPEC §6).
    if isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _DOC_NETS):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address in _DOC_NET6:
        return True
    # is_global also excludes carrier-grade NAT space (100.64.0.0/10): such an address
    # exists only inside one carrier and names nobody outside it.
    return address.is_global


_DOC_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
_DOC_NET6 = ipaddress.ip_network("2001:db8::/32")


def normalize_url(value: str) -> str | None:
    raw = _clean(value)
    if not raw:
        return None
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "https":
        scheme = "http"  # the same page over either scheme
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    host = host.lower().removeprefix("www.").removeprefix("m.")
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not URL_DROP_PARAMS.match(k)))
    return urlunsplit((scheme, netloc, path, query, ""))


def normalize_device(value: str, id_type: str = "") -> tuple[str, str] | None:
    """(canonical type, canonical value)."""
    kind = DEVICE_TYPES.get(_clean(id_type).lower().replace("_", " ").replace("-", " "), "") or DEVICE_TYPES.get(
        _clean(id_type).lower().replace("_", "").replace("-", "").replace(" ", ""), "")
    kind = kind or (_clean(id_type).upper()[:30] or "DEVICE")
    v = re.sub(r"[\s\-:.]", "", _clean(value)).upper()
    if not v or set(v) <= {"0"}:
        return None
    if kind in ("IMEI", "MEID") and v.isdigit() and len(v) in (15, 16):
        # IMEI = TAC+serial (14) + check digit (15) or software version (IMEISV, 16):
        # the 14 identify the device. A wrong check digit or a filler (one digit
        # repeated, 1234...) is a typo or a placeholder, not a device.
        if (len(v) == 15 and not luhn_valid(v)) or len(set(v[:14])) == 1 or v[:14] in ("12345678901234", "01234567890123"):
            return None
        v = v[:14]
        kind = "IMEI"
    if kind == "MAC" and re.fullmatch(r"[0-9A-F]{12}", v) and int(v[:2], 16) & 1:
        return None  # broadcast (FF:FF:...) or multicast: names no device
    if kind == "ICCID" and v.endswith("F"):
        v = v[:-1]
    return kind, v


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@functools.lru_cache(maxsize=4096)  # a handful of platforms, asked for every handle a rebuild extracts
def normalize_platform(value: str) -> str:
    return re.sub(r"\s+", " ", _clean(value).casefold())


def normalize_handle(value: str) -> str:
    return _clean(value).casefold().lstrip("@")


def normalize_hash(value: str) -> str | None:
    v = re.sub(r"\s", "", _clean(value)).lower()
    return v if re.fullmatch(r"[0-9a-f]{16,128}", v) else None


@functools.lru_cache(maxsize=200_000)  # recurring people name the same identifiers again and again
def normalize(kind: str, value: str, *, qualifier: str = "", platform: str = "", region: str = "") -> NormalIdentifier | None:
    """One identifier as projected (kind, value as given, qualifier) → its key, or None
    when it is not an identifier worth matching on."""
    value = value or ""
    if kind == "email":
        v = normalize_email(value)
        return NormalIdentifier("email", f"email:{v}", v) if v else None
    if kind == "phone":
        v = normalize_phone(value, calling_code=qualifier, region=region)
        return NormalIdentifier("phone", f"phone:{v}", v) if v else None
    if kind == "ip":
        address = _address(value)  # parsed once (a rebuild normalises millions)
        if address is None or not _is_public(address):
            return None
        v = canonical_ip(address)
        return NormalIdentifier("ip", f"ip:{v}", v)
    if kind == "url":
        v = normalize_url(value)
        return NormalIdentifier("url", f"url:{v}", v) if v else None
    if kind == "device":
        d = normalize_device(value, qualifier)
        return NormalIdentifier("device", f"device:{d[0]}:{d[1]}", f"{d[0]} {d[1]}") if d else None
    if kind in ("esp_id", "screen_name", "group"):
        v = normalize_handle(value)
        if not v:
            return None
        scope = normalize_platform(platform)
        return NormalIdentifier(kind, f"{kind}:{scope}:{v}", f"{v} ({platform.strip()})" if platform.strip() else v)
    if kind == "file_hash":
        v = normalize_hash(value)
        return NormalIdentifier("file_hash", f"file_hash:{v}", v) if v else None
    return None  # display names and free text are not identifiers to match on


# Screen names that many unrelated people use: matching on them merges strangers.
GENERIC_HANDLES = frozenset({
    "admin", "administrator", "user", "guest", "test", "anonymous", "anon", "unknown", "null", "none", "me",
    "love", "baby", "king", "queen", "angel", "boy", "girl", "player", "player1", "gamer", "hello", "hi",
    "مجهول", "حب", "ملك", "ملكة", "اسد", "أسد", "زائر", "مستخدم",
})


_TRAILING_NUMBER = re.compile(r"[\d_.\-]+$")


@functools.lru_cache(maxsize=65_536)  # asked twice for each screen name a rebuild extracts
def handle_is_generic(value: str) -> bool:
    v = normalize_handle(value)
    core = _TRAILING_NUMBER.sub("", v)  # "user123", "guest_7"
    return len(v) < 4 or v in GENERIC_HANDLES or core in GENERIC_HANDLES or v.isdigit() and len(v) < 6
