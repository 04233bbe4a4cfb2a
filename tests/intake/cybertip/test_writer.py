from __future__ import annotations

import pytest

from himaya.intake.cybertip import Node, canonical, equivalent, parse_xml, to_xml, validate_schema

from .samples import (
    BATCHED_FILE_DETAILS,
    BATCHED_REPORT,
    FILE_DETAILS,
    FULL_FILE_DETAILS,
    FULL_REPORT,
    MINIMAL_REPORT,
)

ALL_SAMPLES = [MINIMAL_REPORT, FULL_REPORT, BATCHED_REPORT, FILE_DETAILS, FULL_FILE_DETAILS, BATCHED_FILE_DETAILS]


@pytest.mark.parametrize("document", ALL_SAMPLES)
def test_round_trip_law(document: bytes) -> None:
    _, node = parse_xml(document)
    written = to_xml(node)
    assert parse_xml(written)[1] == canonical(node)
    assert equivalent(written, document)
    # Writing is stable: what we write, we write again unchanged.
    assert to_xml(parse_xml(written)[1]) == written


@pytest.mark.parametrize("document", ALL_SAMPLES)
def test_written_documents_are_valid(document: bytes) -> None:
    root, node = parse_xml(to_xml(parse_xml(document)[1]))
    validate_schema(root, expect=node.tag)


def test_all_groups_are_written_in_schema_order() -> None:
    written = to_xml(parse_xml(FULL_FILE_DETAILS)[1]).decode()
    positions = [written.index(f"<{tag}/>") for tag in ("animeDrawingVirtualHentai", "potentialMeme", "viral", "generativeAi")]
    assert positions == sorted(positions)
    report = to_xml(parse_xml(FULL_REPORT)[1]).decode()
    assert report.index("<sextortion/>") < report.index("<csamSolicitation/>") < report.index("<spam/>")


def test_leaf_text_is_never_touched() -> None:
    written = to_xml(parse_xml(FULL_REPORT)[1]).decode()
    assert "<platform>  منصة الدردشة  </platform>" in written
    assert "<additionalInfo>   leading and trailing spaces   </additionalInfo>" in written
    assert "<emailAddress> child@example.org </emailAddress>" in written
    assert "<incidentDateTimeDescription>Time of &lt;first&gt; message</incidentDateTimeDescription>" in written
    assert "<content>line 1\nline 2</content>" in written
    assert "<additionalInfo>page Aم</additionalInfo>" in written


def test_special_characters_survive() -> None:
    node = Node("report", children=[
        Node("additionalInfo", attrs={"note": 'a "quoted"\tvalue\n&<>'}, text="cr\r\nlf & <tag> ]]> \u0645"),
        Node("empty"),
    ])
    back = parse_xml(to_xml(node))[1]
    assert back == node


def test_format() -> None:
    node = parse_xml(MINIMAL_REPORT)[1]
    written = to_xml(node)
    assert written.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation=')
    assert b"\n  <incidentSummary>\n    <incidentType>" in written
    bare = to_xml(node, xml_declaration=False)
    assert bare.startswith(b"<report ")
    assert to_xml(Node("report", attrs={"b": "1", "a": "2"}), xml_declaration=False) == b'<report b="1" a="2"/>'


def test_mixed_content_is_written_without_indentation() -> None:
    node = Node("report", text=" x ", children=[Node("a", text="1")])
    assert to_xml(node, xml_declaration=False) == b"<report> x <a>1</a></report>"


def test_json_stored_tree_writes_the_same_document() -> None:
    node = parse_xml(FULL_REPORT)[1]
    assert to_xml(Node.from_json(node.to_json())) == to_xml(node)
