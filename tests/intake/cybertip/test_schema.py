from __future__ import annotations

import threading

import pytest

from himaya.intake.cybertip import XSD_PATH, SchemaInvalid, parse_xml, schema_order, validate_schema
from himaya.intake.cybertip.schema import ALL_GROUP_TAGS, element_info, is_all_group

from .samples import BATCHED_FILE_DETAILS, BATCHED_REPORT, FILE_DETAILS, FULL_FILE_DETAILS, FULL_REPORT, MINIMAL_REPORT


def test_the_packaged_xsd_is_the_reference_copy() -> None:
    assert XSD_PATH.is_file()
    assert XSD_PATH.name == "cybertipline-report.xsd"


@pytest.mark.parametrize("document", [MINIMAL_REPORT, FULL_REPORT, BATCHED_REPORT])
def test_valid_reports(document: bytes) -> None:
    validate_schema(parse_xml(document)[0], expect="report")


@pytest.mark.parametrize("document", [FILE_DETAILS, FULL_FILE_DETAILS, BATCHED_FILE_DETAILS])
def test_valid_file_details(document: bytes) -> None:
    validate_schema(parse_xml(document)[0], expect="fileDetails")


def test_wrong_root() -> None:
    with pytest.raises(SchemaInvalid) as caught:
        validate_schema(parse_xml(FILE_DETAILS)[0], expect="report")
    assert caught.value.messages == ["root element must be <report>, not <fileDetails>"]
    with pytest.raises(SchemaInvalid):
        validate_schema(parse_xml(b'<report xmlns="urn:x"/>')[0], expect="report")


def test_unknown_expectation_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate_schema(parse_xml(MINIMAL_REPORT)[0], expect="victim")


def test_errors_carry_line_numbers() -> None:
    document = MINIMAL_REPORT.replace(b"<incidentType>Child Pornography", b"<incidentType>Something Else")
    document = document.replace(b"<lastName>Smith</lastName>", b"<lastName>Smith</lastName><shoeSize>9</shoeSize>")
    with pytest.raises(SchemaInvalid) as caught:
        validate_schema(parse_xml(document)[0], expect="report")
    messages = caught.value.messages
    assert len(messages) == 2
    assert messages[0].startswith("line 5: ") and "incidentType" in messages[0]
    assert messages[1].startswith("line 23: ") and "shoeSize" in messages[1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<incidentDateTime>2012-10-15T08:00:00-07:00", b"<incidentDateTime>yesterday"),
        (b"<sextortion />", b"<sextortion>false</sextortion>"),  # fixed="true"
        (b"<reportAnnotations>", b"<reportAnnotations><spam/>"),  # twice in an xs:all
        (b"<webPageIncident>", b"<chatImIncident/><webPageIncident>"),  # choice of one
        (b"<reporter>", b"<reporter><unknown/>"),
        (b"</report>", b"<batchedReport reason='OTHER'/></report>"),
    ],
)
def test_invalid_reports(old: bytes, new: bytes) -> None:
    assert MINIMAL_REPORT.count(old) == 1
    with pytest.raises(SchemaInvalid):
        validate_schema(parse_xml(MINIMAL_REPORT.replace(old, new))[0], expect="report")


def test_file_details_choice_of_annotation_forms() -> None:
    both = b"<fileDetails><reportId>1</reportId><fileId>f</fileId><potentialMeme>true</potentialMeme><fileAnnotations/></fileDetails>"
    with pytest.raises(SchemaInvalid):
        validate_schema(parse_xml(both)[0], expect="fileDetails")


def test_schema_order() -> None:
    assert schema_order("reportAnnotations") == [
        "sextortion", "csamSolicitation", "minorToMinorInteraction", "spam", "sadisticOnlineExploitation",
    ]
    assert schema_order("fileAnnotations") == [
        "animeDrawingVirtualHentai", "potentialMeme", "viral", "possibleSelfProduction", "physicalHarm",
        "violenceGore", "bestiality", "liveStreaming", "infant", "generativeAi",
    ]
    assert schema_order("address") == ["address", "city", "zipCode", "state", "nonUsaState", "country"]
    assert schema_order("report")[:2] == ["batchedReport", "incidentSummary"]
    assert schema_order("incidentType") is None
    assert ALL_GROUP_TAGS == {"reportAnnotations", "fileAnnotations"}
    assert is_all_group("fileAnnotations") and not is_all_group("report")


def test_element_info_knows_repetition_and_types() -> None:
    suspect = element_info("/report/personOrUserReported")
    assert suspect is not None and suspect.repeated
    person = element_info("/report/personOrUserReported/personOrUserReportedPerson")
    assert person is not None and not person.repeated and person.type_name == "person"
    email = element_info("/report/victim/victimPerson/email")
    assert email is not None and email.repeated and email.attributes["verificationDate"] == "xs:dateTime"
    assert element_info("/report/nothing") is None


def test_validation_is_thread_safe() -> None:
    good = parse_xml(FULL_REPORT)[0]
    bad_document = FULL_REPORT.replace(b"<port>443</port>", b"<port>https</port>")
    failures: list[str] = []

    def work(valid: bool) -> None:
        root = good if valid else parse_xml(bad_document)[0]
        for _ in range(50):
            try:
                validate_schema(root, expect="report")
                if not valid:
                    failures.append("invalid document passed")
            except SchemaInvalid as error:
                if valid:
                    failures.append(f"valid document failed: {error.messages}")
                elif not any("port" in m for m in error.messages):
                    failures.append(f"another thread's errors: {error.messages}")

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
