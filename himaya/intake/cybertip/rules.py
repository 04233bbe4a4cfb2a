"""The CyberTipline validation rules that the XSD does not express.

Each rule comes from the "validation" lines of the API documentation
(Appendices A, B, C and E) or its timestamp note (§7.3). The checks run on a
Node tree after XSD validation, but never assume it passed: a value the schema
would reject is skipped here rather than reported twice or crashed on.

Choices where the documentation leaves room, made to accept what NCMEC's own
service is likely to accept:

* A whitespace-only value counts as not supplied for format checks (URL, email,
  country, state); the schema itself allows "" for country and state. Where the
  documentation says "must not be blank", blank is a violation.
* URLs: scheme http, https, ftp or ftps, a host (DNS name, IPv4, or bracketed
  IPv6 literal; internationalised names allowed), an optional valid port, no
  whitespace or control characters.
* Email: one "@"; local part a dot-atom (internationalised characters allowed)
  or a quoted string, at most 64 characters; domain of at least two DNS labels
  or an address literal such as [192.0.2.1].
* "In the past" is compared with the caller's `now`, inclusive. A date without
  time (date of birth) is in the past once that day has begun somewhere on
  Earth (UTC+14), or in its own time zone if it names one.
* Country codes: ISO 3166-1 alpha-2 plus the few extra codes the XSD
  enumerates (A1, A2, O1, AN, AP, EU, FX, XK), so that nothing the schema
  accepts is rejected here.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache, partial
from urllib.parse import urlsplit

from himaya.intake.cybertip.schema import ElementInfo, element_info
from himaya.intake.cybertip.tree import Node

VIRAL_POTENTIAL_MEME = "VIRAL_POTENTIAL_MEME"

ISO_COUNTRY_CODES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL
    BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV
    CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD
    GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
    IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
    LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW
    MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR
    PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
    ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY
    UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
# Reserved or GeoIP codes that the NCMEC XSD enumerates as countries.
_XSD_EXTRA_COUNTRY_CODES = frozenset({"A1", "A2", "O1", "AN", "AP", "EU", "FX", "XK"})
COUNTRY_CODES: frozenset[str] = ISO_COUNTRY_CODES | _XSD_EXTRA_COUNTRY_CODES

US_STATE_CODES: frozenset[str] = frozenset(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT
    NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
    DC AS GU MP PR VI
    """.split()
)

# (context, element) → max length, where the context is the parent's named
# XSD type ("person", "address") or, for anonymous types, the parent's tag.
_MAX_LENGTH: dict[tuple[str, str], int] = {
    ("deviceId", "idType"): 255,
    ("deviceId", "idValue"): 2083,
    ("address", "address"): 255,
    ("address", "city"): 100,
    ("address", "zipCode"): 20,
    ("address", "nonUsaState"): 100,
    ("estimatedLocation", "city"): 255,
    ("estimatedLocation", "region"): 255,
    ("person", "firstName"): 100,
    ("person", "lastName"): 100,
    ("contactPerson", "firstName"): 100,
    ("contactPerson", "lastName"): 100,
    ("incidentSummary", "platform"): 256,
    ("incidentSummary", "escalateToHighPriority"): 3000,
    ("incidentSummary", "incidentDateTimeDescription"): 3000,
    ("webPageIncident", "url"): 2083,
    ("newsgroupIncident", "name"): 255,
    ("chatImIncident", "chatClient"): 255,
    ("chatImIncident", "chatRoomName"): 255,
    ("onlineGamingIncident", "gameName"): 255,
    ("onlineGamingIncident", "console"): 255,
    ("nonInternetIncident", "locationName"): 255,
    ("peer2peerIncident", "client"): 255,
    ("lawEnforcement", "agencyName"): 255,
    ("lawEnforcement", "caseNumber"): 100,
    ("reporter", "legalURL"): 2083,
    ("personOrUserReported", "vehicleDescription"): 300,
    ("personOrUserReported", "espIdentifier"): 255,
    ("personOrUserReported", "espService"): 100,
    ("personOrUserReported", "screenName"): 256,
    ("personOrUserReported", "displayName"): 255,
    ("personOrUserReported", "profileUrl"): 2083,
    ("personOrUserReported", "groupIdentifier"): 255,
    ("intendedRecipient", "espIdentifier"): 255,
    ("intendedRecipient", "espService"): 100,
    ("intendedRecipient", "screenName"): 256,
    ("intendedRecipient", "displayName"): 255,
    ("intendedRecipient", "profileUrl"): 2083,
    ("intendedRecipient", "groupIdentifier"): 255,
    ("victim", "espIdentifier"): 255,
    ("victim", "espService"): 100,
    ("victim", "screenName"): 256,
    ("victim", "displayName"): 255,
    ("victim", "profileUrl"): 2083,
    ("victim", "schoolName"): 255,
    ("associatedAccount", "platform"): 256,
    ("associatedAccount", "firstName"): 256,
    ("associatedAccount", "middleName"): 256,
    ("associatedAccount", "lastName"): 256,
    ("associatedAccount", "espService"): 256,
    ("associatedAccount", "espIdentifier"): 256,
    ("associatedAccount", "profileUrl"): 2083,
    ("associatedAccount", "screenName"): 256,
    ("associatedAccount", "displayName"): 255,
    ("associatedAccount", "groupIdentifier"): 256,
    ("fileDetails", "originalFileName"): 2056,
    ("fileDetails", "locationOfFile"): 2083,
    ("nameValue", "name"): 64,
}

# (type of the element, attribute) → max length.
_MAX_ATTRIBUTE_LENGTH: dict[tuple[str, str], int] = {
    ("phone", "extension"): 10,
    ("hash", "hashType"): 64,
}

_URL_FIELDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("webPageIncident", "url"),
        ("reporter", "legalURL"),
        ("personOrUserReported", "profileUrl"),
        ("intendedRecipient", "profileUrl"),
        ("victim", "profileUrl"),
        ("associatedAccount", "profileUrl"),
        ("fileDetails", "locationOfFile"),
    }
)

_NOT_BLANK: frozenset[tuple[str, str]] = frozenset(
    {
        ("ipCaptureEvent", "ipAddress"),
        ("deviceId", "idType"),
        ("deviceId", "idValue"),
        ("incidentSummary", "escalateToHighPriority"),
        ("fileDetails", "fileId"),
    }
)

_AGE_FIELDS: frozenset[tuple[str, str]] = frozenset({("person", "age"), ("associatedAccount", "approximateAge")})

# Every other date and date-time in the schema must be in the past.
_MAY_BE_FUTURE: frozenset[tuple[str, str]] = frozenset({("accountTemporarilyDisabled", "reenabledDate")})

_PRIOR_REPORT_TAGS = frozenset({"priorCTReports", "priorCTReport"})

_BATCHED_FORBIDDEN_IN_REPORT = ("internetDetails", "lawEnforcement", "intendedRecipient", "victim", "additionalInfo")
_BATCHED_FORBIDDEN_IN_FILE = (
    "originalFileName",
    "locationOfFile",
    "originalFileHash",
    "ipCaptureEvent",
    "deviceId",
    "details",
    "additionalInfo",
)
_BATCHED_ALLOWED_ANNOTATIONS = frozenset({"viral", "potentialMeme"})

_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True)
class Violation:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def is_batched(report: Node) -> bool:
    """Whether the report is in Viral/Potential Meme batched mode (Appendix E.1)."""
    batched = report.find("batchedReport")
    return batched is not None and batched.attrs.get("reason") == VIRAL_POTENTIAL_MEME


def check_report(
    report: Node, *, now: datetime, prior_report_exists: Callable[[int], bool]
) -> list[Violation]:
    """Every documented rule beyond the XSD for a `<report>` document."""
    checker = _Checker(now=now, prior_report_exists=prior_report_exists)
    checker.walk(report)
    batched = is_batched(report)
    _check_reported_person_count(checker, report, batched=batched)
    _check_incident_emails(checker, report)
    if batched:
        _check_batched_report(checker, report)
    return checker.violations


def check_file_details(details: Node, *, now: datetime, batched: bool) -> list[Violation]:
    """Every documented rule beyond the XSD for a `<fileDetails>` document.

    That the report and file exist and that the reporter may update them is
    for the caller to check: it needs the database.
    """
    checker = _Checker(now=now, prior_report_exists=lambda _: True)
    checker.walk(details)
    _check_file_relevance(checker, details)
    viewed, exif = details.find("fileViewedByEsp"), details.find("exifViewedByEsp")
    if exif is not None and _is_true(exif.text) and (viewed is None or not _is_true(viewed.text)):
        checker.add("/fileDetails/fileViewedByEsp", 'must be "true" when exifViewedByEsp is "true"')
    if batched:
        _check_batched_file(checker, details)
    return checker.violations


def check_batched_finish(*, batched: bool, file_count: int) -> list[Violation]:
    """A Viral/Potential Meme batched report may be finished with at most one file."""
    if batched and file_count > 1:
        return [
            Violation(
                "/report",
                f"a batched {VIRAL_POTENTIAL_MEME} report may have only 1 uploaded file, "
                f"this one has {file_count}",
            )
        ]
    return []


@dataclass
class _Checker:
    now: datetime
    prior_report_exists: Callable[[int], bool]
    violations: list[Violation] = field(default_factory=list)
    _prior_reports: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")

    def add(self, path: str, message: str) -> None:
        self.violations.append(Violation(path, message))

    def walk(self, root: Node) -> None:
        self._visit(root, _plan_of_root(root.tag), f"/{root.tag}")

    def _visit(self, node: Node, plan: _Plan, path: str) -> None:
        for check in plan.checks:
            check(self, node, path)
        children = node.children
        known = plan.children
        totals: dict[str, int] | None = None
        seen: dict[str, int] = {}
        for child in children:
            tag = child.tag
            child_plan = known.get(tag)
            if child_plan is None:
                child_plan = _plan(tag, None, context=plan.context, plain="")  # not in the schema
                if totals is None:
                    totals = {}
                    for sibling in children:
                        totals[sibling.tag] = totals.get(sibling.tag, 0) + 1
                repeated = totals[tag] > 1
            else:
                repeated = child_plan.repeated
            if repeated:
                seen[tag] = position = seen.get(tag, 0) + 1
            if child.children:
                self._visit(child, child_plan, f"{path}/{tag}[{position}]" if repeated else f"{path}/{tag}")
            elif child_plan.checks:  # a leaf: checked here, a call less for most elements
                child_path = f"{path}/{tag}[{position}]" if repeated else f"{path}/{tag}"
                for check in child_plan.checks:
                    check(self, child, child_path)

    def _check_range(self, path: str, text: str, *, low: int, high: int) -> None:
        try:
            value = int(text.strip())
        except ValueError:
            return  # not an int: the schema reports it
        if not low <= value <= high:
            self.add(path, f"must be between {low} and {high}")

    def _check_code(self, path: str, value: str, allowed: frozenset[str], message: str) -> None:
        if value.strip() and value not in allowed:
            self.add(path, message)

    def _check_instant(self, path: str, value: str, *, kind: str, future_ok: bool) -> None:
        if kind == "xs:date":
            day = _parse_date(value)
            if day is None:
                self.add(path, "must be an ISO 8601 date (YYYY-MM-DD)")
            elif not future_ok and day > self.now:
                self.add(path, "must be in the past")
            return
        moment = _parse_datetime(value)
        if moment is None:
            self.add(path, "must be an ISO 8601 date and time")
        elif moment is _NO_ZONE:
            self.add(path, "must include a time zone (Z or +/-hh:mm)")
        elif not future_ok and moment > self.now:
            self.add(path, "must be in the past")

    def _check_prior_report(self, path: str, text: str) -> None:
        try:
            report_id = int(text.strip())
        except ValueError:
            self.add(path, "must be a valid CyberTipline report ID")
            return
        if report_id not in self._prior_reports:
            self._prior_reports[report_id] = report_id > 0 and bool(self.prior_report_exists(report_id))
        if not self._prior_reports[report_id]:
            self.add(path, f"must be a valid CyberTipline report ID (no report {report_id})")


def _context_of(tag: str, info: ElementInfo | None) -> str:
    # A named type is shared by elements of many names (reportingPerson,
    # victimPerson... are all "person"), so rules about its children are keyed
    # by the type; anonymous types only ever have their element's name.
    if info is not None and info.type_name and not info.type_name.startswith("xs:"):
        return info.type_name
    return tag


# --- checks by XSD type -------------------------------------------------------


def _check_email(checker: _Checker, node: Node, path: str) -> None:
    text = node.text or ""
    if len(text) > 255:
        checker.add(path, f"max length is 255 characters (got {len(text)})")
    elif text.strip():
        problem = _email_problem(text.strip())
        if problem:
            checker.add(path, problem)
    _check_verified(checker, node, path)


def _check_phone(checker: _Checker, node: Node, path: str) -> None:
    text = node.text or ""
    if len(text) > 50:
        checker.add(path, f"max length is 50 characters (got {len(text)})")
    calling_code = node.attrs.get("countryCallingCode")
    if calling_code is not None and not re.fullmatch(r"\+[0-9]{1,3}", calling_code):
        checker.add(f"{path}/@countryCallingCode", r"must conform to the regular expression \+[0-9]{1,3}")
    elif calling_code and text.strip().lstrip("+( ").startswith(calling_code[1:]):
        # Written with or without the "+": "+970 599…" and "970599…" both repeat the code.
        checker.add(path, f"must not start with the country calling code {calling_code}")
    extension = node.attrs.get("extension")
    if extension is not None and not re.fullmatch(r"[0-9]+", extension):
        checker.add(f"{path}/@extension", "must conform to the regular expression [0-9]+")
    _check_verified(checker, node, path)


def _check_verified(checker: _Checker, node: Node, path: str) -> None:
    verification_date = node.attrs.get("verificationDate")
    if verification_date is not None and verification_date.strip() and not _is_true(node.attrs.get("verified")):
        checker.add(f"{path}/@verified", "must be true when verificationDate is supplied")


def _check_estimated_location(checker: _Checker, node: Node, path: str) -> None:
    country = (node.child_text("countryCode") or "").strip()
    if not country:
        checker.add(f"{path}/countryCode", "must not be blank if <estimatedLocation> is supplied")
    if country != "US":
        return
    region = node.child_text("region")
    if region is not None and region.strip() and region.strip() not in US_STATE_CODES:
        checker.add(
            f"{path}/region",
            'must be a valid US state or territory postal abbreviation when <countryCode> is "US"',
        )
    city = node.child_text("city")
    if city is not None and city.strip() and not (region or "").strip():
        checker.add(f"{path}/region", 'must not be blank if <city> is supplied and <countryCode> is "US"')


def _check_ip_capture_event(checker: _Checker, node: Node, path: str) -> None:
    address = (node.child_text("ipAddress") or "").strip()
    if address and not _is_ip_address(address):
        checker.add(f"{path}/ipAddress", "must be a valid IPv4, IPv6, or IPv4-mapped IPv6 address")
    port = node.find("port")
    if port is not None:
        checker._check_range(f"{path}/port", port.text or "", low=1, high=65535)


def _check_associated_account(checker: _Checker, node: Node, path: str) -> None:
    if node.find("approximateAge") is not None and node.find("dateOfBirth") is not None:
        checker.add(f"{path}/approximateAge", "may not be set if <dateOfBirth> is supplied")


def _check_account_disabled(checker: _Checker, node: Node, path: str) -> None:
    disabled = _parse_datetime(node.attrs.get("disabledDate") or "")
    if not isinstance(disabled, datetime):
        return
    notified = _parse_datetime(node.attrs.get("userNotifiedDate") or "")
    if isinstance(notified, datetime) and notified < disabled:
        checker.add(f"{path}/@userNotifiedDate", "must be on or after the disabledDate")
    reenabled = _parse_datetime(node.attrs.get("reenabledDate") or "")
    if isinstance(reenabled, datetime) and reenabled <= disabled:
        checker.add(f"{path}/@reenabledDate", "must be after the disabledDate")


def _check_internet_details(checker: _Checker, node: Node, path: str) -> None:
    if len(node.children) != 1:
        checker.add(path, f"must have exactly one incident element (has {len(node.children)})")


def _check_reporter(checker: _Checker, node: Node, path: str) -> None:
    person = node.find("reportingPerson")
    if person is not None and not any((e.text or "").strip() for e in person.findall("email")):
        checker.add(f"{path}/reportingPerson/email", "at least one email address is required for <reportingPerson>")


_TYPE_CHECKS: dict[str, Callable[[_Checker, Node, str], None]] = {
    "email": _check_email,
    "phone": _check_phone,
    "estimatedLocation": _check_estimated_location,
    "ipCaptureEvent": _check_ip_capture_event,
    "associatedAccount": _check_associated_account,
    "accountTemporarilyDisabled": _check_account_disabled,
    "accountPermanentlyDisabled": _check_account_disabled,
}

# Anonymous types are keyed by tag; their ElementInfo.type_name is None.
_ELEMENT_CHECKS: dict[str, Callable[[_Checker, Node, str], None]] = {
    "internetDetails": _check_internet_details,
    "reporter": _check_reporter,
}


# --- which checks run on the elements of each path ---------------------------------

_Check = Callable[[_Checker, Node, str], None]
_COUNTRY_MESSAGE = "must be a valid ISO 3166-1 alpha-2 country code"
_STATE_MESSAGE = "must be a valid US state or territory postal abbreviation"


@dataclass(frozen=True)
class _Plan:
    """The checks of the elements reached by one path (without indexes).

    Which rules apply to an element depends only on its path: its tag, its
    declaration, and its parent's context. Working that out once per path of the
    schema, rather than on each element of each document, leaves the walk
    nothing to do on most elements.
    """

    repeated: bool  # whether the path's elements are written with their position
    checks: tuple[_Check, ...]  # in the order their violations are reported
    context: str  # what the rules about its children are keyed by
    children: dict[str, _Plan]  # the plans of the children the schema declares, by tag


def _plan(tag: str, info: ElementInfo | None, *, context: str, plain: str) -> _Plan:
    own_context = _context_of(tag, info)
    children: dict[str, _Plan] = {}
    if info is not None:
        for name in info.children:
            child_plain = f"{plain}/{name}"
            children[name] = _plan(name, element_info(child_plain), context=own_context, plain=child_plain)
    return _Plan(
        repeated=info is not None and info.repeated,
        checks=_checks(tag, info, context=context),
        context=own_context,
        children=children,
    )


# Plans of the schema's roots and everything below them, made on first use. An
# element the schema does not declare gets a plan made on the spot (no declaration:
# only the rules keyed by context and tag apply), never kept: hostile documents
# cannot grow this.
_ROOT_PLANS: dict[str, _Plan] = {}


def _plan_of_root(tag: str) -> _Plan:
    plan = _ROOT_PLANS.get(tag)
    if plan is None:
        info = element_info(f"/{tag}")
        plan = _plan(tag, info, context="", plain=f"/{tag}")
        if info is not None:
            _ROOT_PLANS[tag] = plan
    return plan


def _checks(tag: str, info: ElementInfo | None, *, context: str) -> tuple[_Check, ...]:
    key = (context, tag)
    checks: list[_Check] = []
    if key in _NOT_BLANK:
        checks.append(_check_not_blank)
    limit = _MAX_LENGTH.get(key)
    if limit is not None:
        checks.append(partial(_check_max_length, limit=limit))
    if key in _URL_FIELDS:
        checks.append(_check_url)
    if key in _AGE_FIELDS:
        checks.append(_check_age)
    if tag in _PRIOR_REPORT_TAGS and context:
        checks.append(_check_prior_report_id)
    if tag in _ELEMENT_CHECKS:
        checks.append(_ELEMENT_CHECKS[tag])
    if info is None:
        return tuple(checks)
    type_name = info.type_name
    if type_name in ("xs:dateTime", "xs:date"):
        checks.append(partial(_check_instant_text, kind=type_name, future_ok=key in _MAY_BE_FUTURE))
    elif type_name == "country":
        checks.append(partial(_check_code_text, allowed=COUNTRY_CODES, message=_COUNTRY_MESSAGE))
    elif type_name == "state":
        checks.append(partial(_check_code_text, allowed=US_STATE_CODES, message=_STATE_MESSAGE))
    for name, attr_type in info.attributes.items():
        if attr_type == "xs:dateTime":
            future_ok = (type_name or "", name) in _MAY_BE_FUTURE
            checks.append(partial(_check_instant_attribute, name=name, future_ok=future_ok))
        elif attr_type == "country":
            checks.append(partial(_check_country_attribute, name=name))
        attribute_limit = _MAX_ATTRIBUTE_LENGTH.get((type_name or "", name))
        if attribute_limit is not None:
            checks.append(partial(_check_attribute_length, name=name, limit=attribute_limit))
    type_check = _TYPE_CHECKS.get(type_name or "")
    if type_check is not None:
        checks.append(type_check)
    return tuple(checks)


def _check_not_blank(checker: _Checker, node: Node, path: str) -> None:
    if not (node.text or "").strip():
        checker.add(path, "must not be blank")


def _check_max_length(checker: _Checker, node: Node, path: str, *, limit: int) -> None:
    text = node.text or ""
    if len(text) > limit:
        checker.add(path, f"max length is {limit} characters (got {len(text)})")


def _check_url(checker: _Checker, node: Node, path: str) -> None:
    text = node.text or ""
    if text.strip():
        problem = _url_problem(text)
        if problem:
            checker.add(path, problem)


def _check_age(checker: _Checker, node: Node, path: str) -> None:
    checker._check_range(path, node.text or "", low=0, high=150)


def _check_prior_report_id(checker: _Checker, node: Node, path: str) -> None:
    checker._check_prior_report(path, node.text or "")


def _check_instant_text(checker: _Checker, node: Node, path: str, *, kind: str, future_ok: bool) -> None:
    if node.text is not None:
        checker._check_instant(path, node.text, kind=kind, future_ok=future_ok)


def _check_code_text(checker: _Checker, node: Node, path: str, *, allowed: frozenset[str], message: str) -> None:
    checker._check_code(path, node.text or "", allowed, message)


def _check_instant_attribute(checker: _Checker, node: Node, path: str, *, name: str, future_ok: bool) -> None:
    value = node.attrs.get(name)
    if value is not None:
        checker._check_instant(f"{path}/@{name}", value, kind="xs:dateTime", future_ok=future_ok)


def _check_country_attribute(checker: _Checker, node: Node, path: str, *, name: str) -> None:
    value = node.attrs.get(name)
    if value is not None:
        checker._check_code(f"{path}/@{name}", value, COUNTRY_CODES, _COUNTRY_MESSAGE)


def _check_attribute_length(checker: _Checker, node: Node, path: str, *, name: str, limit: int) -> None:
    value = node.attrs.get(name)
    if value is not None and len(value) > limit:
        checker.add(f"{path}/@{name}", f"max length is {limit} characters (got {len(value)})")


# --- checks across the document -----------------------------------------------


def _check_reported_person_count(checker: _Checker, report: Node, *, batched: bool) -> None:
    reported = report.findall("personOrUserReported")
    if batched or len(reported) <= 1:
        return
    for position in range(2, len(reported) + 1):
        checker.add(
            f"/report/personOrUserReported[{position}]",
            f"at most one <personOrUserReported> is allowed unless the report is batched ({VIRAL_POTENTIAL_MEME})",
        )


def _check_incident_emails(checker: _Checker, report: Node) -> None:
    known: set[str] = set()
    for party, person_tag in (
        ("personOrUserReported", "personOrUserReportedPerson"),
        ("intendedRecipient", "intendedRecipientPerson"),
        ("victim", "victimPerson"),
    ):
        for holder in report.findall(party):
            person = holder.find(person_tag)
            if person is not None:
                known.update(_email_key(e.text) for e in person.findall("email") if (e.text or "").strip())
    details = report.findall("internetDetails")
    for details_position, internet in enumerate(details, start=1):
        for incident_tag in ("emailIncident", "newsgroupIncident"):
            incident = internet.find(incident_tag)
            if incident is None:
                continue
            addresses = incident.findall("emailAddress")
            for position, address in enumerate(addresses, start=1):
                if (address.text or "").strip() and _email_key(address.text) not in known:
                    checker.add(
                        f"/report/internetDetails[{details_position}]/{incident_tag}/emailAddress[{position}]",
                        "must also be supplied as a <personOrUserReported>, <intendedRecipient> "
                        "or <victim> email address",
                    )


def _check_batched_report(checker: _Checker, report: Node) -> None:
    mode = f"not allowed in a batched {VIRAL_POTENTIAL_MEME} report"
    summary = report.find("incidentSummary")
    if summary is not None and summary.find("escalateToHighPriority") is not None:
        checker.add("/report/incidentSummary/escalateToHighPriority", mode)
    for position, reported in enumerate(report.findall("personOrUserReported"), start=1):
        for child in reported.children:
            if child.tag != "espIdentifier":
                checker.add(
                    f"/report/personOrUserReported[{position}]/{child.tag}",
                    f"{mode} (only <espIdentifier> is)",
                )
    for tag in _BATCHED_FORBIDDEN_IN_REPORT:
        found = report.findall(tag)
        repeated = _is_repeated(f"/report/{tag}")
        for position, _ in enumerate(found, start=1):
            checker.add(f"/report/{tag}[{position}]" if repeated else f"/report/{tag}", mode)


def _check_file_relevance(checker: _Checker, details: Node) -> None:
    if details.child_text("fileRelevance") != "Supplemental Reported":
        return
    if _has_potential_meme(details):
        checker.add("/fileDetails/fileRelevance", 'may not be "Supplemental Reported" if a potential meme annotation is supplied')
    if details.find("industryClassification") is not None:
        checker.add("/fileDetails/fileRelevance", 'may not be "Supplemental Reported" if an <industryClassification> is supplied')


def _check_batched_file(checker: _Checker, details: Node) -> None:
    mode = f"not allowed for a file of a batched {VIRAL_POTENTIAL_MEME} report"
    annotations = details.find("fileAnnotations")
    viral = annotations is not None and annotations.find("viral") is not None
    if not (viral or _has_potential_meme(details)):
        checker.add(
            "/fileDetails/fileAnnotations",
            f"a file of a batched {VIRAL_POTENTIAL_MEME} report must be annotated <viral> and/or <potentialMeme>",
        )
    if annotations is not None:
        for child in annotations.children:
            if child.tag not in _BATCHED_ALLOWED_ANNOTATIONS:
                checker.add(f"/fileDetails/fileAnnotations/{child.tag}", mode)
    for tag in _BATCHED_FORBIDDEN_IN_FILE:
        repeated = _is_repeated(f"/fileDetails/{tag}")
        for position, _ in enumerate(details.findall(tag), start=1):
            checker.add(f"/fileDetails/{tag}[{position}]" if repeated else f"/fileDetails/{tag}", mode)
    relevance = details.child_text("fileRelevance")
    if relevance is not None and relevance != "Reported":
        checker.add("/fileDetails/fileRelevance", f'must be "Reported" for a file of a batched {VIRAL_POTENTIAL_MEME} report')


def _has_potential_meme(details: Node) -> bool:
    annotations = details.find("fileAnnotations")
    if annotations is not None and annotations.find("potentialMeme") is not None:
        return True
    # The schema still allows the older form, <potentialMeme> directly under
    # <fileDetails>, as an alternative to <fileAnnotations>.
    legacy = details.find("potentialMeme")
    return legacy is not None and _is_true(legacy.text)


def _is_repeated(plain: str) -> bool:
    info = element_info(plain)
    return info is not None and info.repeated


# --- value parsing ----------------------------------------------------------------


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip() in _TRUE


def _email_key(value: str | None) -> str:
    return (value or "").strip().casefold()


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_ATOM = re.compile("[" + re.escape("".join(sorted(_ATEXT))) + "]+")
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*"')


def _email_problem(value: str) -> str | None:
    malformed = "must be a well-formed email address"
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        return malformed
    if len(local) > 64:
        return "max length of the local part (before the @ sign) is 64 characters"
    if local.startswith('"'):
        if not _QUOTED_LOCAL.fullmatch(local):
            return malformed
    elif not all(_is_atom(part) for part in local.split(".")):
        return malformed
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        if literal[:5].lower() == "ipv6:":
            literal = literal[5:]
        return None if _is_ip_address(literal) else malformed
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253 or not all(_is_dns_label(label) for label in labels):
        return malformed
    if labels[-1].isdigit():
        return malformed
    return None


def _is_atom(part: str) -> bool:
    # One regular expression for the usual, ASCII, case; character by character otherwise.
    return bool(part) and (_ATOM.fullmatch(part) is not None or all(_is_atext(c) for c in part))


def _is_atext(char: str) -> bool:
    # RFC 6531 allows any non-ASCII character in addresses.
    return char in _ATEXT or (ord(char) > 127 and char.isprintable() and not char.isspace())


def _is_dns_label(label: str, *, allow_underscore: bool = False) -> bool:
    if not 1 <= len(label) <= 63 or label[0] == "-" or label[-1] == "-":
        return False
    # What is left once the allowed punctuation is taken out must be letters and digits.
    rest = label.replace("-", "").replace("_", "") if allow_underscore else label.replace("-", "")
    return not rest or rest.isalnum()


_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})
# \s is exactly str.isspace() for str patterns.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def _url_problem(value: str) -> str | None:
    invalid = "must be a valid URL"
    url = value.strip()
    if _SPACE_OR_CONTROL.search(url):
        return invalid
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return invalid
    if parts.scheme.lower() not in _URL_SCHEMES:
        return f"{invalid} (scheme must be one of {', '.join(sorted(_URL_SCHEMES))})"
    host = parts.hostname
    if not host:
        return invalid
    if "[" in parts.netloc:
        return None if _is_ip_address(host.split("%", 1)[0]) else invalid
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not all(_is_dns_label(label, allow_underscore=True) for label in labels):
        return invalid
    return None


class _NoZone:
    pass


_NO_ZONE = _NoZone()
_FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)
_FAR_PAST = datetime.min.replace(tzinfo=timezone.utc)
# Linear-time patterns: every group is a fixed run of digits.
_DATETIME = re.compile(
    r"\s*(-?)(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?\s*"
)
_DATE = re.compile(r"\s*(-?)(\d{4,})-(\d\d)-(\d\d)(Z|[+-]\d\d:\d\d)?\s*")
_EARLIEST_ZONE = timezone(timedelta(hours=14))


@lru_cache(maxsize=64)  # a document repeats its few zones in every timestamp
def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return timezone.utc
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError(text)
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _parse_datetime(value: str) -> datetime | _NoZone | None:
    """An aware datetime; _NO_ZONE if the value has no time zone; None if invalid.

    Years beyond Python's range become the far past or far future, which is
    all the rules need to know about them.
    """
    match = _DATETIME.fullmatch(value)
    if match is None:
        return None
    sign, year, month, day, hour, minute, second, fraction, zone_text = match.groups()
    try:
        zone = _zone(zone_text)
        if sign or int(year) == 0:
            return _NO_ZONE if zone is None else _FAR_PAST
        if int(year) > 9999:
            return _NO_ZONE if zone is None else _FAR_FUTURE
        extra = timedelta(0)
        hour_number = int(hour)
        if hour_number == 24:
            if minute != "00" or second != "00" or (fraction and int(fraction)):
                return None
            hour_number, extra = 0, timedelta(days=1)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month), int(day), hour_number, int(minute), int(second), micro,
            tzinfo=zone,
        )
    except (ValueError, OverflowError):
        return None
    if zone is None:
        return _NO_ZONE
    try:
        return moment + extra
    except OverflowError:
        return _FAR_FUTURE


def _parse_date(value: str) -> datetime | None:
    """The moment the day begins: in its own zone, or else in the earliest zone on Earth."""
    match = _DATE.fullmatch(value)
    if match is None:
        return None
    sign, year, month, day, zone_text = match.groups()
    try:
        zone = _zone(zone_text) or _EARLIEST_ZONE
        if sign or int(year) == 0:
            return _FAR_PAST
        if int(year) > 9999:
            return _FAR_FUTURE
        return datetime.combine(date(int(year), int(month), int(day)), time(0), tzinfo=zone)
    except (ValueError, OverflowError):
        return None
