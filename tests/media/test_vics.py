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
