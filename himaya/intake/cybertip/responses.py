"""Response documents of the CyberTipline Reporting API (Appendix D).

Byte for byte the shape of the documentation's examples (a JAXB-style header
with standalone="yes", four-space indentation), so clients that compare or
scrape responses see what NCMEC would send.
"""
from __future__ import annotations

import re

from lxml import etree

RESPONSE_CODES: dict[int, str] = {
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

_HEADER = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Characters XML 1.0 cannot carry at all; they may come from a client's input
# (a username, an echoed value) and must not make our answer unparseable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def report_response(
    code: int,
    *,
    report_id: int | None = None,
    file_id: str | None = None,
    md5: str | None = None,
    description: str | None = None,
) -> bytes:
    """A `<reportResponse>` (answers /submit, /upload, /fileinfo, /retract, /status)."""
    root = etree.Element("reportResponse")
    _leaf(root, "responseCode", str(code))
    _leaf(root, "responseDescription", description if description is not None else _describe(code))
    if report_id is not None:
        _leaf(root, "reportId", str(int(report_id)))
    if file_id is not None:
        _leaf(root, "fileId", file_id)
    if md5 is not None:
        _leaf(root, "hash", md5)
    return _serialise(root)


def report_done_response(code: int, *, report_id: int, file_ids: list[str]) -> bytes:
    """A `<reportDoneResponse>` (answers /finish)."""
    root = etree.Element("reportDoneResponse")
    _leaf(root, "responseCode", str(code))
    _leaf(root, "reportId", str(int(report_id)))
    files = etree.SubElement(root, "files")
    for file_id in file_ids:
        _leaf(files, "fileId", file_id)
    return _serialise(root)


def status_response(*, username: str, ip: str) -> bytes:
    """The /status answer: who the server thinks is calling, and from where."""
    return report_response(0, description=f"Remote User : {username}, Remote Ip : {ip}")


def _describe(code: int) -> str:
    return RESPONSE_CODES.get(code, "Error")


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = _NOT_XML.sub("\ufffd", text)


def _serialise(root: etree._Element) -> bytes:
    etree.indent(root, space="    ")
    return _HEADER + etree.tostring(root, encoding="UTF-8") + b"\n"
