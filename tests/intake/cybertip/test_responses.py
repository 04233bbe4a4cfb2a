from __future__ import annotations

import pytest

from himaya.intake.cybertip import (
    RESPONSE_CODES,
    parse_xml,
    report_done_response,
    report_response,
    status_response,
    validate_schema,
)

DOCUMENTED_CODES = {
    0: "Success",
    1000: "Server error",
    1100: "Save failed",
    1110: "Upload failed",
    1111: "File upload failed",
    1210: "Resource not found",
    1300: "Update failed",
    2000: "Authentication required",
    3000: "User is not authorized to perform this action",
    3100: "User does not have authorization to make submissions",
    3300: "User does not have authorization to make updates",
    4000: "Invalid request",
    4100: "Validation failed",
    4110: "Malformed XML submittal",
    4200: "Malformed file submittal",
    5001: "Report does not exist",
    5002: "File does not exist",
    5101: "Report already retracted",
    5102: "Report already finished",
}


def test_codes_are_exactly_the_documented_list() -> None:
    assert RESPONSE_CODES == DOCUMENTED_CODES


def test_submit_response_matches_the_documentation() -> None:
    assert report_response(0, report_id=4564654) == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b"<reportResponse>\n"
        b"    <responseCode>0</responseCode>\n"
        b"    <responseDescription>Success</responseDescription>\n"
        b"    <reportId>4564654</reportId>\n"
        b"</reportResponse>\n"
    )


def test_upload_response_matches_the_documentation() -> None:
    assert report_response(
        0, report_id=4564654, file_id="b0754af766b426f2928a02c651ed4b99", md5="fafa5efeaf3cbe3b23b2748d13e629a1"
    ) == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b"<reportResponse>\n"
        b"    <responseCode>0</responseCode>\n"
        b"    <responseDescription>Success</responseDescription>\n"
        b"    <reportId>4564654</reportId>\n"
        b"    <fileId>b0754af766b426f2928a02c651ed4b99</fileId>\n"
        b"    <hash>fafa5efeaf3cbe3b23b2748d13e629a1</hash>\n"
        b"</reportResponse>\n"
    )


def test_finish_response_matches_the_documentation() -> None:
    assert report_done_response(0, report_id=4564654, file_ids=["b0754af766b426f2928a02c651ed4b99"]) == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b"<reportDoneResponse>\n"
        b"    <responseCode>0</responseCode>\n"
        b"    <reportId>4564654</reportId>\n"
        b"    <files>\n"
        b"        <fileId>b0754af766b426f2928a02c651ed4b99</fileId>\n"
        b"    </files>\n"
        b"</reportDoneResponse>\n"
    )


def test_status_response_matches_the_documentation() -> None:
    assert status_response(username="usr123", ip="203.0.113.5") == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b"<reportResponse>\n"
        b"    <responseCode>0</responseCode>\n"
        b"    <responseDescription>Remote User : usr123, Remote Ip : 203.0.113.5</responseDescription>\n"
        b"</reportResponse>\n"
    )


@pytest.mark.parametrize("code", sorted(DOCUMENTED_CODES))
def test_every_code_gives_a_valid_response(code: int) -> None:
    document = report_response(code, report_id=1)
    root, node = parse_xml(document)
    validate_schema(root, expect="reportResponse")
    assert node.child_text("responseCode") == str(code)
    assert node.child_text("responseDescription") == DOCUMENTED_CODES[code]
    done = report_done_response(code, report_id=1, file_ids=["a", "b"])
    validate_schema(parse_xml(done)[0], expect="reportDoneResponse")


def test_responses_without_optional_parts_are_valid() -> None:
    validate_schema(parse_xml(report_response(4110))[0], expect="reportResponse")
    validate_schema(parse_xml(report_done_response(0, report_id=9, file_ids=[]))[0], expect="reportDoneResponse")
    assert b"<files/>" in report_done_response(0, report_id=9, file_ids=[])


def test_descriptions_are_escaped_and_sanitised() -> None:
    document = status_response(username='<a&b>"\x00\x1b', ip="::1")
    root, node = parse_xml(document)
    validate_schema(root, expect="reportResponse")
    assert node.child_text("responseDescription") == 'Remote User : <a&b>"\ufffd\ufffd, Remote Ip : ::1'
    custom = report_response(4100, report_id=5, description="/report/x: must be in the past")
    assert parse_xml(custom)[1].child_text("responseDescription") == "/report/x: must be in the past"


def test_unknown_code_still_answers() -> None:
    document = report_response(4999)
    validate_schema(parse_xml(document)[0], expect="reportResponse")
