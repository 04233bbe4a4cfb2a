"""VICS shapes seen in the field (pure: no database)."""
from __future__ import annotations

import json

import pytest

from himaya.media.vics import ListFormatError, parse_csv, parse_lines, parse_vics


def test_media_entity_set_with_items_directly_under_value():
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
           "value": [{"MediaID": 1, "Category": 0, "MD5": "ADEBF3FA3C9BE7F73825E1CB9E2DEA09", "SHA1": "2B037F69C566DFDB3A5A79E5360D085959BDDE4C",
                      "MediaSize": 2835, "IsPrecategorized": "true", "DateUpdated": "2023-06-07T02:31:49.8300Z"}]}
    version, entries = parse_vics(json.dumps(doc).encode())
    assert version == "2.0"
    assert [(e.algorithm, e.value, e.category, e.media_id) for e in entries] == [
        ("md5", "adebf3fa3c9be7f73825e1cb9e2dea09", "0", "1"), ("sha1", "2b037f69c566dfdb3a5a79e5360d085959bdde4c", "0", "1")]
    assert entries[0].extra == {"MediaSize": 2835, "IsPrecategorized": "true", "DateUpdated": "2023-06-07T02:31:49.8300Z"}


def test_caid_categories_and_bad_ones():
    assert parse_csv(b"md5,category\n" + b"a" * 32 + b",Category B\n", scheme="caid")[0].category == "B"
    with pytest.raises(ListFormatError, match="not in the caid scheme"):
        parse_csv(b"md5,category\n" + b"a" * 32 + b",D\n", scheme="caid")


def test_plain_lines_by_length_prefix_and_comments():
    entries = parse_lines(b"# seized 2026\n" + b"A" * 32 + b"\nsha-1:" + b"b" * 40 + b"\npdq:" + b"c" * 64 + b"\n\n" + b"d" * 64 + b"  # sha256\n")
    assert [e.algorithm for e in entries] == ["md5", "sha1", "pdq", "sha256"]
    assert parse_lines(b"e" * 64 + b"\n", algorithm="pdq")[0].algorithm == "pdq"


@pytest.mark.parametrize("data", [b"", b"{}", b'{"value": []}', b'{"value": [{"Media": {}}]}', b'{"value": [{"MediaID": 3}]}'])
def test_empty_or_malformed_vics_is_refused(data):
    with pytest.raises(ListFormatError):
        parse_vics(data)


def test_pdq_and_vpdq_travel_in_alternative_hashes_and_survive_a_round_trip():
    from himaya.media.vics import export_vics

    frames = ["a" * 64, "b" * 64, "a" * 64]  # a video may repeat a frame hash: every frame is kept, in order
    entries = [{"algorithm": "vpdq", "value": v, "media_id": "video-7", "category": "1", "series": "", "victim_identified": None,
                "is_distributed": None, "extra": {}} for v in frames]
    entries.append({"algorithm": "pdq", "value": "c" * 64, "media_id": "", "category": "", "series": "", "victim_identified": None,
                    "is_distributed": None, "extra": {"MediaSize": 2835}})
    doc = json.loads(export_vics(name="L", version=3, entries=entries))
    media = doc["value"][0]["Media"]
    assert media[0]["AlternativeHashes"] == [{"HashName": "vPDQ", "HashValue": v} for v in frames] and media[0]["MediaID"] == "video-7"
    assert media[1]["AlternativeHashes"] == [{"HashName": "PDQ", "HashValue": "c" * 64}] and media[1]["MediaSize"] == 2835
    version, parsed = parse_vics(json.dumps(doc).encode())
    assert version == "2.0"
    assert [(e.algorithm, e.value, e.media_id, e.category) for e in parsed] == [
        ("vpdq", "a" * 64, "video-7", "1"), ("vpdq", "b" * 64, "video-7", "1"), ("vpdq", "a" * 64, "video-7", "1"), ("pdq", "c" * 64, "2", "")]
    assert parsed[3].extra == {"MediaSize": 2835}


def test_alternative_hashes_from_other_tools():
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
           "value": [{"Media": [
               {"MediaID": 4, "Category": 1, "MD5": "A" * 32, "AlternativeHashes": [{"HashName": "PhotoDNA", "HashValue": "QUJD"}, {"HashName": "F1", "HashValue": "x"}]},
               {"Category": 2, "AlternativeHashes": [{"HashName": "vpdq", "HashValue": "D" * 64}, {"HashName": "VPDQ", "HashValue": "E" * 64}]},
           ]}]}
    _, parsed = parse_vics(json.dumps(doc).encode())
    assert [(e.algorithm, e.value) for e in parsed] == [("md5", "a" * 32), ("photodna", "QUJD"), ("vpdq", "d" * 64), ("vpdq", "e" * 64)]
    assert parsed[2].media_id == parsed[3].media_id == "value[0].Media[1]"  # one video's frames stay together without a MediaID
    bad = {"value": [{"Media": [{"MediaID": 1, "AlternativeHashes": [{"HashName": "PDQ", "HashValue": "zz"}]}]}]}
    with pytest.raises(ListFormatError, match=r"value\[0\]\.Media\[0\]\.AlternativeHashes\[0\]: 'zz' is not a PDQ hash"):
        parse_vics(json.dumps(bad).encode())
