"""Offline IP location and the `himaya geoip` command."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from himaya.linking.geo import locate_ip, parse_ranges
from himaya.linking.jurisdiction import Clue, decide
from tests.linking.factory import EG_IP, PS_IP


def test_packaged_rir_data_without_a_ranges_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert locate_ip(PS_IP, ranges_file=tmp_path / "none.csv").country == "PS"
    assert locate_ip(EG_IP).country == "EG"
    assert locate_ip("192.0.2.1") is None  # documentation range: nowhere


def test_ranges_file_wins_and_gives_regions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "r.csv"
    f.write_text("start,end,country,region\n192.0.2.0,192.0.2.63,PS,Nablus\n2001:db8:1::/48,,PS,Gaza\n# comment\n213.6.10.0,213.6.10.255,PS,Ramallah\n")
    assert locate_ip("192.0.2.10", ranges_file=f).region == "Nablus"
    assert locate_ip("2001:db8:1::5", ranges_file=f).region == "Gaza"
    assert locate_ip(PS_IP, ranges_file=f).region == "Ramallah"
    assert locate_ip(EG_IP, ranges_file=f).country == "EG"  # falls through to the packaged data
    with pytest.raises(ValueError, match="line 2"):
        parse_ranges("192.0.2.0,192.0.2.9,PS\nbad,row,XX\n")
    assert parse_ranges("16777216,16777471,AU\n1.0.1.0,1.0.1.255,-\n") == [(4, 16777216, 16777471, "AU", "")]


def test_decision_rules() -> None:
    assert decide([], home="PS")["decision"] == "unknown"
    mixed = decide([Clue("ip", "EG", detail="x"), Clue("phone", "PS", detail="y")], home="PS")
    assert mixed["decision"] == "ours" and len(mixed["evidence"]) == 2
    foreign = decide([Clue("ip", "EG"), Clue("estimated_location", "JO", "Amman")], home="PS")
    assert foreign == {"country": "JO", "region": "Amman", "decision": "foreign", "evidence": foreign["evidence"]}


@pytest.mark.django_db
def test_update_command(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.HIMAYA_HOME = tmp_path
    src = tmp_path / "lite.csv"
    src.write_text("192.0.2.0/26,,PS,Hebron\n")
    out = StringIO()
    call_command("geoip", "update", str(src), stdout=out)
    assert "1 ranges" in out.getvalue()
    out = StringIO()
    call_command("geoip", "lookup", "::ffff:192.0.2.5", stdout=out)
    assert out.getvalue().split("\t")[:3] == ["192.0.2.5", "PS", "Hebron"]
    bad = tmp_path / "bad.csv"
    bad.write_text("nonsense,here,PS\n")
    with pytest.raises(CommandError):
        call_command("geoip", "update", str(bad))
    assert (tmp_path / "geoip" / "ranges.csv").read_text() == "192.0.2.0/26,,PS,Hebron\n"  # the old file stays


@pytest.mark.django_db
def test_rebuild_command(unit) -> None:  # type: ignore[no-untyped-def]
    from tests.linking.factory import Person, report_xml, store

    store(report_xml(suspect=Person(esp_id="a", emails=["q@example.com"])), unit=unit)
    store(report_xml(suspect=Person(esp_id="b", emails=["q@example.com"])), unit=unit)
    out = StringIO()
    call_command("linking", "rebuild", stdout=out)
    assert "linked 2 reports: 1 links, 1 clusters" in out.getvalue() and "triaged 2 reports" in out.getvalue()
