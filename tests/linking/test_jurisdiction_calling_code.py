"""Jurisdiction before referral (issue 17, item 5): the calling code a provider
states is never replaced by the unit's region, and how the clues combine when
they disagree (README, "Location and jurisdiction")."""
from __future__ import annotations

import pytest

from himaya.linking.jurisdiction import Clue, decide
from himaya.linking.normalize import normalize, normalize_phone, phone_country

# 599123456 is a Palestinian mobile number's national part; with "+1" it is no
# NANP number (NANP numbers have ten digits).
NOT_NANP = "0599123456"


def test_stated_plus_one_is_not_reread_as_a_number_of_the_units_country() -> None:
    e164 = normalize_phone(NOT_NANP, calling_code="+1", region="PS")
    assert e164 == "+1599123456"  # stays under +1, as the provider stated it
    assert phone_country(e164) is None  # +1 is shared by NANP countries and this number names none
    key = normalize("phone", NOT_NANP, qualifier="+1", region="PS")
    assert key is not None and key.key == "phone:+1599123456"


def test_stated_calling_code_still_reads_valid_numbers() -> None:
    assert normalize_phone("2025550143", calling_code="+1", region="PS") == "+12025550143"
    assert phone_country("+12025550143") == "US"
    assert normalize_phone("0599123456", calling_code="+970", region="EG") == "+970599123456"
    # Only a number without a stated calling code is read as a number of the unit's country.
    assert normalize_phone(NOT_NANP, region="PS") == "+970599123456"
    assert normalize_phone("12", calling_code="+1", region="PS") is None


def test_disagreeing_clues() -> None:
    us_place = Clue("estimated_location", "US", "", "US", "reported")
    eg_phone = Clue("phone", "EG", "", "+201000000001", "reported")
    eg_ip = Clue("ip", "EG", "", "41.33.10.20", "reported")
    ps_ip = Clue("ip", "PS", "", "213.6.10.20", "reported")
    # Any clue placing a person at home makes the report ours, whatever the others say.
    assert decide([us_place, eg_phone, ps_ip], home="PS")["decision"] == "ours"
    # Otherwise the best-supported country: estimatedLocation 3 > phone 2 > IP 1 ...
    assert decide([us_place, eg_phone], home="PS")["country"] == "US"
    assert decide([eg_phone, Clue("ip", "US", "", "x", "reported")], home="PS")["country"] == "EG"
    # ... clues add up, and a tie goes to the weightiest single clue, not to the alphabet:
    j = decide([us_place, eg_phone, eg_ip], home="PS")  # 3 against 2 + 1
    assert (j["decision"], j["country"]) == ("foreign", "US")
    second_eg_ip = Clue("ip", "EG", "", "41.33.10.21", "reported")
    assert decide([us_place, eg_phone, eg_ip, second_eg_ip], home="PS")["country"] == "EG"  # 3 against 4
    assert decide([], home="PS")["decision"] == "unknown"


@pytest.mark.django_db
def test_us_report_with_a_non_nanp_plus_one_phone_is_not_ours(unit, settings) -> None:  # type: ignore[no-untyped-def]
    from himaya.linking.models import ReportLinkage
    from himaya.triage.selectors import report_triage_summary
    from tests.linking.factory import Person, report_xml, store

    settings.HIMAYA_COUNTRY = "PS"
    us = store(report_xml(suspect=Person(esp_id="us-1", country="US", phones=[(NOT_NANP, "+1")])), unit=unit)
    j = report_triage_summary(us)["jurisdiction"]
    assert j["decision"] == "foreign" and j["country"] == "US"
    entries = set(us.identifier_entries.values_list("key", flat=True))
    assert "phone:+1599123456" in entries and "phone:+970599123456" not in entries
    assert [e["source"] for e in ReportLinkage.objects.get(report=us).evidence] == ["estimated_location"]
    # Only the phone: no country at all, not ours.
    alone = store(report_xml(suspect=Person(esp_id="us-2", phones=[(NOT_NANP, "+1")])), unit=unit)
    assert report_triage_summary(alone)["jurisdiction"]["decision"] == "unknown"


@pytest.mark.django_db
def test_the_clusters_evidence_does_not_move_a_reports_jurisdiction(unit, settings) -> None:  # type: ignore[no-untyped-def]
    from himaya.linking.models import ReportLinkage
    from himaya.triage.selectors import report_triage_summary
    from tests.linking.factory import PS_IP, Person, report_xml, store

    settings.HIMAYA_COUNTRY = "PS"
    here = store(report_xml(suspect=Person(esp_id="h-1", emails=["shared@example.com"], ips=[(PS_IP, False)])), unit=unit)
    abroad = store(report_xml(suspect=Person(esp_id="h-2", emails=["shared@example.com"], country="EG")), unit=unit)
    assert ReportLinkage.objects.get(report=here).cluster_id == ReportLinkage.objects.get(report=abroad).cluster_id
    assert report_triage_summary(here)["jurisdiction"]["decision"] == "ours"
    j = report_triage_summary(abroad)["jurisdiction"]
    assert (j["decision"], j["country"]) == ("foreign", "EG")
