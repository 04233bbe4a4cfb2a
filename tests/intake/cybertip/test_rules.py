"""Each documented rule beyond the XSD: a document that breaks it (and is still
XSD-valid, where the XSD cannot see the rule) and one that keeps it."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from himaya.intake.cybertip import (
    Node,
    Violation,
    check_batched_finish,
    check_file_details,
    check_report,
    is_batched,
    parse_xml,
    validate_schema,
)
from himaya.intake.cybertip.rules import (
    COUNTRY_CODES,
    ISO_COUNTRY_CODES,
    US_STATE_CODES,
    _MAX_LENGTH,
    _parse_date,
    _parse_datetime,
)
from himaya.intake.cybertip.schema import element_info

from .samples import BATCHED_FILE_DETAILS, BATCHED_REPORT, FULL_FILE_DETAILS, FULL_REPORT, NOW

KNOWN_REPORTS = {1001, 1002}


def _exists(report_id: int) -> bool:
    return report_id in KNOWN_REPORTS


def _edit(document: bytes, old: str, new: str) -> bytes:
    text = document.decode()
    assert text.count(old) == 1, f"anchor {old!r} must occur exactly once"
    return text.replace(old, new).encode()


def _report_violations(document: bytes, *, schema_valid: bool = True) -> list[Violation]:
    root, node = parse_xml(document)
    if schema_valid:
        validate_schema(root, expect="report")  # the rule is one the XSD does not catch
    return check_report(node, now=NOW, prior_report_exists=_exists)


def _file_violations(document: bytes, *, batched: bool = False, schema_valid: bool = True) -> list[Violation]:
    root, node = parse_xml(document)
    if schema_valid:
        validate_schema(root, expect="fileDetails")
    return check_file_details(node, now=NOW, batched=batched)


def test_the_full_samples_break_no_rule() -> None:
    assert _report_violations(FULL_REPORT) == []
    assert _file_violations(FULL_FILE_DETAILS) == []
    assert _report_violations(BATCHED_REPORT) == []
    assert _file_violations(BATCHED_FILE_DETAILS, batched=True) == []


P = "/report/personOrUserReported[1]"
SUSPECT = f"{P}/personOrUserReportedPerson"

# (old, new, path, message fragment): each edit of FULL_REPORT breaks exactly one rule.
REPORT_CASES = [
    # dates and times (Appendix A/B "must be in the past", §7.3 time zone)
    ("2024-03-01T10:15:30.123+03:00", "2026-03-01T10:15:30+03:00", "/report/incidentSummary/incidentDateTime", "must be in the past"),
    ("2024-03-01T10:15:30.123+03:00", "2024-03-01T10:15:30", "/report/incidentSummary/incidentDateTime", "time zone"),
    ("2024-02-01T01:02:03-05:00", "2025-06-01T08:00:01-04:00", f"{P}/ipCaptureEvent[1]/dateTime", "must be in the past"),
    ("2023-12-31T23:59:59Z", "2031-01-01T00:00:00Z", f"{P}/deviceId[1]/dateTime", "must be in the past"),
    ("1989-05-05", "2025-06-03", f"{SUSPECT}/dateOfBirth", "must be in the past"),
    ("<dateOfBirth>1980-01-01</dateOfBirth>", "<dateOfBirth>2099-01-01</dateOfBirth>", "/report/victim[1]/associatedAccount[1]/dateOfBirth", "must be in the past"),
    ('verificationDate="2024-01-01T00:00:00Z" countryCallingCode', 'verificationDate="2026-01-01T00:00:00Z" countryCallingCode', "/report/internetDetails[6]/cellPhoneIncident/phoneNumber/@verificationDate", "must be in the past"),
    ('verificationDate="2024-01-01T00:00:00Z">jsmith', 'verificationDate="2026-01-01T00:00:00Z">jsmith', "/report/reporter/reportingPerson/email[1]/@verificationDate", "must be in the past"),
    ('verificationDate="2024-01-01T00:00:00Z">jsmith', 'verificationDate="2024-01-01T00:00:00">jsmith', "/report/reporter/reportingPerson/email[1]/@verificationDate", "time zone"),
    ('timestamp="2024-02-01T00:00:00Z"', 'timestamp="2027-02-01T00:00:00Z"', f"{P}/estimatedLocation/@timestamp", "must be in the past"),
    ('<accountPermanentlyDisabled disabledDate="2024-03-01T00:00:00Z"', '<accountPermanentlyDisabled disabledDate="2026-03-01T00:00:00Z"', f"{P}/accountPermanentlyDisabled/@disabledDate", "must be in the past"),
    ('userNotifiedDate="2024-02-02T00:00:00Z" reenabledDate', 'userNotifiedDate="2025-07-02T00:00:00Z" reenabledDate', f"{P}/accountTemporarilyDisabled/@userNotifiedDate", "must be in the past"),
    ('reenabledDate="2024-02-10T00:00:00Z"', 'reenabledDate="2024-02-10T00:00:00"', f"{P}/accountTemporarilyDisabled/@reenabledDate", "time zone"),
    # account disabled ordering
    ('userNotifiedDate="2024-02-02T00:00:00Z" reenabledDate', 'userNotifiedDate="2024-02-01T23:59:59Z" reenabledDate', f"{P}/accountTemporarilyDisabled/@userNotifiedDate", "on or after the disabledDate"),
    ('reenabledDate="2024-02-10T00:00:00Z"', 'reenabledDate="2024-02-02T00:00:00Z"', f"{P}/accountTemporarilyDisabled/@reenabledDate", "after the disabledDate"),
    ('disabledDate="2024-03-01T00:00:00Z" userNotified="false"', 'disabledDate="2024-03-01T00:00:00Z" userNotified="true" userNotifiedDate="2024-03-01T02:00:00+03:00"', f"{P}/accountPermanentlyDisabled/@userNotifiedDate", "on or after the disabledDate"),
    # IP capture events
    ("<ipAddress>198.51.100.7</ipAddress>", "<ipAddress>198.51.100.300</ipAddress>", f"{P}/ipCaptureEvent[1]/ipAddress", "valid IPv4, IPv6"),
    ("<ipAddress>198.51.100.7</ipAddress>", "<ipAddress>example.com</ipAddress>", f"{P}/ipCaptureEvent[1]/ipAddress", "valid IPv4, IPv6"),
    ("<ipAddress>2001:db8::7</ipAddress>", "<ipAddress>   </ipAddress>", f"{P}/ipCaptureEvent[2]/ipAddress", "must not be blank"),
    ("<port>443</port>", "<port>0</port>", f"{P}/ipCaptureEvent[1]/port", "between 1 and 65535"),
    ("<port>443</port>", "<port>65536</port>", f"{P}/ipCaptureEvent[1]/port", "between 1 and 65535"),
    # device IDs
    ("<idType>IMEI</idType>\n      <idValue>490154203237518</idValue>", "<idType> </idType>\n      <idValue>490154203237518</idValue>", f"{P}/deviceId[1]/idType", "must not be blank"),
    ("<idValue>home-wifi</idValue>", "<idValue></idValue>", f"{P}/associatedAccount[1]/deviceId[1]/idValue", "must not be blank"),
    ("<idValue>490154203237518</idValue>", f"<idValue>{'9' * 2084}</idValue>", f"{P}/deviceId[1]/idValue", "max length is 2083"),
    # phones
    ('<phone type="Home">0599000000</phone>', f'<phone type="Home">{"5" * 51}</phone>', f"{SUSPECT}/phone[1]", "max length is 50"),
    ('<phone countryCallingCode="+1">5550100</phone>', '<phone countryCallingCode="+1">+1 5550100</phone>', "/report/reporter/reportingPerson/phone[1]", "must not start with the country calling code"),
    ('countryCallingCode="+970" extension="12">599123456<', 'countryCallingCode="+970" extension="12">970599123456<', "/report/internetDetails[6]/cellPhoneIncident/phoneNumber", "must not start with the country calling code"),
    ('<phone countryCallingCode="+1">5550100</phone>', '<phone countryCallingCode="+1">(1) 5550100</phone>', "/report/reporter/reportingPerson/phone[1]", "must not start with the country calling code"),
    ('extension="12"', 'extension="12345678901"', "/report/internetDetails[6]/cellPhoneIncident/phoneNumber/@extension", "max length is 10"),
    ('verified="true" verificationDate="2024-01-01T00:00:00Z" countryCallingCode', 'verified="false" verificationDate="2024-01-01T00:00:00Z" countryCallingCode', "/report/internetDetails[6]/cellPhoneIncident/phoneNumber/@verified", "must be true when verificationDate"),
    ('verified="true" verificationDate="2024-01-01T00:00:00Z" countryCallingCode', 'verificationDate="2024-01-01T00:00:00Z" countryCallingCode', "/report/internetDetails[6]/cellPhoneIncident/phoneNumber/@verified", "must be true when verificationDate"),
    # emails
    ("<email>second@example.com</email>", "<email>not-an-email</email>", f"{SUSPECT}/email[2]", "well-formed email"),
    ("<email>second@example.com</email>", "<email>two@@example.com</email>", f"{SUSPECT}/email[2]", "well-formed email"),
    ("<email>second@example.com</email>", "<email>a b@example.com</email>", f"{SUSPECT}/email[2]", "well-formed email"),
    ("<email>second@example.com</email>", "<email>second@localhost</email>", f"{SUSPECT}/email[2]", "well-formed email"),
    ("<email>second@example.com</email>", "<email>second.@example.com</email>", f"{SUSPECT}/email[2]", "well-formed email"),
    ("<email>second@example.com</email>", "<email>second@-example.com</email>", f"{SUSPECT}/email[2]", "well-formed email"),
    ("<email>second@example.com</email>", f"<email>{'a' * 65}@example.com</email>", f"{SUSPECT}/email[2]", "local part"),
    ("<email>second@example.com</email>", f"<email>a@{'b' * 63}.{'c' * 63}.{'d' * 63}.{'e' * 63}.com</email>", f"{SUSPECT}/email[2]", "max length is 255"),
    ('<email verified="true" verificationDate', '<email verified="false" verificationDate', "/report/reporter/reportingPerson/email[1]/@verified", "must be true when verificationDate"),
    # reporting person needs an email
    ('<email verified="true" verificationDate="2024-01-01T00:00:00Z">jsmith@example.com</email>', "", "/report/reporter/reportingPerson/email", "at least one email"),
    # estimated location
    ("<estimatedLocation><countryCode>PS</countryCode></estimatedLocation>", "<estimatedLocation><city>Nablus</city></estimatedLocation>", "/report/intendedRecipient[1]/estimatedLocation/countryCode", "must not be blank"),
    ("<estimatedLocation><countryCode>PS</countryCode></estimatedLocation>", "<estimatedLocation><countryCode></countryCode></estimatedLocation>", "/report/intendedRecipient[1]/estimatedLocation/countryCode", "must not be blank"),
    ("<region>TX</region>", "<region>Texas</region>", f"{P}/estimatedLocation/region", "valid US state"),
    ("<region>TX</region>", "", f"{P}/estimatedLocation/region", "must not be blank if <city>"),
    ("<city>Austin</city>", f"<city>{'a' * 256}</city>", f"{P}/estimatedLocation/city", "max length is 255"),
    # ages and associated accounts
    ("<age>35</age>", "<age>151</age>", f"{SUSPECT}/age", "between 0 and 150"),
    ("<age>13</age>", "<age>-1</age>", "/report/victim[1]/victimPerson/age", "between 0 and 150"),
    ("<approximateAge>30</approximateAge>", "<approximateAge>200</approximateAge>", f"{P}/associatedAccount[1]/approximateAge", "between 0 and 150"),
    ("<approximateAge>30</approximateAge>", "<approximateAge>30</approximateAge><dateOfBirth>1994-01-01</dateOfBirth>", f"{P}/associatedAccount[1]/approximateAge", "may not be set if <dateOfBirth>"),
    # prior reports
    ("<priorCTReports>1001</priorCTReports>\n    <groupIdentifier>group-1", "<priorCTReports>999</priorCTReports>\n    <groupIdentifier>group-1", f"{P}/priorCTReports[1]", "valid CyberTipline report ID"),
    ("<priorCTReport>1002</priorCTReport>", "<priorCTReport>-5</priorCTReport>", f"{P}/associatedAccount[1]/priorCTReport[1]", "valid CyberTipline report ID"),
    ("<priorCTReports>1002</priorCTReports>", "<priorCTReports>1003</priorCTReports>", "/report/victim[1]/priorCTReports[1]", "valid CyberTipline report ID"),
    # emails of email and newsgroup incidents must belong to a party
    ("Suspect@Example.COM", "stranger@example.com", "/report/internetDetails[2]/emailIncident/emailAddress[1]", "must also be supplied"),
    (" child@example.org ", "other@example.org", "/report/internetDetails[3]/newsgroupIncident/emailAddress[1]", "must also be supplied"),
    # incident summary
    ("<escalateToHighPriority>Immediate risk &amp; ongoing contact</escalateToHighPriority>", "<escalateToHighPriority> \n </escalateToHighPriority>", "/report/incidentSummary/escalateToHighPriority", "must not be blank"),
    ("<escalateToHighPriority>Immediate risk &amp; ongoing contact</escalateToHighPriority>", f"<escalateToHighPriority>{'!' * 3001}</escalateToHighPriority>", "/report/incidentSummary/escalateToHighPriority", "max length is 3000"),
    ("<platform>  منصة الدردشة  </platform>", f"<platform>{'م' * 257}</platform>", "/report/incidentSummary/platform", "max length is 256"),
    # URLs
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>javascript:alert(1)</profileUrl>", f"{P}/profileUrl[1]", "valid URL"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>www.example.com/u</profileUrl>", f"{P}/profileUrl[1]", "valid URL"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://</profileUrl>", f"{P}/profileUrl[1]", "valid URL"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://exa mple.com/</profileUrl>", f"{P}/profileUrl[1]", "valid URL"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://example.com:99999/</profileUrl>", f"{P}/profileUrl[1]", "valid URL"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://[::g]/</profileUrl>", f"{P}/profileUrl[1]", "valid URL"),
    ("<url>https://example.com/a?b=c&amp;d=e</url>", f"<url>https://example.com/{'a' * 2064}</url>", "/report/internetDetails[1]/webPageIncident/url[1]", "max length is 2083"),
    ("<legalURL>https://example.com/legal</legalURL>", "<legalURL>mailto:legal@example.com</legalURL>", "/report/reporter/legalURL", "valid URL"),
    # law enforcement lengths
    ("<caseNumber>2024-001</caseNumber>", f"<caseNumber>{'1' * 101}</caseNumber>", "/report/lawEnforcement/caseNumber", "max length is 100"),
    # only one reported person outside batched mode
    ("<intendedRecipient>", "<personOrUserReported><espIdentifier>x</espIdentifier></personOrUserReported>\n  <intendedRecipient>", "/report/personOrUserReported[2]", "at most one <personOrUserReported>"),
]


@pytest.mark.parametrize(("old", "new", "path", "fragment"), REPORT_CASES)
def test_report_rule_is_broken(old: str, new: str, path: str, fragment: str) -> None:
    violations = _report_violations(_edit(FULL_REPORT, old, new))
    assert [v.path for v in violations] == [path], violations
    assert fragment in violations[0].message


# Edits that look suspicious but keep every rule.
REPORT_PASSING = [
    ("1989-05-05", "2025-06-01"),  # born today: the day has begun
    ("2024-03-01T10:15:30.123+03:00", "2025-06-01T12:00:00Z"),  # exactly now
    ("2024-03-01T10:15:30.123+03:00", "2025-06-01T14:59:59+03:00"),  # now, in another zone
    ("2024-03-01T10:15:30.123+03:00", "-0044-03-15T12:00:00Z"),  # before year 1
    ('reenabledDate="2024-02-10T00:00:00Z"', 'reenabledDate="2030-02-10T00:00:00Z"'),  # not documented as past
    ("<ipAddress>198.51.100.7</ipAddress>", "<ipAddress> 198.51.100.7 </ipAddress>"),
    ("<ipAddress>198.51.100.7</ipAddress>", "<ipAddress>::ffff:198.51.100.7</ipAddress>"),
    ("<ipAddress>198.51.100.7</ipAddress>", "<ipAddress>fe80::1%eth0</ipAddress>"),
    ("<port>443</port>", "<port>65535</port>"),
    ("<port>443</port>", "<port>1</port>"),
    ("<age>35</age>", "<age>150</age>"),
    ("<age>13</age>", "<age>0</age>"),
    ('<phone type="Home">0599000000</phone>', f'<phone type="Home">{"5" * 50}</phone>'),
    ('<phone countryCallingCode="+1">5550100</phone>', '<phone countryCallingCode="+1">(555) 0100</phone>'),
    ('extension="12"', 'extension="1234567890"'),
    ('verified="true" verificationDate="2024-01-01T00:00:00Z" countryCallingCode', 'verified="1" verificationDate="2024-01-01T00:00:00Z" countryCallingCode'),
    ('verified="true" verificationDate="2024-01-01T00:00:00Z" countryCallingCode', 'verified="false" countryCallingCode'),
    ("<email>second@example.com</email>", f"<email>{'a' * 64}@example.com</email>"),
    ("<email>second@example.com</email>", "<email>o'brien+tag@mail.example.co.uk</email>"),
    ("<email>second@example.com</email>", '<email>"john doe"@example.com</email>'),
    ("<email>second@example.com</email>", "<email>user@[192.0.2.1]</email>"),
    ("<email>second@example.com</email>", "<email>مستخدم@مثال.فلسطين</email>"),
    ("<email>second@example.com</email>", "<email></email>"),  # blank: nothing supplied to check
    ("<region>TX</region>", "<region>PR</region>"),
    ("<estimatedLocation><city>Gaza</city><countryCode>PS</countryCode>", "<estimatedLocation><city>Gaza</city><region>Gaza Strip</region><countryCode>PS</countryCode>"),
    ("<estimatedLocation><countryCode>PS</countryCode></estimatedLocation>", "<estimatedLocation><region>anything</region><countryCode>FR</countryCode></estimatedLocation>"),
    ("<address><country>JO</country></address>", "<address><state></state><country></country></address>"),
    ("<firstName>J</firstName>", f"<firstName>{'J' * 256}</firstName>"),  # associated accounts allow 256
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://例え.jp/パス</profileUrl>"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>ftp://files.example.org/x</profileUrl>"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>HTTPS://user:pw@host.example:8443/p?q=1#f</profileUrl>"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://192.0.2.1/</profileUrl>"),
    ("<profileUrl>https://example.com/u/bad_user</profileUrl>", "<profileUrl>http://abc.onion./x</profileUrl>"),
    ("Suspect@Example.COM", "  SUSPECT@example.com "),
    ("Suspect@Example.COM", "recipient@EXAMPLE.com"),
]


@pytest.mark.parametrize(("old", "new"), REPORT_PASSING)
def test_report_rule_is_kept(old: str, new: str) -> None:
    assert _report_violations(_edit(FULL_REPORT, old, new)) == []


def test_prior_report_lookup_is_asked_once_per_id() -> None:
    asked: list[int] = []

    def exists(report_id: int) -> bool:
        asked.append(report_id)
        return True

    _, node = parse_xml(FULL_REPORT)
    assert check_report(node, now=NOW, prior_report_exists=exists) == []
    assert sorted(asked) == [1001, 1002]


def test_each_max_length_fires_above_the_limit_and_not_at_it() -> None:
    fired: set[tuple[str, str]] = set()
    for document, check in (
        (FULL_REPORT, lambda n: check_report(n, now=NOW, prior_report_exists=_exists)),
        (FULL_FILE_DETAILS, lambda n: check_file_details(n, now=NOW, batched=False)),
    ):
        _, tree = parse_xml(document)
        for plain, parent in list(tree.path_iter()):
            info = element_info(plain)
            context = info.type_name if info and info.type_name and not info.type_name.startswith("xs:") else parent.tag
            for child in parent.children:
                limit = _MAX_LENGTH.get((context, child.tag))
                if limit is None or (context, child.tag) in fired:
                    continue
                original = child.text
                child.text = "x" * limit
                assert not [v for v in check(tree) if "max length" in v.message], (context, child.tag)
                child.text = "x" * (limit + 1)
                assert [v for v in check(tree) if f"max length is {limit}" in v.message], (context, child.tag)
                child.text = original
                fired.add((context, child.tag))
    missing = set(_MAX_LENGTH) - fired
    assert not missing, f"samples lack elements for {missing}"


def test_internet_details_must_hold_exactly_one_incident() -> None:
    # The XSD's choice already enforces this; the rule keeps Node trees honest.
    _, report = parse_xml(FULL_REPORT)
    details = report.findall("internetDetails")
    details[0].children.append(Node("chatImIncident"))
    details[1].children.clear()
    paths = [v.path for v in check_report(report, now=NOW, prior_report_exists=_exists)]
    assert paths == ["/report/internetDetails[1]", "/report/internetDetails[2]"]


def test_country_and_state_codes_are_checked_even_without_the_xsd() -> None:
    _, report = parse_xml(FULL_REPORT)
    address = report.find("lawEnforcement").find("officerContact").find("address")
    address.find("country").text = "XX"
    report.find("lawEnforcement").find("servedLegalProcessInternational").attrs["fleaCountry"] = "ZZ"
    report.find("reporter").find("reportingPerson").find("address").find("state").text = "Cal"
    messages = {str(v) for v in check_report(report, now=NOW, prior_report_exists=_exists)}
    assert messages == {
        "/report/lawEnforcement/officerContact/address[1]/country: must be a valid ISO 3166-1 alpha-2 country code",
        "/report/lawEnforcement/servedLegalProcessInternational/@fleaCountry: must be a valid ISO 3166-1 alpha-2 country code",
        "/report/reporter/reportingPerson/address[1]/state: must be a valid US state or territory postal abbreviation",
    }


def test_code_lists() -> None:
    assert len(ISO_COUNTRY_CODES) == 249
    assert {"PS", "JO", "EG", "US", "GB", "SS", "XK"} <= COUNTRY_CODES
    assert "XX" not in COUNTRY_CODES
    assert len(US_STATE_CODES) == 56  # 50 states, DC, 5 inhabited territories


def test_now_must_be_aware() -> None:
    _, report = parse_xml(FULL_REPORT)
    with pytest.raises(ValueError):
        check_report(report, now=datetime(2025, 1, 1), prior_report_exists=_exists)


# --- batched (Appendix E.1) ----------------------------------------------------


def test_is_batched() -> None:
    assert is_batched(parse_xml(BATCHED_REPORT)[1])
    assert not is_batched(parse_xml(FULL_REPORT)[1])


BATCHED_CASES = [
    ("<espIdentifier>u2</espIdentifier>", "<personOrUserReportedPerson><firstName>A</firstName></personOrUserReportedPerson><espIdentifier>u2</espIdentifier>", "/report/personOrUserReported[2]/personOrUserReportedPerson"),
    ("<espIdentifier>u3</espIdentifier>", "<espIdentifier>u3</espIdentifier><screenName>s</screenName>", "/report/personOrUserReported[3]/screenName"),
    ("<incidentDateTime>", "<escalateToHighPriority>now</escalateToHighPriority><incidentDateTime>", "/report/incidentSummary/escalateToHighPriority"),
    ("<reporter>", "<internetDetails><webPageIncident/></internetDetails><reporter>", "/report/internetDetails[1]"),
    ("<reporter>", "<lawEnforcement><agencyName>P</agencyName></lawEnforcement><reporter>", "/report/lawEnforcement"),
    ("</report>", "<intendedRecipient/></report>", "/report/intendedRecipient[1]"),
    ("</report>", "<victim><victimPerson/></victim></report>", "/report/victim[1]"),
    ("</report>", "<additionalInfo>x</additionalInfo></report>", "/report/additionalInfo"),
]


@pytest.mark.parametrize(("old", "new", "path"), BATCHED_CASES)
def test_batched_report_rule_is_broken(old: str, new: str, path: str) -> None:
    violations = _report_violations(_edit(BATCHED_REPORT, old, new))
    assert [v.path for v in violations] == [path]
    assert "batched VIRAL_POTENTIAL_MEME" in violations[0].message


def test_batched_finish_allows_one_file() -> None:
    assert check_batched_finish(batched=True, file_count=0) == []
    assert check_batched_finish(batched=True, file_count=1) == []
    assert check_batched_finish(batched=False, file_count=7) == []
    [violation] = check_batched_finish(batched=True, file_count=2)
    assert "only 1 uploaded file" in violation.message


# --- file details (Appendix C) -------------------------------------------------

FD = "/fileDetails"
FILE_CASES = [
    ("<fileId>b0754af766b426f2928a02c651ed4b99</fileId>", "<fileId>  </fileId>", f"{FD}/fileId", "must not be blank"),
    ("<originalFileName>صورة.jpg</originalFileName>", f"<originalFileName>{'n' * 2057}</originalFileName>", f"{FD}/originalFileName", "max length is 2056"),
    ("<uploadedToEspTimestamp>2024-01-01T00:00:00Z", "<uploadedToEspTimestamp>2025-06-01T12:00:01Z", f"{FD}/uploadedToEspTimestamp", "must be in the past"),
    ("<uploadedToEspTimestamp>2024-01-01T00:00:00Z", "<uploadedToEspTimestamp>2024-01-01T00:00:00", f"{FD}/uploadedToEspTimestamp", "time zone"),
    ("<locationOfFile>https://cdn.example.com/f/1.jpg", "<locationOfFile>/f/1.jpg", f"{FD}/locationOfFile", "valid URL"),
    ("<fileViewedByEsp>true</fileViewedByEsp>", "<fileViewedByEsp>false</fileViewedByEsp>", f"{FD}/fileViewedByEsp", 'must be "true" when exifViewedByEsp'),
    ("<fileViewedByEsp>true</fileViewedByEsp>", "", f"{FD}/fileViewedByEsp", 'must be "true" when exifViewedByEsp'),
    ('hashType="MD5"', f'hashType="{"H" * 65}"', f"{FD}/originalFileHash[1]/@hashType", "max length is 64"),
    ("<name>Make</name>", f"<name>{'m' * 65}</name>", f"{FD}/details[1]/nameValuePair[1]/name", "max length is 64"),
    ("<ipAddress>192.0.2.1</ipAddress>", "<ipAddress>192.0.2</ipAddress>", f"{FD}/ipCaptureEvent/ipAddress", "valid IPv4"),
    ("<industryClassification>A1</industryClassification>", "", f"{FD}/fileRelevance", "potential meme"),
]


@pytest.mark.parametrize(("old", "new", "path", "fragment"), FILE_CASES)
def test_file_rule_is_broken(old: str, new: str, path: str, fragment: str) -> None:
    document = FULL_FILE_DETAILS
    if fragment == "potential meme":
        document = _edit(document, "<fileRelevance>Reported", "<fileRelevance>Supplemental Reported")
    violations = _file_violations(_edit(document, old, new))
    assert [v.path for v in violations] == [path], violations
    assert fragment in violations[0].message


def _minimal_file(extra: str) -> bytes:
    return f"<fileDetails><reportId>1</reportId><fileId>f</fileId>{extra}</fileDetails>".encode()


def test_supplemental_reported_excludes_meme_and_classification() -> None:
    supplemental = "<fileRelevance>Supplemental Reported</fileRelevance>"
    assert _file_violations(_minimal_file(supplemental + "<fileAnnotations><infant/></fileAnnotations>")) == []
    [meme] = _file_violations(_minimal_file(supplemental + "<fileAnnotations><potentialMeme/></fileAnnotations>"))
    assert "potential meme" in meme.message
    [legacy] = _file_violations(_minimal_file(supplemental + "<potentialMeme>true</potentialMeme>"))
    assert "potential meme" in legacy.message
    assert _file_violations(_minimal_file(supplemental + "<potentialMeme>false</potentialMeme>")) == []
    [classified] = _file_violations(_minimal_file(supplemental + "<industryClassification>B1</industryClassification>"))
    assert "industryClassification" in classified.message


def test_exif_viewed_needs_file_viewed() -> None:
    assert _file_violations(_minimal_file("<exifViewedByEsp>false</exifViewedByEsp>")) == []
    assert _file_violations(_minimal_file("<fileViewedByEsp>1</fileViewedByEsp><exifViewedByEsp>1</exifViewedByEsp>")) == []
    assert len(_file_violations(_minimal_file("<exifViewedByEsp>1</exifViewedByEsp>"))) == 1


def test_batched_file_must_be_viral_or_meme() -> None:
    assert _file_violations(_minimal_file("<fileAnnotations><viral/></fileAnnotations>"), batched=True) == []
    assert _file_violations(_minimal_file("<fileAnnotations><potentialMeme/></fileAnnotations>"), batched=True) == []
    assert _file_violations(_minimal_file("<potentialMeme>true</potentialMeme>"), batched=True) == []
    [missing] = _file_violations(_minimal_file(""), batched=True)
    assert missing.path == "/fileDetails/fileAnnotations"
    other_only = _file_violations(_minimal_file("<fileAnnotations><infant/></fileAnnotations>"), batched=True)
    assert [v.path for v in other_only] == ["/fileDetails/fileAnnotations", "/fileDetails/fileAnnotations/infant"]


def test_batched_file_relevance_must_be_reported() -> None:
    viral = "<fileAnnotations><viral/></fileAnnotations>"
    assert _file_violations(_minimal_file("<fileRelevance>Reported</fileRelevance>" + viral), batched=True) == []
    [violation] = _file_violations(_minimal_file("<fileRelevance>Supplemental Reported</fileRelevance>" + viral), batched=True)
    assert violation.path == "/fileDetails/fileRelevance"
    assert 'must be "Reported"' in violation.message


def test_batched_file_forbids_other_annotations_and_elements() -> None:
    paths = {v.path for v in _file_violations(FULL_FILE_DETAILS, batched=True)}
    assert paths == {
        "/fileDetails/fileAnnotations/animeDrawingVirtualHentai",
        "/fileDetails/fileAnnotations/possibleSelfProduction",
        "/fileDetails/fileAnnotations/physicalHarm",
        "/fileDetails/fileAnnotations/violenceGore",
        "/fileDetails/fileAnnotations/bestiality",
        "/fileDetails/fileAnnotations/liveStreaming",
        "/fileDetails/fileAnnotations/infant",
        "/fileDetails/fileAnnotations/generativeAi",
        "/fileDetails/originalFileName",
        "/fileDetails/locationOfFile",
        "/fileDetails/originalFileHash[1]",
        "/fileDetails/originalFileHash[2]",
        "/fileDetails/ipCaptureEvent",
        "/fileDetails/deviceId[1]",
        "/fileDetails/details[1]",
        "/fileDetails/additionalInfo[1]",
        "/fileDetails/additionalInfo[2]",
    }


# --- value parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T24:00:00Z", "2024-01-02T00:00:00+00:00"),
        ("2024-01-01T10:00:00.123456789+14:00", "2024-01-01T10:00:00.123456+14:00"),
        ("2024-02-30T00:00:00Z", None),
        ("2024-01-01T00:00:00+15:00", None),
        ("2024-01-01 00:00:00Z", None),
        ("10000-01-01T00:00:00Z", "far future"),
        ("-0001-01-01T00:00:00Z", "far past"),
        ("2024-01-01T00:00:00", "no zone"),
    ],
)
def test_parse_datetime(value: str, expected: str | None) -> None:
    result = _parse_datetime(value)
    if expected is None:
        assert result is None
    elif expected == "far future":
        assert result == datetime.max.replace(tzinfo=NOW.tzinfo)
    elif expected == "far past":
        assert result == datetime.min.replace(tzinfo=NOW.tzinfo)
    elif expected == "no zone":
        assert not isinstance(result, datetime) and result is not None
    else:
        assert isinstance(result, datetime) and result.isoformat() == expected


def test_parse_date_begins_in_the_earliest_zone() -> None:
    day = _parse_date("2025-06-02")
    assert day is not None and day.isoformat() == "2025-06-02T00:00:00+14:00"
    assert day < NOW.replace(hour=12)  # already 2 June in Kiribati at noon UTC on 1 June
    zoned = _parse_date("2025-06-02Z")
    assert zoned is not None and zoned > NOW


def test_long_hostile_values_are_quick() -> None:
    # Values of a few megabytes must not send any pattern into backtracking.
    _, report = parse_xml(FULL_REPORT)
    summary = report.find("incidentSummary")
    summary.find("incidentDateTime").text = "2024-01-01T00:00:00" + "0" * 1_000_000
    person = report.find("personOrUserReported")
    person.find("profileUrl").text = "http://" + "a." * 500_000 + "com/"
    person.find("personOrUserReportedPerson").find("email").text = '"' + "\\a" * 500_000
    started = time.perf_counter()
    check_report(report, now=NOW, prior_report_exists=_exists)
    # Catastrophic backtracking would take minutes; this bound only catches that.
    assert time.perf_counter() - started < 10.0


