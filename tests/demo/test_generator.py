"""The demo generator: deterministic, valid, linkable, and within the data policy."""
from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from PIL import Image

from himaya.demo.generator import (
    CITIES,
    COUNTRY_NETWORKS,
    FAMILY_NAMES_AR,
    FAMILY_NAMES_EN,
    FIRST_NAMES_AR,
    FIRST_NAMES_EN,
    IMAGE_NAMES,
    IMAGES_DIR,
    SyntheticReport,
    generate_reports,
    luhn_valid,
)
from himaya.intake.cybertip import (
    check_file_details,
    check_report,
    parse_xml,
    validate_schema,
)
from tests.conftest import REFERENCE, needs_reference

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


@pytest.fixture(scope="module")
def reports() -> list[SyntheticReport]:
    return list(generate_reports(200, seed=0, now=NOW))


def _roots(reports: list[SyntheticReport]) -> list[etree._Element]:
    return [etree.fromstring(r.xml) for r in reports]


def _file_roots(reports: list[SyntheticReport]) -> list[etree._Element]:
    return [
        etree.fromstring(f.details_xml(1000 + i, f"file-{i}-{j}"))
        for i, r in enumerate(reports)
        for j, f in enumerate(r.files)
    ]


# --- determinism ---------------------------------------------------------------


def _fingerprint(reports: list[SyntheticReport]) -> list[tuple[object, ...]]:
    return [
        (r.xml, r.scenario, r.batched, r.escalated, r.suspect_key,
         tuple((f.name, f.data, f.source_image, f.details_xml(7, "abc")) for f in r.files))
        for r in reports
    ]


def test_same_seed_same_reports() -> None:
    first = _fingerprint(list(generate_reports(40, seed=11, now=NOW)))
    second = _fingerprint(list(generate_reports(40, seed=11, now=NOW)))
    assert first == second


def test_other_seed_other_reports() -> None:
    first = [r.xml for r in generate_reports(10, seed=1, now=NOW)]
    second = [r.xml for r in generate_reports(10, seed=2, now=NOW)]
    assert first != second


def test_a_prefix_is_stable() -> None:
    # Asking for more reports does not change the first ones.
    short = _fingerprint(list(generate_reports(15, seed=3, now=NOW)))
    longer = _fingerprint(list(generate_reports(30, seed=3, now=NOW)))[:15]
    assert short == longer


def test_default_now_is_the_start_of_today() -> None:
    a = [r.xml for r in generate_reports(5, seed=4)]
    b = [r.xml for r in generate_reports(5, seed=4)]
    assert a == b or datetime.now(UTC).hour == 0  # unless midnight passed in between


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        next(generate_reports(1, now=datetime(2025, 1, 1)))


# --- validity ----------------------------------------------------------------------


def test_every_report_and_file_details_passes_schema_and_rules(reports: list[SyntheticReport]) -> None:
    for index, report in enumerate(reports):
        root, node = parse_xml(report.xml)
        validate_schema(root, expect="report")
        violations = check_report(node, now=NOW, prior_report_exists=lambda _: False)
        assert violations == [], (report.scenario, violations, report.xml.decode())
        for position, synthetic in enumerate(report.files):
            details = synthetic.details_xml(5_000_000 + index, f"f{index:03d}{position}")
            root, node = parse_xml(details)
            validate_schema(root, expect="fileDetails")
            assert node.child_text("reportId") == str(5_000_000 + index)
            violations = check_file_details(node, now=NOW, batched=report.batched)
            assert violations == [], (report.scenario, violations, details.decode())


def test_every_timestamp_is_before_now(reports: list[SyntheticReport]) -> None:
    for root in _roots(reports) + _file_roots(reports):
        for el in root.iter("incidentDateTime", "dateTime", "uploadedToEspTimestamp"):
            assert datetime.fromisoformat(el.text.replace("Z", "+00:00")) < NOW  # type: ignore[union-attr]


# --- the mix ---------------------------------------------------------------------


def test_realistic_mix(reports: list[SyntheticReport]) -> None:
    scenarios = Counter(r.scenario for r in reports)
    roots = _roots(reports)
    incident_types = Counter(root.findtext("incidentSummary/incidentType") for root in roots)
    assert incident_types.most_common(1)[0][0].startswith("Child Pornography")
    assert len(incident_types) >= 4
    assert scenarios["viral_meme"] >= 3
    assert sum(r.escalated for r in reports) >= 5
    assert all((root.find("incidentSummary/escalateToHighPriority") is not None) == r.escalated for r, root in zip(reports, roots))
    annotations = {el.tag for root in roots for el in root.iterfind("incidentSummary/reportAnnotations/*")}
    assert annotations >= {"sextortion", "csamSolicitation", "minorToMinorInteraction", "sadisticOnlineExploitation"}
    countries = Counter(r.country for r in reports)
    assert countries.most_common(1)[0][0] == "PS"
    assert len(countries) >= 8
    texts = " ".join(el.text or "" for root in roots for el in root.iter("content", "escalateToHighPriority", "additionalInfo"))
    assert any("\u0600" <= ch <= "\u06ff" for ch in texts), "no Arabic free text"
    assert any("a" <= ch <= "z" for ch in texts), "no English free text"


def test_batched_reports_follow_appendix_e(reports: list[SyntheticReport]) -> None:
    batched = [r for r in reports if r.batched]
    assert batched
    for report in batched:
        root = etree.fromstring(report.xml)
        assert root.find("batchedReport").get("reason") == "VIRAL_POTENTIAL_MEME"  # type: ignore[union-attr]
        reported = root.findall("personOrUserReported")
        assert len(reported) > 1
        assert all([child.tag for child in person] == ["espIdentifier"] for person in reported)
        assert len(report.files) == 1
        details = etree.fromstring(report.files[0].details_xml(1, "x"))
        marks = {el.tag for el in details.iterfind("fileAnnotations/*")}
        assert marks and marks <= {"viral", "potentialMeme"}
    # The same meme, byte for byte, in every batched report.
    assert len({r.files[0].data for r in batched}) == 1


def test_people_and_devices_look_right(reports: list[SyntheticReport]) -> None:
    roots = _roots(reports)
    ages = [int(el.text) for root in roots for el in root.iterfind("victim/victimPerson/age")]  # type: ignore[arg-type]
    assert ages and all(8 <= age <= 17 for age in ages)
    codes = {el.get("countryCallingCode") for root in roots for el in root.iter("phone", "phoneNumber")}
    assert {"+970", "+972", "+20", "+962", "+966"} <= codes
    for root in roots:
        for device in root.iter("deviceId"):
            value = device.findtext("idValue") or ""
            if device.findtext("idType") == "IMEI":
                assert len(value) == 15 and luhn_valid(value), value
            if device.findtext("idType") == "ICCID":
                assert value.startswith("89") and luhn_valid(value), value
        for location in root.iter("estimatedLocation"):
            assert location.findtext("countryCode")


# --- recurring suspects, so that linking has something to find ------------------------


def test_recurring_identifiers_exist(reports: list[SyntheticReport]) -> None:
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    for index, root in enumerate(_roots(reports)):
        for person in root.iterfind("personOrUserReported"):
            for el in person.iterfind("personOrUserReportedPerson/phone"):
                seen[("phone", el.text or "")].add(index)
            for el in person.iterfind("personOrUserReportedPerson/email"):
                seen[("email", el.text or "")].add(index)
            for el in person.iterfind("deviceId/idValue"):
                seen[("device", el.text or "")].add(index)
    shared = Counter(kind for (kind, _), where in seen.items() if len(where) > 1)
    assert shared["phone"] >= 3 and shared["email"] >= 3 and shared["device"] >= 3, shared

    by_suspect: dict[str, list[SyntheticReport]] = defaultdict(list)
    for report in reports:
        if report.suspect_key:
            by_suspect[report.suspect_key].append(report)
    assert sum(len(group) > 1 for group in by_suspect.values()) >= 5
    # A recurring suspect's reports share at least their first phone.
    for group in by_suspect.values():
        phones = [etree.fromstring(r.xml).findtext("personOrUserReported/personOrUserReportedPerson/phone") for r in group]
        assert len(set(phones)) == 1


def test_recurring_files_give_hash_matches(reports: list[SyntheticReport]) -> None:
    owners: dict[str, set[int]] = defaultdict(set)
    for index, report in enumerate(reports):
        if not report.batched:
            for synthetic in report.files:
                owners[hashlib.md5(synthetic.data).hexdigest()].add(index)
    assert any(len(where) > 1 for where in owners.values())
    # ...and most files are distinct re-encodings.
    assert len(owners) > 0.6 * sum(len(r.files) for r in reports if not r.batched)


# --- data policy (SPEC §6) ----------------------------------------------------------------


def test_emails_urls_and_ips_are_reserved_for_documentation(reports: list[SyntheticReport]) -> None:
    own_networks = [net for pair in COUNTRY_NETWORKS.values() for net in pair]
    for root in _roots(reports) + _file_roots(reports):
        for el in root.iter("email", "emailAddress"):
            assert (el.text or "").rsplit("@", 1)[1].endswith(EXAMPLE_DOMAINS), el.text
        for el in root.iter("url", "profileUrl", "legalURL", "locationOfFile"):
            assert (urlsplit(el.text or "").hostname or "").endswith(EXAMPLE_DOMAINS), el.text
        for el in root.iter("companyTemplate"):
            assert "@" not in (el.text or "") or all(
                word.rsplit("@", 1)[1].rstrip(".").endswith(EXAMPLE_DOMAINS) for word in (el.text or "").split() if "@" in word
            )
        for el in root.iter("ipAddress"):
            address = ipaddress.ip_address(el.text or "")
            assert any(address in net for net in DOCUMENTATION_NETWORKS), address
            assert any(address in net for net in own_networks), address


def test_country_networks_tile_the_documentation_ranges() -> None:
    v4 = [pair[0] for pair in COUNTRY_NETWORKS.values()]
    assert all(any(net.subnet_of(doc) for doc in DOCUMENTATION_NETWORKS[:3]) for net in v4)
    assert sum(net.num_addresses for net in v4) == 3 * 256
    assert all(pair[1].subnet_of(DOCUMENTATION_NETWORKS[3]) for pair in COUNTRY_NETWORKS.values())  # type: ignore[arg-type]
    assert set(COUNTRY_NETWORKS) == set(CITIES)


def test_names_come_only_from_the_invented_lists(reports: list[SyntheticReport]) -> None:
    first_names = set(FIRST_NAMES_AR) | set(FIRST_NAMES_EN) | {"Trust"}
    family_names = set(FAMILY_NAMES_AR) | set(FAMILY_NAMES_EN) | {"Safety Team"}
    for root in _roots(reports):
        for el in root.iter("firstName"):
            assert el.text in first_names, el.text
        for el in root.iter("lastName", "middleName"):
            assert el.text in family_names, el.text


def test_files_are_the_shipped_benign_images(reports: list[SyntheticReport]) -> None:
    shipped = {p.name for p in IMAGES_DIR.iterdir()}
    assert shipped == set(IMAGE_NAMES) | {"LICENSE-ThreatExchange.txt"}
    for report in reports:
        for synthetic in report.files:
            assert synthetic.source_image in IMAGE_NAMES
            with Image.open(io.BytesIO(synthetic.data)) as image:
                assert image.format in ("JPEG", "PNG")
                assert max(image.size) <= 480


@needs_reference
def test_shipped_images_are_byte_identical_to_the_reference_set() -> None:
    with (REFERENCE / "pdq" / "expected.csv").open() as handle:
        md5_by_name = {Path(row["path"]).name: row["md5"] for row in csv.DictReader(handle)}
    for name in IMAGE_NAMES:
        assert hashlib.md5((IMAGES_DIR / name).read_bytes()).hexdigest() == md5_by_name[name], name
    license_text = (IMAGES_DIR / "LICENSE-ThreatExchange.txt").read_text()
    assert "BSD" in license_text
