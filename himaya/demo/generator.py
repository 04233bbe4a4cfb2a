"""Realistic synthetic CyberTipline reports for demos, load tests and seeding.

What a national unit in the Arab region (Palestine by default) might receive
from a handful of platforms in a few months: mostly file uploads, then
grooming, sextortion and solicitation conversations, a few escalations, some
viral/meme batched reports, and suspects who come back under the same phone,
e-mail or device so that linking has something to find.

Data policy (SPEC §6) is built in, not hoped for:

* people are invented: common first names with family names that mean
  "sample", "example" or "test" (المثالي، التجريبي، Sampleton...);
* e-mails are on example.com / example.org / example.net (or their subdomains);
* IP addresses come only from the documentation ranges (RFC 5737, RFC 3849).
  We were not confident enough of any large ISP's range in PS, EG, JO or SA to
  use real ones, so each country gets its own slice of the documentation
  ranges instead (COUNTRY_NETWORKS): "a PS address" is still recognisable, and
  nothing points at a real subscriber;
* phone numbers use fiction ranges where they exist (NANP 555-0100..0199,
  Ofcom drama 07700 900xxx); elsewhere they are valid in format only for the
  country's mobile plan (checked with the phonenumbers library), with a
  subscriber part starting 00, and are not known to be unallocated;
* IMEIs carry reporting-body identifier 00 (test IMEIs) with a valid Luhn
  digit; ICCIDs use issuer 00;
* images are the BSD-licensed benign test pictures shipped beside this module
  (a bridge, squares); chat content is described the way a moderator would
  summarise it, abstractly, and nothing sexual is described.

No Django, no Hypothesis: stdlib random with a seed, lxml and Pillow.
"""
from __future__ import annotations

import hashlib
import io
import ipaddress
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from lxml import etree
from PIL import Image

IMAGES_DIR = Path(__file__).with_name("images")
IMAGE_NAMES: tuple[str, ...] = (
    "blur-a-lot.jpg",
    "mode-1.png",
    "shrink-a-lot.jpg",
    "small.jpg",
    "square-128x128.jpg",
    "square-256x256.jpg",
    "square-512x512.jpg",
    "wee.jpg",
)

HOME_COUNTRY = "PS"

# Per-country slices of the documentation ranges: a convention of this
# generator, not geolocation. Twelve /26s tile the three TEST-NETs exactly.
COUNTRY_NETWORKS: dict[str, tuple[ipaddress.IPv4Network, ipaddress.IPv6Network]] = {
    country: (ipaddress.ip_network(v4), ipaddress.ip_network(f"2001:db8:{index + 1:x}::/48"))
    for index, (country, v4) in enumerate(
        [
            ("PS", "192.0.2.0/26"),
            ("EG", "192.0.2.64/26"),
            ("JO", "192.0.2.128/26"),
            ("SA", "192.0.2.192/26"),
            ("AE", "198.51.100.0/26"),
            ("MA", "198.51.100.64/26"),
            ("TN", "198.51.100.128/26"),
            ("LB", "198.51.100.192/26"),
            ("IQ", "203.0.113.0/26"),
            ("US", "203.0.113.64/26"),
            ("GB", "203.0.113.128/26"),
            ("DE", "203.0.113.192/26"),
        ]
    )
}

# Where reported people are, for a unit in Palestine: mostly at home, then
# neighbours and the diaspora.
COUNTRY_WEIGHTS: dict[str, int] = {
    "PS": 45, "EG": 9, "JO": 10, "SA": 6, "AE": 5, "MA": 3, "TN": 3, "LB": 4, "IQ": 4, "US": 5, "GB": 3, "DE": 3,
}

# (English, Arabic, US state or None). Real cities; no addresses.
CITIES: dict[str, list[tuple[str, str, str | None]]] = {
    "PS": [("Ramallah", "رام الله", None), ("Nablus", "نابلس", None), ("Hebron", "الخليل", None),
           ("Gaza", "غزة", None), ("Bethlehem", "بيت لحم", None), ("Jenin", "جنين", None),
           ("Jericho", "أريحا", None), ("Tulkarm", "طولكرم", None), ("Qalqilya", "قلقيلية", None)],
    "EG": [("Cairo", "القاهرة", None), ("Alexandria", "الإسكندرية", None), ("Giza", "الجيزة", None)],
    "JO": [("Amman", "عمّان", None), ("Irbid", "إربد", None), ("Zarqa", "الزرقاء", None)],
    "SA": [("Riyadh", "الرياض", None), ("Jeddah", "جدة", None), ("Dammam", "الدمام", None)],
    "AE": [("Dubai", "دبي", None), ("Abu Dhabi", "أبوظبي", None), ("Sharjah", "الشارقة", None)],
    "MA": [("Casablanca", "الدار البيضاء", None), ("Rabat", "الرباط", None), ("Fes", "فاس", None)],
    "TN": [("Tunis", "تونس", None), ("Sfax", "صفاقس", None), ("Sousse", "سوسة", None)],
    "LB": [("Beirut", "بيروت", None), ("Tripoli", "طرابلس", None), ("Sidon", "صيدا", None)],
    "IQ": [("Baghdad", "بغداد", None), ("Basra", "البصرة", None), ("Erbil", "أربيل", None)],
    "US": [("Dearborn", "ديربورن", "MI"), ("Houston", "هيوستن", "TX"), ("Chicago", "شيكاغو", "IL"),
           ("Paterson", "باترسون", "NJ")],
    "GB": [("London", "لندن", None), ("Manchester", "مانشستر", None), ("Birmingham", "برمنغهام", None)],
    "DE": [("Berlin", "برلين", None), ("Hamburg", "هامبورغ", None), ("Cologne", "كولونيا", None)],
}

UTC_OFFSETS: dict[str, str] = {
    "PS": "+03:00", "EG": "+03:00", "JO": "+03:00", "SA": "+03:00", "AE": "+04:00", "MA": "+01:00",
    "TN": "+01:00", "LB": "+03:00", "IQ": "+03:00", "US": "-05:00", "GB": "Z", "DE": "+02:00",
}

# Family names are invented on purpose: each means "sample", "example",
# "model" or "test", so no generated full name is a real person's.
FIRST_NAMES_AR = ("محمد", "أحمد", "يوسف", "عمر", "خالد", "سامي", "كريم", "ليلى", "مريم", "نور", "هناء", "سلمى", "رنا", "جنى")
FIRST_NAMES_EN = ("Mohammed", "Ahmad", "Yousef", "Omar", "Khaled", "Sami", "Kareem", "Layla", "Mariam", "Noor", "Hana", "Salma", "Rana", "Jana")
FAMILY_NAMES_AR = ("المثالي", "التجريبي", "النموذجي", "العيّنة", "الافتراضي", "الاختباري")
FAMILY_NAMES_EN = ("Al-Mithali", "Al-Tajribi", "Al-Namudhaji", "Sampleton", "Exampleson", "Testwood")
SCREEN_WORDS = ("falcon", "shadow", "star", "moon", "gamer", "king", "rose", "angel", "ghost", "tiger", "sky", "nour", "3asal", "zaki")

# name, product kind, web host (a subdomain of an example domain).
PLATFORMS: dict[str, tuple[str, str]] = {
    "ExampleChat": ("chat", "examplechat.example.com"),
    "ExamplePhotos": ("photos", "examplephotos.example.com"),
    "ExampleGames": ("games", "examplegames.example.net"),
    "ExampleVideo": ("video", "examplevideo.example.org"),
    "ExampleMail": ("mail", "examplemail.example.net"),
    "ExampleForum": ("forum", "exampleforum.example.org"),
}

INCIDENT_CP = "Child Pornography (possession, manufacture, and distribution)"
INCIDENT_TRAFFICKING = "Child Sex Trafficking"
INCIDENT_TOURISM = "Child Sex Tourism"
INCIDENT_MOLESTATION = "Child Sexual Molestation"
INCIDENT_DOMAIN = "Misleading Domain Name"
INCIDENT_WORDS = "Misleading Words or Digital Images on the Internet"
INCIDENT_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
INCIDENT_UNSOLICITED = "Unsolicited Obscene Material Sent to a Child"

# scenario -> (weight, incident type). Mostly uploads, as in real CyberTipline
# volumes; conversation-based harm is the next largest group.
SCENARIOS: dict[str, tuple[int, str]] = {
    "file_upload": (40, INCIDENT_CP),
    "sextortion": (13, INCIDENT_ENTICEMENT),
    "grooming": (11, INCIDENT_ENTICEMENT),
    "meet_request": (6, INCIDENT_ENTICEMENT),
    "csam_solicitation": (7, INCIDENT_ENTICEMENT),
    "minor_to_minor": (5, INCIDENT_CP),
    "viral_meme": (6, INCIDENT_CP),
    "sadistic_group": (2, INCIDENT_ENTICEMENT),
    "unsolicited_material": (3, INCIDENT_UNSOLICITED),
    "misleading_domain": (2, INCIDENT_DOMAIN),
    "misleading_words": (2, INCIDENT_WORDS),
    "trafficking_ad": (1, INCIDENT_TRAFFICKING),
    "travel_offer": (1, INCIDENT_TOURISM),
    "abuse_disclosure": (1, INCIDENT_MOLESTATION),
}

RECURRING_SUSPECTS = 12
# Share of non-batched reports whose suspect is one of the recurring ones.
RECURRENCE_RATE = 0.35


@dataclass(frozen=True)
class SyntheticFile:
    name: str
    data: bytes
    # Given the report id and file id the API assigned, the <fileDetails>
    # document for this file.
    details_xml: Callable[[int, str], bytes] = field(repr=False, compare=False)
    # The shipped image it was derived from (for the data-policy check).
    source_image: str = ""


@dataclass(frozen=True)
class SyntheticReport:
    xml: bytes
    files: list[SyntheticFile]
    scenario: str
    batched: bool = False
    escalated: bool = False
    # Which recurring suspect this report is about ("S03"), if any.
    suspect_key: str | None = None
    country: str = HOME_COUNTRY


@dataclass
class _Phone:
    calling_code: str
    national: str  # as written in the document, without the calling code


@dataclass
class _Device:
    id_type: str
    value: str


@dataclass
class _Person:
    first_ar: str
    first_en: str
    family_ar: str
    family_en: str
    arabic_script: bool
    country: str
    city: tuple[str, str, str | None]
    screen_name: str
    esp_ids: dict[str, str]
    emails: list[str]
    phones: list[_Phone]
    devices: list[_Device]
    ips: list[str]
    age: int | None = None
    key: str | None = None

    @property
    def first(self) -> str:
        return self.first_ar if self.arabic_script else self.first_en

    @property
    def family(self) -> str:
        return self.family_ar if self.arabic_script else self.family_en


def generate_reports(n: int, *, seed: int = 0, now: datetime | None = None) -> Iterator[SyntheticReport]:
    """`n` synthetic reports, the same ones for the same seed and `now`.

    `now` (aware) defaults to the start of the current UTC day, so repeated
    runs on one day agree; every timestamp generated lies before it.
    """
    if now is None:
        now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    world = _World(random.Random(seed), now)
    for index in range(n):
        yield world.report(index)


# --------------------------------------------------------------------------
# Identifiers.
# --------------------------------------------------------------------------


def luhn_check_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: these sit left of the check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def _imei(rng: random.Random) -> str:
    body = "00" + "".join(rng.choice("0123456789") for _ in range(12))
    return body + luhn_check_digit(body)


def _iccid(rng: random.Random, calling_code: str) -> str:
    prefix = "89" + calling_code.lstrip("+") + "00"
    body = prefix + "".join(rng.choice("0123456789") for _ in range(18 - len(prefix)))
    return body + luhn_check_digit(body)


# National mobile numbers as written locally (trunk 0 included where used).
# Subscriber parts start "00"; only the US/GB ones are fiction ranges.
def _phone(rng: random.Random, country: str) -> _Phone:
    def digits(k: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(k))

    if country == "PS":
        if rng.random() < 0.2:  # Jerusalem-area numbers on the +972 plan
            return _Phone("+972", f"05{rng.choice('02')}-00{digits(1)}-{digits(4)}")
        return _Phone("+970", f"05{rng.choice('99')}{rng.choice('9876')} 00{digits(1)} {digits(3)}")
    if country == "EG":
        return _Phone("+20", f"01{rng.choice('0125')} 00{digits(2)} {digits(4)}")
    if country == "JO":
        return _Phone("+962", f"07{rng.choice('789')} 00{digits(1)} {digits(4)}")
    if country == "SA":
        return _Phone("+966", f"05{rng.choice('0345')} 00{digits(1)} {digits(4)}")
    if country == "AE":
        return _Phone("+971", f"05{rng.choice('0245')} 00{digits(1)} {digits(4)}")
    if country == "MA":
        return _Phone("+212", f"06{rng.choice('12')}00{digits(5)}")
    if country == "TN":
        return _Phone("+216", f"{rng.choice('259')}{rng.choice('0123')} 00{digits(1)} {digits(3)}")
    if country == "LB":
        return _Phone("+961", f"{rng.choice(['03', '70', '71', '76'])} 00{digits(1)} {digits(3)}")
    if country == "IQ":
        return _Phone("+964", f"07{rng.choice('789')}{rng.choice('0123456789')} 00{digits(1)} {digits(4)}")
    if country == "US":
        return _Phone("+1", f"({rng.choice(['202', '313', '312', '713'])}) 555-01{digits(2)}")
    if country == "GB":
        return _Phone("+44", f"07700 900{digits(3)}")
    # DE: format-valid 015x mobile number.
    return _Phone("+49", f"015{rng.choice('12')} 00{digits(6)}")


def _ip(rng: random.Random, country: str) -> str:
    v4, v6 = COUNTRY_NETWORKS[country]
    if rng.random() < 0.35:
        return str(v6[rng.randrange(1, 2**16)])
    return str(v4[rng.randrange(1, v4.num_addresses - 1)])


def _instant_text(moment: datetime, country: str) -> str:
    offset = UTC_OFFSETS[country]
    if offset == "Z":
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S") + offset


# --------------------------------------------------------------------------
# Text. Moderator summaries, abstract and non-graphic by design.
# --------------------------------------------------------------------------

CHAT_LINES: dict[str, list[tuple[str, str, str]]] = {
    # (speaker, English, Arabic); "S" suspect, "V" victim.
    "grooming": [
        ("S", "[asked the user's age and which school they attend]", "[سأل المستخدم عن عمره واسم مدرسته]"),
        ("V", "[said they are {age}]", "[قال إن عمره {age} سنة]"),
        ("S", "[offered game credit and gift cards]", "[عرض رصيداً للألعاب وبطاقات هدايا]"),
        ("S", "[asked the user to keep the conversation secret from their parents]", "[طلب من المستخدم إخفاء المحادثة عن والديه]"),
        ("S", "[asked to continue the conversation on another app]", "[طلب نقل المحادثة إلى تطبيق آخر]"),
        ("S", "[asked for a private photo; request removed by moderation]", "[طلب صورة خاصة، وأزالت الإشراف الطلب]"),
    ],
    "meet_request": [
        ("S", "[asked where the user lives and which bus they take]", "[سأل أين يسكن المستخدم وأي حافلة يستقل]"),
        ("V", "[named their neighbourhood in {city}]", "[ذكر اسم حيّه في {city_ar}]"),
        ("S", "[proposed meeting in person after school]", "[اقترح اللقاء شخصياً بعد المدرسة]"),
        ("S", "[told the user not to tell anyone about the meeting]", "[طلب من المستخدم ألا يخبر أحداً باللقاء]"),
        ("V", "[agreed to a time]", "[وافق على موعد]"),
    ],
    "sextortion": [
        ("S", "[claimed to hold private images of the user]", "[ادّعى امتلاك صور خاصة للمستخدم]"),
        ("S", "[demanded payment by gift card within 24 hours]", "[طالب بدفع مبلغ ببطاقات هدايا خلال 24 ساعة]"),
        ("S", "[threatened to send the images to the user's family and classmates]", "[هدد بإرسال الصور إلى عائلة المستخدم وزملائه]"),
        ("V", "[said they are scared and asked to be left alone]", "[قال إنه خائف وطلب أن يُترك وشأنه]"),
        ("S", "[posted a screenshot of the user's contact list]", "[نشر لقطة شاشة لقائمة أصدقاء المستخدم]"),
    ],
    "csam_solicitation": [
        ("S", "[asked other users to share prohibited material of minors]", "[طلب من مستخدمين آخرين مشاركة مواد محظورة لقاصرين]"),
        ("S", "[offered payment for such material]", "[عرض مقابلاً مادياً لتلك المواد]"),
        ("S", "[shared a link to an external storage folder; link disabled]", "[شارك رابطاً لمجلد تخزين خارجي، وتم تعطيل الرابط]"),
    ],
    "minor_to_minor": [
        ("S", "[classmate of the user, stated age {suspect_age}]", "[زميل المستخدم في المدرسة، ذكر أن عمره {suspect_age}]"),
        ("S", "[pressured the user to send a private photo]", "[ضغط على المستخدم لإرسال صورة خاصة]"),
        ("V", "[refused and blocked, then unblocked]", "[رفض وحظره ثم ألغى الحظر]"),
    ],
    "sadistic_group": [
        ("S", "[invited the user to a closed group and set 'tasks']", "[دعا المستخدم إلى مجموعة مغلقة وكلّفه بـ'مهام']"),
        ("S", "[demanded the user harm themselves on camera; blocked by moderation]", "[طالب المستخدم بإيذاء نفسه أمام الكاميرا، وحجب الإشراف الطلب]"),
        ("S", "[threatened to leak the user's details if they left the group]", "[هدد بتسريب بيانات المستخدم إن غادر المجموعة]"),
    ],
    "unsolicited_material": [
        ("S", "[sent unsolicited explicit images to the user; images removed]", "[أرسل صوراً فاضحة دون طلب إلى المستخدم، وأُزيلت الصور]"),
        ("V", "[said they are {age} and asked the sender to stop]", "[قال إن عمره {age} وطلب من المرسل التوقف]"),
    ],
    "abuse_disclosure": [
        ("V", "[disclosed to a friend that an adult they know has been abusing them]", "[أفصح لصديق أن شخصاً بالغاً يعرفه يسيء إليه]"),
        ("V", "[asked for help and said they are afraid to tell their family]", "[طلب المساعدة وقال إنه يخشى إخبار عائلته]"),
    ],
}

ESCALATIONS: dict[str, tuple[str, str]] = {
    "meet_request": (
        "Imminent risk: the account arranged to meet the child in person after school near {city}; the child appears to have agreed.",
        "خطر وشيك: رتّب الحساب لقاء الطفل شخصياً بعد المدرسة قرب {city_ar}، ويبدو أن الطفل وافق.",
    ),
    "sextortion": (
        "Sextortion with a 24-hour deadline; the child expressed distress and mentioned self-harm.",
        "ابتزاز مع مهلة 24 ساعة؛ أبدى الطفل ضيقاً شديداً وأشار إلى إيذاء النفس.",
    ),
    "sadistic_group": (
        "Coercion to self-harm by members of a closed group; several minors targeted.",
        "إكراه على إيذاء النفس من أعضاء مجموعة مغلقة؛ استُهدف عدة قاصرين.",
    ),
    "abuse_disclosure": (
        "A child disclosed ongoing abuse by a known adult; the child is at immediate risk.",
        "أفصح طفل عن إساءة مستمرة من شخص بالغ يعرفه؛ الطفل في خطر مباشر.",
    ),
    "file_upload": (
        "Content appears newly produced; the child may be identifiable and at ongoing risk.",
        "يبدو أن المحتوى حديث الإنتاج؛ قد يمكن التعرف على الطفل وهو في خطر مستمر.",
    ),
}

ADDITIONAL_INFO: dict[str, list[str]] = {
    "file_upload": [
        "Detected by hash matching at upload; the account was disabled.",
        "تم الكشف عبر مطابقة البصمات عند الرفع وتم تعطيل الحساب.",
        "Reported by another user; confirmed on review.",
    ],
    "grooming": ["Detected by a classifier for adult-minor contact; conversation reviewed.", "رُصدت المحادثة بواسطة أداة كشف التواصل بين بالغ وقاصر."],
    "sextortion": ["The child reported the account through the in-app tool.", "أبلغ الطفل عن الحساب عبر أداة الإبلاغ داخل التطبيق."],
    "csam_solicitation": ["Found in a public group; the group was removed.", "عُثر عليه في مجموعة عامة وتمت إزالة المجموعة."],
    "misleading_domain": ["Domain name imitates a children's cartoon site."],
    "misleading_words": ["Search-optimised page with child-oriented keywords."],
    "trafficking_ad": ["Advertisement appears to offer a minor; removed on review.", "يبدو أن الإعلان يعرض قاصراً؛ أُزيل بعد المراجعة."],
    "travel_offer": ["Posts offer 'travel packages' mentioning access to minors."],
}

SCHOOLS = ("مدرسة النموذج الأساسية", "مدرسة المثال الثانوية", "Example Secondary School", "Sample Valley School")
COMPANY_TEMPLATE = (
    "{platform} Trust & Safety. Legal process: lawenforcement@{host}. Data are kept 90 days after a report. "
    "24/7 emergency contact via the law-enforcement portal."
)


# --------------------------------------------------------------------------
# The world: recurring suspects, the viral file, and report assembly.
# --------------------------------------------------------------------------


def _el(tag: str, text: str | None = None, attrs: dict[str, str] | None = None, *children: etree._Element | None) -> etree._Element:
    el = etree.Element(tag, attrs or {})
    if text is not None:
        el.text = text
    for child in children:
        if child is not None:
            el.append(child)
    return el


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@cache
def _source_image(name: str) -> Image.Image:
    # Decoded once and shrunk: re-encoding a 1600px photo per file would make
    # a 200-report demo take seconds for nothing.
    with Image.open(IMAGES_DIR / name) as image:
        image = image.convert("RGB")
        image.thumbnail((480, 480))
        return image


def _encode_variant(rng: random.Random, name: str) -> tuple[str, bytes]:
    image = _source_image(name)
    scale = rng.uniform(0.55, 1.0)
    size = (max(16, int(image.width * scale)), max(16, int(image.height * scale)))
    variant = image.resize(size)
    if rng.random() < 0.3:
        variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    buffer = io.BytesIO()
    if rng.random() < 0.75:
        variant.save(buffer, format="JPEG", quality=rng.randint(60, 92))
        extension = "jpg"
    else:
        variant.save(buffer, format="PNG")
        extension = "png"
    return extension, buffer.getvalue()


class _World:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        # Recurring suspects, each with a favourite platform and files they re-share.
        self.suspects = [self._person(adult=True, key=f"S{i + 1:02d}") for i in range(RECURRING_SUSPECTS)]
        self.suspect_files: dict[str, tuple[str, bytes, str]] = {}
        extension, data = _encode_variant(rng, "square-256x256.jpg")
        self.viral_file = (f"meme.{extension}", data, "square-256x256.jpg")

    # -- people ----------------------------------------------------------

    def _country(self) -> str:
        return self.rng.choices(list(COUNTRY_WEIGHTS), weights=list(COUNTRY_WEIGHTS.values()))[0]

    def _person(self, *, adult: bool, key: str | None = None, country: str | None = None, age: int | None = None) -> _Person:
        rng = self.rng
        country = country or self._country()
        index = rng.randrange(len(FIRST_NAMES_AR))
        family = rng.randrange(len(FAMILY_NAMES_AR))
        word = rng.choice(SCREEN_WORDS)
        screen = f"{word}_{rng.randrange(10, 9999)}" if rng.random() < 0.7 else f"{FIRST_NAMES_EN[index].lower()}.{word}{rng.randrange(1, 99)}"
        handle = screen.replace(".", "_")
        domain = rng.choice(("example.com", "example.org", "example.net", "mail.example.com"))
        emails = [f"{handle}@{domain}"]
        if adult and rng.random() < 0.4:
            emails.append(f"{FIRST_NAMES_EN[index].lower()}{rng.randrange(100, 999)}@{rng.choice(('example.net', 'example.org'))}")
        phones = [_phone(rng, country)]
        devices = [_Device("IMEI", _imei(rng))]
        if rng.random() < 0.4:
            devices.append(_Device("ICCID", _iccid(rng, phones[0].calling_code)))
        return _Person(
            first_ar=FIRST_NAMES_AR[index],
            first_en=FIRST_NAMES_EN[index],
            family_ar=FAMILY_NAMES_AR[family],
            family_en=FAMILY_NAMES_EN[family],
            arabic_script=rng.random() < 0.6,
            country=country,
            city=rng.choice(CITIES[country]),
            screen_name=screen,
            esp_ids={platform: str(rng.randrange(10**9, 10**10)) for platform in PLATFORMS},
            emails=emails,
            phones=phones,
            devices=devices,
            ips=[_ip(rng, country) for _ in range(rng.randint(1, 3))],
            age=age if age is not None else (rng.randint(19, 52) if adult else rng.randint(8, 17)),
            key=key,
        )

    # -- time ------------------------------------------------------------

    def _moment(self, *, within_days: int = 180, before: datetime | None = None) -> datetime:
        latest = (before or self.now) - timedelta(hours=1)
        return latest - timedelta(seconds=self.rng.randrange(0, within_days * 86400))

    # -- report ----------------------------------------------------------

    def report(self, index: int) -> SyntheticReport:
        rng = self.rng
        scenario = rng.choices(list(SCENARIOS), weights=[w for w, _ in SCENARIOS.values()])[0]
        if scenario == "viral_meme":
            return self._viral_report()
        incident_type = SCENARIOS[scenario][1]
        platform = self._platform_for(scenario)
        recurring = scenario not in ("minor_to_minor", "misleading_domain", "misleading_words") and rng.random() < RECURRENCE_RATE
        if recurring:
            suspect = rng.choice(self.suspects)
        elif scenario == "minor_to_minor":
            suspect = self._person(adult=False, age=rng.randint(13, 17))
        else:
            suspect = self._person(adult=True)
        incident_at = self._moment()
        country = suspect.country
        victims = self._victims(scenario, suspect)
        escalated = scenario in ESCALATIONS and rng.random() < (0.6 if scenario in ("meet_request", "abuse_disclosure") else 0.25)

        report = _el("report")
        report.append(self._incident_summary(scenario, incident_type, platform, incident_at, suspect, victims, escalated))
        for details in self._internet_details(scenario, platform, suspect, victims, incident_at):
            report.append(details)
        if rng.random() < 0.06:
            report.append(self._law_enforcement(suspect.country))
        report.append(self._reporter(platform))
        report.append(self._reported_person(scenario, platform, suspect, incident_at))
        if scenario in ("sextortion", "grooming", "unsolicited_material") and victims and rng.random() < 0.3:
            report.append(self._intended_recipient(platform, victims[0]))
        for victim in victims:
            report.append(self._victim(platform, victim, incident_at))
        if scenario in ADDITIONAL_INFO and rng.random() < 0.7:
            report.append(_el("additionalInfo", rng.choice(ADDITIONAL_INFO[scenario])))

        files = self._files(scenario, platform, suspect, incident_at)
        return SyntheticReport(
            xml=_xml(report),
            files=files,
            scenario=scenario,
            batched=False,
            escalated=escalated,
            suspect_key=suspect.key,
            country=country,
        )

    def _platform_for(self, scenario: str) -> str:
        choices = {
            "file_upload": ["ExamplePhotos", "ExampleChat", "ExampleVideo", "ExampleMail"],
            "grooming": ["ExampleChat", "ExampleGames"],
            "meet_request": ["ExampleChat", "ExampleGames"],
            "sextortion": ["ExampleChat", "ExamplePhotos"],
            "csam_solicitation": ["ExampleForum", "ExampleChat"],
            "minor_to_minor": ["ExampleChat", "ExamplePhotos"],
            "sadistic_group": ["ExampleChat", "ExampleForum"],
            "unsolicited_material": ["ExampleChat", "ExampleMail"],
            "misleading_domain": ["ExampleForum"],
            "misleading_words": ["ExampleVideo", "ExampleForum"],
            "trafficking_ad": ["ExampleForum"],
            "travel_offer": ["ExampleForum"],
            "abuse_disclosure": ["ExampleChat"],
        }[scenario]
        return self.rng.choice(choices)

    def _victims(self, scenario: str, suspect: _Person) -> list[_Person]:
        rng = self.rng
        if scenario in ("misleading_domain", "misleading_words", "csam_solicitation", "trafficking_ad", "travel_offer"):
            return []
        if scenario == "file_upload" and rng.random() < 0.7:
            return []  # the child in a file is rarely identifiable to the platform
        count = 2 if scenario == "sadistic_group" and rng.random() < 0.5 else 1
        # Victims are usually near the suspect, but not always.
        return [
            self._person(adult=False, country=suspect.country if rng.random() < 0.7 else HOME_COUNTRY)
            for _ in range(count)
        ]

    def _incident_summary(
        self, scenario: str, incident_type: str, platform: str, at: datetime, suspect: _Person,
        victims: list[_Person], escalated: bool,
    ) -> etree._Element:
        rng = self.rng
        summary = _el("incidentSummary", None, None, _el("incidentType", incident_type), _el("platform", platform))
        if escalated:
            english, arabic = ESCALATIONS[scenario]
            city = (victims[0] if victims else suspect).city
            text = english if rng.random() < 0.5 else arabic
            summary.append(_el("escalateToHighPriority", text.format(city=city[0], city_ar=city[1])))
        annotations = {
            "sextortion": ["sextortion"],
            "csam_solicitation": ["csamSolicitation"],
            "minor_to_minor": ["minorToMinorInteraction"],
            "sadistic_group": ["sadisticOnlineExploitation"],
        }.get(scenario, [])
        if scenario == "grooming" and rng.random() < 0.3:
            annotations = ["csamSolicitation"]
        if scenario == "sextortion" and suspect.age is not None and suspect.age < 18:
            annotations = annotations + ["minorToMinorInteraction"]
        if annotations:
            summary.append(_el("reportAnnotations", None, None, *(_el(tag) for tag in annotations)))
        summary.append(_el("incidentDateTime", _instant_text(at, suspect.country)))
        if rng.random() < 0.15:
            summary.append(_el("incidentDateTimeDescription", rng.choice((
                "Time of the most recent message in the conversation.",
                "Time of upload as recorded by the platform.",
                "وقت آخر رسالة في المحادثة.",
            ))))
        return summary

    def _chat_content(self, scenario: str, suspect: _Person, victim: _Person | None, start: datetime) -> str:
        rng = self.rng
        lines = CHAT_LINES.get(scenario) or CHAT_LINES["grooming"]
        arabic = rng.random() < 0.55
        city = (victim or suspect).city
        out = []
        moment = start - timedelta(minutes=rng.randint(20, 600))
        for speaker, english, arabic_text in lines:
            moment += timedelta(minutes=rng.randint(1, 40))
            who = suspect.screen_name if speaker == "S" else (victim.screen_name if victim else "user")
            template = arabic_text if arabic else english
            said = template.format(
                age=victim.age if victim else 13, city=city[0], city_ar=city[1], suspect_age=suspect.age,
            )
            out.append(f"[{_instant_text(moment, suspect.country)}] {who}: {said}")
        return "\n".join(out)

    def _internet_details(
        self, scenario: str, platform: str, suspect: _Person, victims: list[_Person], at: datetime,
    ) -> list[etree._Element]:
        rng = self.rng
        host = PLATFORMS[platform][1]
        victim = victims[0] if victims else None
        kind = PLATFORMS[platform][0]
        if scenario in ("misleading_domain", "misleading_words", "trafficking_ad", "travel_offer"):
            slug = rng.choice(("kids-cartoons", "free-games", "travel-deals", "offers"))
            page = _el("webPageIncident", None, {"thirdPartyHostedContent": rng.choice(("true", "false"))},
                       _el("url", f"https://{slug}-{rng.randrange(100, 999)}.example.com/{rng.randrange(1000, 9999)}"),
                       _el("url", f"https://{host}/p/{rng.randrange(10**6, 10**7)}") if rng.random() < 0.5 else None)
            return [_el("internetDetails", None, None, page)]
        if scenario == "abuse_disclosure":
            chat = _el("chatImIncident", None, None, _el("chatClient", platform),
                       _el("content", self._chat_content(scenario, suspect, victim, at)))
            place = _el("nonInternetIncident", None, None, _el("locationName", (victim or suspect).city[1]),
                        _el("incidentAddress", None, {"type": "Home"}, _el("city", (victim or suspect).city[0]),
                            _el("country", (victim or suspect).country)))
            return [_el("internetDetails", None, None, chat), _el("internetDetails", None, None, place)]
        if kind == "mail" and victim is not None:
            incident = _el("emailIncident", None, None,
                           _el("emailAddress", suspect.emails[0]),
                           _el("emailAddress", victim.emails[0]),
                           _el("content", "Subject: [redacted by reporter]\n" + self._chat_content(scenario, suspect, victim, at)))
            return [_el("internetDetails", None, None, incident)]
        if kind == "games" and scenario != "file_upload":
            incident = _el("onlineGamingIncident", None, None, _el("gameName", "Example Quest"),
                           _el("console", rng.choice(("ExampleStation", "PC", "Mobile"))),
                           _el("content", self._chat_content(scenario, suspect, victim, at)))
            return [_el("internetDetails", None, None, incident)]
        if scenario != "file_upload" or rng.random() < 0.3:
            incident = _el("chatImIncident", None, None, _el("chatClient", platform),
                           _el("chatRoomName", f"room-{rng.randrange(100, 999)}") if rng.random() < 0.3 else None,
                           _el("content", self._chat_content(scenario, suspect, victim, at)) if scenario != "file_upload" else None)
            details = [_el("internetDetails", None, None, incident)]
            if rng.random() < 0.15:
                phone = suspect.phones[0]
                details.append(_el("internetDetails", None, None, _el(
                    "cellPhoneIncident", None, None,
                    _el("phoneNumber", phone.national, {"type": "Mobile", "countryCallingCode": phone.calling_code}))))
            return details
        if rng.random() < 0.5:
            return [_el("internetDetails", None, None, _el("webPageIncident", None, None,
                                                            _el("url", f"https://{host}/u/{suspect.esp_ids[platform]}")))]
        return []

    def _law_enforcement(self, country: str) -> etree._Element:
        rng = self.rng
        return _el("lawEnforcement", None, None,
                   _el("agencyName", rng.choice(("Example Police Cybercrime Unit", "وحدة الجرائم الإلكترونية - مثال"))),
                   _el("caseNumber", f"CC-{rng.randrange(2023, 2025)}-{rng.randrange(1000, 9999)}"),
                   _el("reportedToLe", "true"),
                   _el("servedLegalProcessInternational", "true", {"fleaCountry": country}))

    def _reporter(self, platform: str) -> etree._Element:
        host = PLATFORMS[platform][1]
        return _el("reporter", None, None,
                   _el("reportingPerson", None, None, _el("firstName", "Trust"), _el("lastName", "Safety Team"),
                       _el("email", f"cybertip@{host}", {"type": "Work"})),
                   _el("companyTemplate", COMPANY_TEMPLATE.format(platform=platform, host=host)),
                   _el("legalURL", f"https://{host}/legal/law-enforcement"))

    def _phone_el(self, phone: _Phone, *, verified_at: datetime | None, country: str) -> etree._Element:
        attrs = {"type": "Mobile", "countryCallingCode": phone.calling_code}
        if verified_at is not None:
            attrs.update(verified="true", verificationDate=_instant_text(verified_at, country))
        return _el("phone", phone.national, attrs)

    def _person_el(self, tag: str, person: _Person, *, with_contact: bool, at: datetime) -> etree._Element:
        rng = self.rng
        el = _el(tag, None, None, _el("firstName", person.first))
        if rng.random() < 0.7:
            el.append(_el("lastName", person.family))
        if with_contact:
            verified_at = self._moment(before=at, within_days=400) if rng.random() < 0.5 else None
            for phone in person.phones:
                el.append(self._phone_el(phone, verified_at=verified_at, country=person.country))
            for email in person.emails:
                attrs = {"verified": "true", "verificationDate": _instant_text(self._moment(before=at, within_days=400), person.country)} if rng.random() < 0.4 else {}
                el.append(_el("email", email, attrs))
            if rng.random() < 0.2:
                el.append(_el("address", None, {"type": "Home"}, _el("city", person.city[0]),
                              _el("state", person.city[2]) if person.city[2] else None,
                              _el("country", person.country)))
        if person.age is not None and rng.random() < 0.8:
            el.append(_el("age", str(person.age)))
        return el

    def _estimated_location(self, person: _Person, at: datetime) -> etree._Element:
        english, _arabic, state = person.city
        return _el("estimatedLocation", None,
                   {"verified": "false", "timestamp": _instant_text(at + timedelta(minutes=5), person.country)},
                   _el("city", english), _el("region", state) if state else None, _el("countryCode", person.country))

    def _ip_events(self, person: _Person, at: datetime, *, events: tuple[str, ...]) -> list[etree._Element]:
        rng = self.rng
        out = []
        for ip in person.ips[: rng.randint(1, len(person.ips))]:
            moment = at - timedelta(minutes=rng.randint(1, 60 * 24 * 20))
            out.append(_el("ipCaptureEvent", None, None, _el("ipAddress", ip), _el("eventName", rng.choice(events)),
                           _el("dateTime", _instant_text(moment, person.country)),
                           _el("possibleProxy", "true") if rng.random() < 0.05 else None,
                           _el("port", str(rng.randrange(1024, 65535))) if rng.random() < 0.3 else None))
        return out

    def _device_events(self, person: _Person, at: datetime) -> list[etree._Element]:
        rng = self.rng
        return [
            _el("deviceId", None, None, _el("idType", device.id_type), _el("idValue", device.value),
                _el("eventName", rng.choice(("Login", "Registration"))),
                _el("dateTime", _instant_text(at - timedelta(days=rng.randint(1, 300)), person.country)))
            for device in person.devices
            if rng.random() < 0.75
        ]

    def _reported_person(self, scenario: str, platform: str, suspect: _Person, at: datetime) -> etree._Element:
        rng = self.rng
        host = PLATFORMS[platform][1]
        el = _el("personOrUserReported")
        el.append(self._person_el("personOrUserReportedPerson", suspect, with_contact=True, at=at))
        el.append(_el("espIdentifier", suspect.esp_ids[platform]))
        el.append(_el("espService", platform))
        el.append(_el("screenName", suspect.screen_name))
        if rng.random() < 0.4:
            el.append(_el("displayName", f"{suspect.first} {rng.choice(('✨', '🦅', '', '⚽'))}".strip()))
        el.append(_el("profileUrl", f"https://{host}/u/{suspect.esp_ids[platform]}"))
        for event in self._ip_events(suspect, at, events=("Login", "Upload", "Registration")):
            el.append(event)
        for device in self._device_events(suspect, at):
            el.append(device)
        if scenario == "sadistic_group":
            el.append(_el("groupIdentifier", f"group-{rng.choice(('nightfall', 'darkroom', '764x'))}-{rng.randrange(10, 99)}"))
        disabled_at = at + timedelta(minutes=rng.randint(5, 600))
        latest = self.now - timedelta(minutes=1)
        if disabled_at < latest - timedelta(minutes=1):
            if rng.random() < 0.25:
                notified = min(disabled_at + timedelta(minutes=rng.randint(0, 120)), latest)
                # Re-enabled in the past too, though the rules would allow a future date.
                reenabled = min(disabled_at + timedelta(days=rng.randint(1, 14)), latest)
                el.append(_el("accountTemporarilyDisabled", "true", {
                    "disabledDate": _instant_text(disabled_at, suspect.country),
                    "userNotified": "true",
                    "userNotifiedDate": _instant_text(notified, suspect.country),
                    "reenabledDate": _instant_text(reenabled, suspect.country),
                }))
            else:
                el.append(_el("accountPermanentlyDisabled", "true", {
                    "disabledDate": _instant_text(disabled_at, suspect.country),
                    "userNotified": rng.choice(("true", "false")),
                }))
        el.append(self._estimated_location(suspect, at))
        if len(suspect.emails) > 1 and rng.random() < 0.3:
            el.append(self._associated_account(suspect, platform))
        return el

    def _associated_account(self, person: _Person, platform: str) -> etree._Element:
        other = self.rng.choice([p for p in PLATFORMS if p not in ("ExampleMail", platform)])
        return _el("associatedAccount", None, {"type": "Linked"},
                   _el("platform", other, {"thirdPartyUser": "false"}),
                   _el("approximateAge", str(person.age)) if person.age else None,
                   _el("email", person.emails[-1]),
                   _el("espIdentifier", person.esp_ids[other]),
                   _el("screenName", person.screen_name + "_2"))

    def _intended_recipient(self, platform: str, victim: _Person) -> etree._Element:
        return _el("intendedRecipient", None, None,
                   _el("intendedRecipientPerson", None, None, _el("firstName", victim.first), _el("age", str(victim.age))),
                   _el("espIdentifier", victim.esp_ids[platform]), _el("screenName", victim.screen_name))

    def _victim(self, platform: str, victim: _Person, at: datetime) -> etree._Element:
        rng = self.rng
        host = PLATFORMS[platform][1]
        el = _el("victim", None, None, self._person_el("victimPerson", victim, with_contact=True, at=at))
        el.append(_el("espIdentifier", victim.esp_ids[platform]))
        el.append(_el("screenName", victim.screen_name))
        el.append(_el("profileUrl", f"https://{host}/u/{victim.esp_ids[platform]}"))
        if rng.random() < 0.5:
            for event in self._ip_events(victim, at, events=("Login",)):
                el.append(event)
        if rng.random() < 0.3:
            el.append(_el("schoolName", rng.choice(SCHOOLS)))
        el.append(self._estimated_location(victim, at))
        return el

    # -- files -----------------------------------------------------------

    def _files(self, scenario: str, platform: str, suspect: _Person, at: datetime) -> list[SyntheticFile]:
        rng = self.rng
        if scenario in ("file_upload", "minor_to_minor"):
            count = rng.choices((1, 2, 3, 4), weights=(50, 25, 15, 10))[0]
        elif scenario in ("sextortion", "csam_solicitation", "unsolicited_material", "sadistic_group"):
            count = rng.choice((0, 0, 1))
        else:
            count = 0
        files = []
        for position in range(count):
            if suspect.key is not None and position == 0 and rng.random() < 0.6:
                # A recurring suspect re-shares the same bytes: a hash match.
                if suspect.key not in self.suspect_files:
                    source = rng.choice(IMAGE_NAMES)
                    extension, data = _encode_variant(rng, source)
                    self.suspect_files[suspect.key] = (f"IMG_{rng.randrange(1000, 9999)}.{extension}", data, source)
                name, data, source = self.suspect_files[suspect.key]
            else:
                source = rng.choice(IMAGE_NAMES)
                extension, data = _encode_variant(rng, source)
                name = f"{rng.choice(('IMG', 'photo', 'received', 'صورة'))}_{rng.randrange(1000, 99999)}.{extension}"
            files.append(SyntheticFile(
                name=name, data=data, details_xml=self._details_maker(scenario, platform, suspect, at, name, data),
                source_image=source,
            ))
        return files

    def _details_maker(
        self, scenario: str, platform: str, suspect: _Person, at: datetime, name: str, data: bytes,
    ) -> Callable[[int, str], bytes]:
        # Everything random is drawn now, so the document is fixed by the seed
        # whenever (and however often) the caller asks for it.
        rng = self.rng
        host = PLATFORMS[platform][1]
        supplemental = scenario not in ("file_upload", "minor_to_minor") and rng.random() < 0.5
        annotations = [] if supplemental else rng.sample(
            ["possibleSelfProduction", "generativeAi", "liveStreaming"], k=rng.choice((0, 0, 1))
        )
        if scenario == "minor_to_minor" and not supplemental:
            annotations = ["possibleSelfProduction"]
        exif_viewed = rng.random() < 0.3
        classification = None if supplemental or rng.random() < 0.5 else rng.choice(("A1", "A2", "B1", "B2"))
        uploaded = at - timedelta(minutes=rng.randint(0, 240))
        ip = rng.choice(suspect.ips)
        device = suspect.devices[0] if rng.random() < 0.3 else None
        note = rng.choice(("", "", "Shared in a private conversation.", "شوركت في محادثة خاصة."))
        md5 = hashlib.md5(data).hexdigest()
        sha1 = hashlib.sha1(data).hexdigest()
        location = f"https://cdn.{host}/media/{md5[:12]}"

        def details(report_id: int, file_id: str) -> bytes:
            root = _el("fileDetails", None, None, _el("reportId", str(report_id)), _el("fileId", file_id),
                       _el("originalFileName", name),
                       _el("uploadedToEspTimestamp", _instant_text(uploaded, suspect.country)),
                       _el("locationOfFile", location),
                       _el("fileViewedByEsp", "true"),
                       _el("exifViewedByEsp", "true" if exif_viewed else "false"),
                       _el("publiclyAvailable", "false"),
                       _el("fileRelevance", "Supplemental Reported" if supplemental else "Reported"))
            if annotations:
                root.append(_el("fileAnnotations", None, None, *(_el(tag) for tag in annotations)))
            if classification:
                root.append(_el("industryClassification", classification))
            root.append(_el("originalFileHash", md5, {"hashType": "MD5"}))
            root.append(_el("originalFileHash", sha1, {"hashType": "SHA1"}))
            root.append(_el("ipCaptureEvent", None, None, _el("ipAddress", ip), _el("eventName", "Upload"),
                            _el("dateTime", _instant_text(uploaded, suspect.country))))
            if device is not None:
                root.append(_el("deviceId", None, None, _el("idType", device.id_type), _el("idValue", device.value)))
            if exif_viewed:
                root.append(_el("details", None, {"type": "EXIF"},
                                _el("nameValuePair", None, None, _el("name", "Make"), _el("value", "ExampleCam")),
                                _el("nameValuePair", None, None, _el("name", "Software"), _el("value", "Example Editor 2.1"))))
            if note:
                root.append(_el("additionalInfo", note))
            return _xml(root)

        return details

    # -- batched ---------------------------------------------------------

    def _viral_report(self) -> SyntheticReport:
        rng = self.rng
        platform = rng.choice(("ExamplePhotos", "ExampleVideo", "ExampleChat"))
        at = self._moment(within_days=60)
        report = _el("report", None, None,
                     _el("batchedReport", None, {"reason": "VIRAL_POTENTIAL_MEME"}),
                     _el("incidentSummary", None, None, _el("incidentType", INCIDENT_CP), _el("platform", platform),
                         _el("incidentDateTime", _instant_text(at, HOME_COUNTRY)),
                         _el("incidentDateTimeDescription", "Most recent share of the file.")),
                     self._reporter(platform))
        # Many sharers, known only by their platform id: most share out of
        # misplaced humour, which is why the batch mode exists.
        for _ in range(rng.randint(4, 25)):
            report.append(_el("personOrUserReported", None, None, _el("espIdentifier", str(rng.randrange(10**9, 10**10)))))
        name, data, source = self.viral_file
        marks = rng.choice((("viral",), ("potentialMeme",), ("potentialMeme", "viral")))
        classification = rng.choice((None, "B2", "A2"))
        uploaded = at - timedelta(days=rng.randint(1, 30))

        def details(report_id: int, file_id: str) -> bytes:
            root = _el("fileDetails", None, None, _el("reportId", str(report_id)), _el("fileId", file_id),
                       _el("uploadedToEspTimestamp", _instant_text(uploaded, HOME_COUNTRY)),
                       _el("fileViewedByEsp", "true"), _el("publiclyAvailable", "true"),
                       _el("fileRelevance", "Reported"),
                       _el("fileAnnotations", None, None, *(_el(tag) for tag in marks)),
                       _el("industryClassification", classification) if classification else None)
            return _xml(root)

        return SyntheticReport(
            xml=_xml(report),
            files=[SyntheticFile(name=name, data=data, details_xml=details, source_image=source)],
            scenario="viral_meme",
            batched=True,
            escalated=False,
            suspect_key=None,
            country=HOME_COUNTRY,
        )
