"""Scenario tests: synthetic people, the right clusters (SPEC §3.3)."""
from __future__ import annotations

import pytest

from himaya.linking.models import ReportLink, ReportLinkage
from himaya.triage.selectors import report_triage_summary
from tests.linking.factory import EG_IP, PS_IP, FileSpec, Person, report_xml, store

pytestmark = pytest.mark.django_db


def cluster(report) -> int:  # type: ignore[no-untyped-def]
    return ReportLinkage.objects.get(report=report).cluster_id


def test_accounts_across_platforms_sharing_phone_email_device_cluster(unit) -> None:  # type: ignore[no-untyped-def]
    # One man, four accounts on three platforms, over months.
    a = store(report_xml(platform="ExampleChat", suspect=Person(esp_id="u-1001", screen_name="falcon_ramallah", phones=[("0599 000 111", "+970")])), unit=unit)
    b = store(report_xml(platform="ExampleGram", suspect=Person(esp_id="g-77", phones=[("+970599000111", "")], emails=["Falcon.R+kids@gmail.com"])), unit=unit)
    c = store(report_xml(platform="ExampleTube", suspect=Person(screen_name="sky_rider_9", emails=["falconr@gmail.com"], devices=[("IMEI", "490154203237518")])), unit=unit)
    d = store(report_xml(platform="ExampleChat", suspect=Person(esp_id="u-2002", devices=[("imei", "49-015420-323751")])), unit=unit)
    stranger = store(report_xml(platform="ExampleChat", suspect=Person(esp_id="u-9999", phones=[("+970599000222", "")])), unit=unit)

    assert cluster(a) == cluster(b) == cluster(c) == cluster(d) == a.id
    assert cluster(stranger) == stranger.id
    summary = report_triage_summary(d)
    assert summary["cluster"] == a.id
    via = {v["kind"] for link in summary["linked_reports"] for v in link["via"]}
    assert "device" in via
    link = next(x for x in summary["linked_reports"] if x["id"] == c.id)
    assert link["strength"] >= 0.9 and link["via"] == [{"kind": "device", "value": "IMEI 49015420323751"}]
    # The older reports about the same accounts show as previously reported.
    linkage = ReportLinkage.objects.get(report=b)
    assert any(p["id"] == a.id and "phone" in p["via"] for p in linkage.previously_reported)


def test_two_strangers_behind_one_cgnat_ip_do_not_merge(unit) -> None:  # type: ignore[no-untyped-def]
    shared_ip = "198.51.100.23"  # one public address of a mobile carrier's NAT pool
    a = store(report_xml(suspect=Person(esp_id="u-1", screen_name="moon_walker", ips=[(shared_ip, False)])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="u-2", screen_name="star_gazer", ips=[(shared_ip, False)])), unit=unit)
    assert cluster(a) != cluster(b)
    link = ReportLink.objects.get(low=a, high=b)
    assert not link.merges and link.strength < 0.7  # shown as weak evidence, not a merge
    # More accounts behind the same address: it is a shared IP and links nobody any more.
    for n in range(3, 7):
        store(report_xml(suspect=Person(esp_id=f"u-{n}", ips=[(shared_ip, False)])), unit=unit)
    e = store(report_xml(suspect=Person(esp_id="u-99", ips=[(shared_ip, False)])), unit=unit)
    assert not ReportLink.objects.filter(high=e).exists()
    notes = ReportLinkage.objects.get(report=e).notes
    assert notes and notes[0]["weak"] == "shared_ip"


def test_proxy_ip_links_nobody(unit) -> None:  # type: ignore[no-untyped-def]
    a = store(report_xml(suspect=Person(esp_id="u-1", ips=[("203.0.113.9", True)])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="u-2", ips=[("203.0.113.9", False)])), unit=unit)
    assert not ReportLink.objects.filter(high=b).exists()
    assert cluster(a) != cluster(b)


def test_same_account_with_ip_and_file_merges(unit) -> None:  # type: ignore[no-untyped-def]
    # Neither an IP nor a file alone merges, both together do (1 − 0.6 × 0.5 = 0.7).
    content = b"synthetic original 1"
    a = store(report_xml(suspect=Person(ips=[("192.0.2.50", False)])), unit=unit, files=[FileSpec(content=content)])
    b = store(report_xml(suspect=Person(ips=[("192.0.2.50", False)])), unit=unit, files=[FileSpec(content=content)])
    assert cluster(a) == cluster(b)


def test_viral_file_reported_by_hundreds_does_not_merge_them(unit) -> None:  # type: ignore[no-untyped-def]
    meme = b"the same viral meme, re-shared"
    reports = []
    for n in range(120):
        reports.append(store(report_xml(suspect=Person(esp_id=f"viewer-{n}", ips=[(f"203.0.113.{n + 1}", False)])),
                             unit=unit, files=[FileSpec(content=meme)]))
    clusters = {cluster(r) for r in reports}
    assert len(clusters) == 120
    # Up to POPULAR_REPORTS the file still makes weak links, then none at all.
    assert ReportLink.objects.filter(merges=True).count() == 0
    assert not ReportLink.objects.filter(high=reports[-1]).exists()
    # Even the batched (annotated viral) kind never links from the first report.
    x = store(report_xml(batched=True, suspect=Person(esp_id="v-1")), unit=unit, files=[FileSpec(content=b"batched meme", annotations=("viral",))])
    y = store(report_xml(batched=True, suspect=Person(esp_id="v-2")), unit=unit, files=[FileSpec(content=b"batched meme", annotations=("viral",))])
    assert not ReportLink.objects.filter(high=y).exists() and cluster(x) != cluster(y)


def test_generic_screen_name_does_not_merge(unit) -> None:  # type: ignore[no-untyped-def]
    a = store(report_xml(suspect=Person(screen_name="admin")), unit=unit)
    b = store(report_xml(suspect=Person(screen_name="Admin")), unit=unit)
    assert cluster(a) != cluster(b)
    c = store(report_xml(suspect=Person(screen_name="falcon_of_jenin")), unit=unit)
    d = store(report_xml(suspect=Person(screen_name="@Falcon_Of_Jenin")), unit=unit)
    assert cluster(c) == cluster(d)


def test_prior_ct_reports_show_as_previously_reported(unit) -> None:  # type: ignore[no-untyped-def]
    first = store(report_xml(suspect=Person(esp_id="u-5")), unit=unit)
    later = store(report_xml(suspect=Person(esp_id="u-6", prior=[first.id, 123456789])), unit=unit)
    prev = ReportLinkage.objects.get(report=later).previously_reported
    assert {"id": first.id, "reference": str(first.id), "via": "priorCTReports"} in prev
    assert {"id": None, "reference": "123456789", "via": "priorCTReports"} in prev


def test_jurisdiction_decisions(unit, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_COUNTRY = "PS"
    ours = store(report_xml(suspect=Person(esp_id="a", ips=[(PS_IP, False)])), unit=unit)
    foreign = store(report_xml(suspect=Person(esp_id="b", ips=[(EG_IP, False)], phones=[("+201000000001", "")])), unit=unit)
    phone = store(report_xml(suspect=Person(esp_id="c", phones=[("599000333", "+970")])), unit=unit)
    place = store(report_xml(suspect=Person(esp_id="d", country="PS", region="Nablus")), unit=unit)
    unknown = store(report_xml(suspect=Person(esp_id="e", ips=[("192.0.2.9", False)])), unit=unit)
    proxy = store(report_xml(suspect=Person(esp_id="f", ips=[(EG_IP, True)])), unit=unit)
    j = lambda r: report_triage_summary(r)["jurisdiction"]  # noqa: E731
    assert j(ours) == {"country": "PS", "region": None, "decision": "ours"}
    assert j(foreign) == {"country": "EG", "region": None, "decision": "foreign"}
    assert j(phone)["decision"] == "ours"
    assert j(place) == {"country": "PS", "region": "Nablus", "decision": "ours"}
    assert j(unknown)["decision"] == "unknown"
    assert j(proxy)["decision"] == "unknown"  # a proxy's address says nothing of the person
    evidence = ReportLinkage.objects.get(report=foreign).evidence
    assert {e["source"] for e in evidence} == {"ip", "phone"}


def test_relinking_is_idempotent(unit) -> None:  # type: ignore[no-untyped-def]
    from himaya.linking.models import IdentifierKey
    from himaya.enrichment.tasks import report_reenrich as report_process

    a = store(report_xml(suspect=Person(esp_id="u-1", emails=["one@example.com"])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="u-2", emails=["one@example.com"])), unit=unit)
    before = list(IdentifierKey.objects.order_by("key").values_list("key", "reports"))
    report_process.call(report_id=b.id)
    report_process.call(report_id=a.id)
    assert list(IdentifierKey.objects.order_by("key").values_list("key", "reports")) == before
    assert ReportLink.objects.count() == 1 and cluster(a) == cluster(b)


def test_other_units_links_are_not_shown(unit) -> None:  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    other = unit_get_or_create(code="unit-b")
    a = store(report_xml(suspect=Person(esp_id="u-1", emails=["x@example.com"])), unit=unit)
    store(report_xml(suspect=Person(esp_id="u-2", emails=["x@example.com"])), unit=other)
    assert report_triage_summary(a)["linked_reports"] == []
