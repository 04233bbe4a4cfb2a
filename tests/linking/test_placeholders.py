"""Placeholder and garbage identifiers never merge strangers (issue 19 item 4).

A provider's placeholder contact — a no-reply address, a dummy phone — or a
device ID that is not one (a wrong check digit, a broadcast MAC) appears on the
accounts of people who have nothing else in common; joining them on it makes one
"offender" of strangers.
"""
from __future__ import annotations

import pytest

from himaya.linking.extract import SHARED_ACCOUNTS, KeyStats, key_weakness
from himaya.linking.models import IdentifierKey, ReportLink, ReportLinkage
from himaya.linking.normalize import luhn_valid, normalize_device
from himaya.linking.rebuild import linking_rebuild
from himaya.triage.labels import WEAK_LABELS
from tests.linking.factory import Person, report_xml, store

PLACEHOLDER = "no-reply@example.net"


def test_identifier_of_many_accounts_is_weak_whatever_its_kind() -> None:
    for kind in ("email", "phone", "device", "screen_name", "url"):
        few = KeyStats(reports=2, accounts={f"esp_id:{n}" for n in range(SHARED_ACCOUNTS)})
        many = KeyStats(reports=2, accounts={f"esp_id:{n}" for n in range(SHARED_ACCOUNTS + 1)})
        assert key_weakness(kind, few) == "", kind  # one person's handful of accounts still link
        assert key_weakness(kind, many) == "many_accounts", kind
    # A platform user id is the account itself: it cannot be behind many.
    assert key_weakness("esp_id", KeyStats(reports=50, accounts={f"a{n}" for n in range(50)})) == ""
    assert "many_accounts" in WEAK_LABELS


def test_device_ids_that_name_no_device() -> None:
    assert luhn_valid("490154203237518") and not luhn_valid("490154203237519")
    assert normalize_device("490154203237519", "IMEI") is None  # wrong check digit: a typo or made up
    assert normalize_device("111111111111111", "IMEI") is None  # filler
    assert normalize_device("123456789012347", "IMEI") is None  # filler, even with a valid check digit
    assert normalize_device("3569380356438091", "IMEISV") is not None or normalize_device("3569380356438091", "IMEI") == ("IMEI", "35693803564380")
    assert normalize_device("FF:FF:FF:FF:FF:FF", "MAC") is None  # broadcast
    assert normalize_device("01:00:5E:00:00:FB", "MAC") is None  # multicast
    assert normalize_device("00:1A:2B:3C:4D:5E", "MAC") == ("MAC", "001A2B3C4D5E")


@pytest.mark.django_db
def test_placeholder_email_does_not_merge_strangers_and_the_panel_says_why(unit) -> None:  # type: ignore[no-untyped-def]
    # One man with three accounts, all giving his own email and the placeholder.
    own = [store(report_xml(suspect=Person(esp_id=f"man-{n}", emails=["falcon.r@example.com", PLACEHOLDER])), unit=unit) for n in range(3)]
    # Strangers whose only common trait is the provider's placeholder address.
    strangers = [store(report_xml(suspect=Person(esp_id=f"stranger-{n}", emails=[PLACEHOLDER])), unit=unit)
                 for n in range(SHARED_ACCOUNTS + 2)]
    clusters = {ReportLinkage.objects.get(report=r).cluster_id for r in strangers}
    assert len(clusters) == len(strangers), "strangers merged through a placeholder address"
    assert len({ReportLinkage.objects.get(report=r).cluster_id for r in own}) == 1  # his accounts still link through his own email
    assert IdentifierKey.objects.get(key=f"email:{PLACEHOLDER}").weak == "many_accounts"
    notes = ReportLinkage.objects.get(report=strangers[-1]).notes
    assert any(n["weak"] == "many_accounts" and n["value"] == PLACEHOLDER for n in notes)
    assert not ReportLink.objects.filter(high=strangers[-1]).exists()

    # A rebuild from scratch agrees with the incremental path.
    before = {r.id: ReportLinkage.objects.get(report=r).cluster_id for r in own + strangers}
    linking_rebuild()
    after = {r.id: ReportLinkage.objects.get(report=r).cluster_id for r in own + strangers}
    assert before == after
    assert IdentifierKey.objects.get(key=f"email:{PLACEHOLDER}").weak == "many_accounts"
