"""CyberTipline Reporting API documents: safe parsing, XSD and documented-rule
validation, a lossless tree for storage, writing documents back, and response
documents. Pure Python and lxml; no Django here."""
from himaya.intake.cybertip.parse import DEFAULT_MAX_BYTES, XmlMalformed, from_lxml, parse_xml
from himaya.intake.cybertip.responses import (
    RESPONSE_CODES,
    report_done_response,
    report_response,
    status_response,
)
from himaya.intake.cybertip.rules import (
    Violation,
    check_batched_finish,
    check_file_details,
    check_report,
    is_batched,
)
from himaya.intake.cybertip.schema import XSD_PATH, SchemaInvalid, schema_order, validate_schema
from himaya.intake.cybertip.tree import Node, canonical, equivalent
from himaya.intake.cybertip.writer import to_xml

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RESPONSE_CODES",
    "XSD_PATH",
    "Node",
    "SchemaInvalid",
    "Violation",
    "XmlMalformed",
    "canonical",
    "check_batched_finish",
    "check_file_details",
    "check_report",
    "equivalent",
    "from_lxml",
    "is_batched",
    "parse_xml",
    "report_done_response",
    "report_response",
    "schema_order",
    "status_response",
    "to_xml",
    "validate_schema",
]
