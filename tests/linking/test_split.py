"""Clusters that split (SPEC §3.3): a key that turns weak after it linked
reports, and a report that leaves. After any sequence of incremental links the
linking tables agree with a from-scratch rebuild."""
from __future__ import annotations

from typing import Any

import pytest

from himaya.linking.models import IdentifierKey, ReportLink, ReportLinkage
from himaya.linking.rebuild import linking_rebuild
from himaya.reports.models import ReportFile
from himaya.triage.models import ReportTriage
from tests.linking.factory import FileSpec, Person, report_xml, store

pytestmark = pytest.mark.django_db
CGNAT_IP = "198.51.100.77"  # one public address of a mobile carrier's NAT pool


def cluster(report) -> int:  # type: ignore[no-untyped-def]
    return ReportLinkage.objects.get(report=report).cluster_id


def graph() -> dict[str, Any]:
    """What a user sees of the graph: each report's cluster and unit cluster, and the links."""
    return {
        "clusters": dict(ReportLinkage.objects.values_list("report_id", "cluster_id")),
        "unit_clusters": dict(ReportLinkage.objects.values_list("report_id", "unit_cluster_id")),
        "merging": set(ReportLink.objects.filter(merges=True).values_list("low_id", "high_id")),
        "links": {(lo, hi): s for lo, hi, s in ReportLink.objects.values_list("low_id", "high_id", "strength")},
        "weak_keys": set(IdentifierKey.objects.exclude(weak="").values_list("key", flat=True)),
    }


def assert_same_as_rebuild() -> dict[str, Any]:
    incremental = graph()
    linking_rebuild()
    rebuilt = graph()
    assert incremental == rebuilt
    return rebuilt


def repeat_reason(report) -> str | None:  # type: ignore[no-untyped-def]
    reasons = ReportTriage.objects.get(report=report).reasons
    return next((r["evidence"] for r in reasons if r["rule"] == "repeat_reporting"), None)


def test_strangers_merged_by_ip_and_file_split_when_the_ip_turns_out_shared(unit, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    picture = b"synthetic picture shared by two strangers"
    a = store(report_xml(suspect=Person(esp_id="s-1", ips=[(CGNAT_IP, False)])), unit=unit, files=[FileSpec(content=picture)])
    # Same address and same file: 1 − 0.6 × 0.5 = 0.7, merged — nothing yet says the address is shared.
    b = store(report_xml(suspect=Person(esp_id="s-2", emails=["kite@example.com"], ips=[(CGNAT_IP, False)])), unit=unit,
              files=[FileSpec(content=picture)])
    c = store(report_xml(suspect=Person(esp_id="s-3", emails=["kite@example.com"])), unit=unit)
    assert cluster(a) == cluster(b) == cluster(c) == a.id
    assert repeat_reason(a) == "3 linked reports in the cluster"
    d = store(report_xml(suspect=Person(esp_id="s-4", ips=[(CGNAT_IP, False)])), unit=unit)
    assert ReportLink.objects.filter(low=a, high=d).exists()  # a weak link while the address looks residential

    # A fourth account behind the address: carrier-grade NAT. What it linked is undone.
    with django_capture_on_commit_callbacks(execute=True):
        e = store(report_xml(suspect=Person(esp_id="s-5", ips=[(CGNAT_IP, False)])), unit=unit)
    assert cluster(a) == a.id
    assert cluster(b) == cluster(c) == b.id  # the part without a takes its smallest id
    ab = ReportLink.objects.get(low=a, high=b)
    assert not ab.merges and ab.strength == 0.5 and [v["kind"] for v in ab.via] == ["file_hash"]
    assert not ReportLink.objects.filter(high__in=[d, e]).exists()
    assert {n["weak"] for n in ReportLinkage.objects.get(report=a).notes} == {"shared_ip"}
    # Triage followed: a's cluster is a alone, b's has two reports.
    assert repeat_reason(a) is None
    assert repeat_reason(b) == "2 linked reports in the cluster"

    after = assert_same_as_rebuild()
    assert after["merging"] == {(b.id, c.id)}


def test_strangers_merged_by_ip_and_file_split_when_the_file_turns_out_viral(unit) -> None:  # type: ignore[no-untyped-def]
    home_ip = "192.0.2.60"
    meme = b"synthetic picture that will go viral"
    g = store(report_xml(suspect=Person(esp_id="v-1", ips=[(home_ip, False)])), unit=unit, files=[FileSpec(content=meme)])
    h = store(report_xml(suspect=Person(esp_id="v-2", ips=[(home_ip, False)])), unit=unit, files=[FileSpec(content=meme)])
    assert cluster(g) == cluster(h) == g.id
    # Another pair shares only a file: a weak link, shown, not merged.
    other = b"another synthetic picture"
    j = store(report_xml(suspect=Person(esp_id="w-1")), unit=unit, files=[FileSpec(content=other)])
    k = store(report_xml(suspect=Person(esp_id="w-2")), unit=unit, files=[FileSpec(content=other)])
    assert ReportLink.objects.get(low=j, high=k).strength == 0.5

    # The meme is re-shared by strangers: more than POPULAR_REPORTS reports name it.
    for n in range(4):
        store(report_xml(suspect=Person(esp_id=f"v-{n + 10}", ips=[(f"203.0.113.{n + 40}", False)])), unit=unit, files=[FileSpec(content=meme)])
    assert cluster(g) == g.id and cluster(h) == h.id
    gh = ReportLink.objects.get(low=g, high=h)
    assert not gh.merges and [v["kind"] for v in gh.via] == ["ip"]
    # A provider annotates the other picture viral: the link it made goes.
    store(report_xml(suspect=Person(esp_id="w-3")), unit=unit, files=[FileSpec(content=other, annotations=("viral",))])
    assert not ReportLink.objects.filter(low=j, high=k).exists()

    after = assert_same_as_rebuild()
    assert after["merging"] == set()


def test_a_deleted_report_splits_the_cluster_it_held_together(unit, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    a = store(report_xml(suspect=Person(esp_id="p-1", emails=["heron@example.com"])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="p-2", emails=["heron@example.com"], phones=[("+970599000444", "")])), unit=unit)
    c = store(report_xml(suspect=Person(esp_id="p-3", phones=[("+970599000444", "")])), unit=unit)
    assert cluster(a) == cluster(c) == a.id
    assert repeat_reason(c).startswith("3 linked reports in the cluster")  # type: ignore[union-attr]
    with django_capture_on_commit_callbacks(execute=True):
        b.delete()
    assert cluster(a) == a.id and cluster(c) == c.id
    assert ReportLinkage.objects.get(report=c).unit_cluster_id == c.id
    assert not ReportLink.objects.exists()
    assert repeat_reason(a) is None and repeat_reason(c) is None
    assert not any(p.get("id") == b.id for p in ReportLinkage.objects.get(report=c).previously_reported)
    assert_same_as_rebuild()


def test_deleting_the_first_report_renames_the_cluster(unit) -> None:  # type: ignore[no-untyped-def]
    a = store(report_xml(suspect=Person(esp_id="q-1", emails=["owl@example.com"])), unit=unit)
    b = store(report_xml(suspect=Person(esp_id="q-2", emails=["owl@example.com"])), unit=unit)
    c = store(report_xml(suspect=Person(esp_id="q-2")), unit=unit)
    a.delete()
    assert cluster(b) == cluster(c) == b.id
    assert assert_same_as_rebuild()["merging"] == {(b.id, c.id)}


def test_a_deleted_report_can_make_an_address_residential_again(unit) -> None:  # type: ignore[no-untyped-def]
    picture = b"synthetic picture of a household"
    reports = [store(report_xml(suspect=Person(esp_id=f"h-{n}", ips=[(CGNAT_IP, False)])), unit=unit,
                     files=[FileSpec(content=picture)] if n < 2 else []) for n in range(4)]
    assert IdentifierKey.objects.get(kind="ip").weak == "shared_ip"
    assert not ReportLink.objects.filter(merges=True).exists()
    # The fourth account's report is deleted: three accounts behind the address, as a household.
    reports[3].delete()
    assert IdentifierKey.objects.get(kind="ip").weak == ""
    assert cluster(reports[0]) == cluster(reports[1]) == reports[0].id  # address and file together merge again
    assert_same_as_rebuild()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_any_sequence_of_reports_and_deletions_agrees_with_a_rebuild(unit, seed) -> None:  # type: ignore[no-untyped-def]
    """Synthetic people drawing from a small pool of addresses, e-mails, phones and
    files, so that keys turn weak along the way; some reports are deleted."""
    import random

    rnd = random.Random(seed)
    ips = [f"198.51.100.{n}" for n in range(1, 4)]
    emails = [f"user{n}@example.com" for n in range(6)]
    phones = [f"+97059900{n:04d}" for n in range(5)]
    pictures = [f"synthetic picture {n}".encode() for n in range(4)]
    stored = []
    for n in range(28):
        person = Person(
            esp_id=f"acct-{rnd.randrange(14)}",
            emails=rnd.sample(emails, rnd.choice([0, 0, 1])),
            phones=[(p, "") for p in rnd.sample(phones, rnd.choice([0, 0, 1]))],
            ips=[(ip, rnd.random() < 0.1) for ip in rnd.sample(ips, rnd.choice([0, 1, 1, 2]))],
        )
        files = [FileSpec(content=c, annotations=("viral",) if rnd.random() < 0.05 else ()) for c in rnd.sample(pictures, rnd.choice([0, 1, 1]))]
        stored.append(store(report_xml(suspect=person), unit=unit, files=files))
        if n % 9 == 8:
            gone = stored.pop(rnd.randrange(len(stored)))
            ReportFile.objects.filter(report=gone).delete()  # files protect their report
            gone.delete()
    incremental = graph()
    assert len(set(incremental["clusters"].values())) < len(stored)  # something merged
    assert_same_as_rebuild()


def test_a_file_on_a_viral_list_links_nobody_in_a_rebuild_either(unit) -> None:  # type: ignore[no-untyped-def]
    from himaya.core.storage import blob_put, incoming_from_bytes
    from django.utils import timezone

    from himaya.enrichment.tasks import report_reenrich as report_process
    from himaya.media.models import FileStatus, HashState, MediaState

    home_ip = "192.0.2.61"
    meme = b"synthetic picture found on a viral list"
    blob = blob_put(incoming_from_bytes(meme))
    # As a match on a viral list leaves it: hashed, matched, viral (the enrichment's media stage keeps it).
    MediaState.objects.update_or_create(blob=blob, defaults={"status": FileStatus.VIRAL, "state": HashState.HASHED, "matched_at": timezone.now()})
    g = store(report_xml(suspect=Person(esp_id="m-1", ips=[(home_ip, False)])), unit=unit, files=[FileSpec(content=meme)], process=False)
    ReportFile.objects.filter(report=g).update(blob=blob)
    report_process.call(report_id=g.id)
    h = store(report_xml(suspect=Person(esp_id="m-2", ips=[(home_ip, False)])), unit=unit, files=[FileSpec(content=meme)], process=False)
    ReportFile.objects.filter(report=h).update(blob=blob)
    report_process.call(report_id=h.id)
    # Address and file would make 0.7 together; the file is a meme, so only the address counts.
    assert cluster(g) == g.id and cluster(h) == h.id
    after = assert_same_as_rebuild()
    assert after["merging"] == set()
