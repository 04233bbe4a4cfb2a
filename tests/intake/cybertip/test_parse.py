from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree

from himaya.intake.cybertip import DEFAULT_MAX_BYTES, Node, XmlMalformed, canonical, equivalent, parse_xml
from himaya.intake.cybertip.parse import from_lxml

from .samples import FULL_REPORT, MINIMAL_REPORT

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<report><additionalInfo>&lol9;</additionalInfo></report>
"""


def _secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY")
    return secret


@pytest.mark.parametrize(
    "template",
    [
        '<?xml version="1.0"?><!DOCTYPE report [<!ENTITY xxe SYSTEM "{uri}">]><report><additionalInfo>&xxe;</additionalInfo></report>',
        '<!DOCTYPE report [<!ENTITY % pe SYSTEM "{uri}"> %pe;]><report/>',
        '<!DOCTYPE report SYSTEM "{uri}"><report/>',
        '<!DOCTYPE report PUBLIC "-//X//Y" "{uri}"><report/>',
        '<report><additionalInfo><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{uri}" parse="text"/></additionalInfo></report>',
    ],
)
def test_external_resources_never_leak(tmp_path: Path, template: str) -> None:
    uri = _secret_file(tmp_path).as_uri()
    data = template.replace("{uri}", uri).encode()
    try:
        root, node = parse_xml(data)
    except XmlMalformed as error:
        assert "CANARY" not in error.message
        return
    # XInclude is not processed: the element stays an element, nothing is read.
    assert b"CANARY" not in etree.tostring(root)
    assert all("CANARY" not in (n.text or "") for _, n in node.path_iter())


def test_xxe_with_etc_passwd_is_malformed() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><report>&x;</report>'
    with pytest.raises(XmlMalformed) as caught:
        parse_xml(data)
    assert "root:" not in caught.value.message
    assert "DOCTYPE" in caught.value.message


def test_billion_laughs_is_malformed_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(XmlMalformed):
        parse_xml(BILLION_LAUGHS)
    # An expanding parser would take minutes and gigabytes; this bound only catches that.
    assert time.perf_counter() - started < 10.0


def test_quadratic_blowup_is_rejected() -> None:
    # One large entity used many times: no amplification limit needed, the DOCTYPE is refused.
    data = (b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 50_000 + b'">]><report>' + b"&a;" * 5_000 + b"</report>")
    with pytest.raises(XmlMalformed):
        parse_xml(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"<report>",
        b"<report></reports>",
        b"not xml at all",
        b"<report>&undefined;</report>",
        b"<report>&#0;</report>",
        b"<?xml version='1.0' encoding='no-such-encoding'?><report/>",
        b"<report/><report/>",
        b"\x00\x01\x02",
        b"<a>" * 300 + b"</a>" * 300,
        b'<report a="1" a="2"/>',
    ],
)
def test_malformed_input_raises_only_xml_malformed(data: bytes) -> None:
    with pytest.raises(XmlMalformed) as caught:
        parse_xml(data)
    assert caught.value.message


def test_oversize_is_refused_before_parsing() -> None:
    with pytest.raises(XmlMalformed) as caught:
        parse_xml(b"<report>" + b" " * 100 + b"</report>", max_bytes=50)
    assert "larger than 50 bytes" in caught.value.message
    with pytest.raises(XmlMalformed):
        parse_xml(b"x" * (DEFAULT_MAX_BYTES + 1))
    parse_xml(MINIMAL_REPORT, max_bytes=len(MINIMAL_REPORT))


def test_non_bytes_is_malformed() -> None:
    with pytest.raises(XmlMalformed):
        parse_xml("<report/>")  # type: ignore[arg-type]
    assert parse_xml(bytearray(b"<report/>"))[1] == Node("report")


def test_declared_encodings_are_honoured() -> None:
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><report><additionalInfo>حماية</additionalInfo></report>'
    assert parse_xml(utf16.encode("utf-16"))[1].child_text("additionalInfo") == "حماية"
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><report><additionalInfo>café</additionalInfo></report>'
    assert parse_xml(latin.encode("latin-1"))[1].child_text("additionalInfo") == "café"
    bom = b"\xef\xbb\xbf<report><additionalInfo>x</additionalInfo></report>"
    assert parse_xml(bom)[1].child_text("additionalInfo") == "x"


def test_leaf_text_is_kept_exactly_and_layout_is_dropped() -> None:
    data = (
        b"<report>\n  <incidentSummary>\n    <platform>  two  spaces  </platform>\n"
        b"    <escalateToHighPriority>\n\t</escalateToHighPriority>\n"
        b"    <incidentDateTimeDescription><![CDATA[<b>&amp;</b>]]> &#x41;&#1605;&lt;</incidentDateTimeDescription>\n"
        b"  </incidentSummary>\n</report>"
    )
    _, node = parse_xml(data)
    summary = node.find("incidentSummary")
    assert node.text is None and summary is not None and summary.text is None
    assert summary.child_text("platform") == "  two  spaces  "
    assert summary.child_text("escalateToHighPriority") == "\n\t"
    assert summary.child_text("incidentDateTimeDescription") == "<b>&amp;</b> A\u0645<"


def test_comments_and_processing_instructions_are_dropped() -> None:
    data = b"<?xml version='1.0'?><?style x?><!-- c --><report><!-- c --><additionalInfo>a<!-- c -->b<?pi x?>c</additionalInfo></report>"
    root, node = parse_xml(data)
    assert node == Node("report", children=[Node("additionalInfo", text="abc")])
    assert len(root) == 1


def test_empty_elements_have_no_text() -> None:
    _, node = parse_xml(b"<report><a/><b></b><c><![CDATA[]]></c></report>")
    assert [child.text for child in node.children] == [None, None, None]


def test_attributes_keep_order_and_clark_names() -> None:
    _, node = parse_xml(MINIMAL_REPORT)
    assert node.attrs == {f"{XSI}noNamespaceSchemaLocation": "https://report.cybertip.org/ispws/xsd"}
    _, phone = parse_xml(b'<phone verified="true" type="Home" extension="1">5</phone>')
    assert list(phone.attrs) == ["verified", "type", "extension"]


def test_namespaced_elements_keep_their_namespace() -> None:
    _, node = parse_xml(b'<report xmlns="urn:other"><x/></report>')
    assert node.tag == "{urn:other}report"


def test_from_lxml_matches_parse() -> None:
    root, node = parse_xml(FULL_REPORT)
    assert from_lxml(root) == node


# --- the Node tree ---------------------------------------------------------------


def test_json_round_trip_is_compact_and_lossless() -> None:
    _, node = parse_xml(FULL_REPORT)
    data = node.to_json()
    assert Node.from_json(data) == node
    assert Node("a", text="").to_json() == {"t": "a", "x": ""}
    assert Node("a").to_json() == {"t": "a"}
    leaf = node.find("reporter").find("reportingPerson").find("email").to_json()
    assert leaf == {
        "t": "email",
        "a": {"verified": "true", "verificationDate": "2024-01-01T00:00:00Z"},
        "x": "jsmith@example.com",
    }


def test_find_findall_child_text() -> None:
    _, node = parse_xml(FULL_REPORT)
    assert node.find("nothing") is None
    assert len(node.findall("internetDetails")) == 8
    assert node.find("reporter").child_text("legalURL") == "https://example.com/legal"
    assert node.child_text("nothing") is None


def test_path_iter_is_depth_first_in_document_order() -> None:
    _, node = parse_xml(MINIMAL_REPORT)
    paths = [path for path, _ in node.path_iter()]
    assert paths[:4] == [
        "/report",
        "/report/incidentSummary",
        "/report/incidentSummary/incidentType",
        "/report/incidentSummary/reportAnnotations",
    ]
    assert paths[-1] == "/report/reporter/reportingPerson/email"
    assert len(paths) == 18


def test_canonical_sorts_only_all_groups() -> None:
    _, node = parse_xml(
        b"<report><incidentSummary><reportAnnotations><spam/><sextortion/></reportAnnotations></incidentSummary>"
        b"<victim><b/><a/></victim></report>"
    )
    result = canonical(node)
    annotations = result.find("incidentSummary").find("reportAnnotations")
    assert [c.tag for c in annotations.children] == ["sextortion", "spam"]
    assert [c.tag for c in result.find("victim").children] == ["b", "a"]
    assert [c.tag for c in node.find("incidentSummary").find("reportAnnotations").children] == ["spam", "sextortion"]


def test_equivalent() -> None:
    shuffled = MINIMAL_REPORT.replace(b"<sextortion />", b"").replace(b"<spam />", b"<spam /><sextortion />")
    assert shuffled != MINIMAL_REPORT
    assert equivalent(shuffled, MINIMAL_REPORT)
    assert equivalent(parse_xml(MINIMAL_REPORT)[1], MINIMAL_REPORT)
    assert not equivalent(MINIMAL_REPORT.replace(b">John<", b"> John<"), MINIMAL_REPORT)
    assert not equivalent(MINIMAL_REPORT.replace(b"<spam />", b""), MINIMAL_REPORT)
    assert not equivalent(MINIMAL_REPORT.replace(b'xsi:noNamespaceSchemaLocation="https', b'xsi:noNamespaceSchemaLocation="http'), MINIMAL_REPORT)
    assert equivalent(b'<phone a="1" b="2">5</phone>', b"<phone b='2' a='1'>5</phone>")


def test_an_empty_container_written_across_lines_equals_an_empty_element() -> None:
    from himaya.intake.cybertip import equivalent

    spread = MINIMAL_REPORT.replace(
        b"<webPageIncident>\n            <url>http://badsite.com/baduri.html</url>\n        </webPageIncident>",
        b"<webPageIncident>\n        </webPageIncident>")
    compact = spread.replace(b"<webPageIncident>\n        </webPageIncident>", b"<webPageIncident/>")
    assert spread != compact
    assert parse_xml(spread)[1].find("internetDetails").find("webPageIncident").text is None
    assert equivalent(spread, compact)
