"""Project a report tree onto the queryable tables. Pure: no Django, no database.

The tree is himaya.intake.cybertip.Node (tag, attrs, text, children). Anything not
projected here is still in the stored document; projection only decides what the
product can query quickly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class TreeNode(Protocol):
    tag: str
    attrs: dict[str, str]
    text: str | None
    children: list[Any]


PARTY_CONTAINERS: dict[str, str] = {
    "personOrUserReported": "reported",
    "intendedRecipient": "recipient",
    "victim": "victim",
    "reportingPerson": "reporting_person",
    "contactPerson": "contact_person",
    "officerContact": "officer",
    "associatedAccount": "associated",
}
# Elements holding the person's own fields inside a party container.
PERSON_WRAPPERS = {"personOrUserReportedPerson", "intendedRecipientPerson", "victimPerson"}
IDENTIFIER_TAGS: dict[str, str] = {
    "email": "email",
    "emailAddress": "email",
    "phone": "phone",
    "phoneNumber": "phone",
    "espIdentifier": "esp_id",
    "screenName": "screen_name",
    "displayName": "display_name",
    "profileUrl": "url",
    "url": "url",
    "locationOfFile": "url",
    "groupIdentifier": "group",
    "originalFileHash": "file_hash",
}
REPORT_ANNOTATIONS = ("sextortion", "csamSolicitation", "minorToMinorInteraction", "spam", "sadisticOnlineExploitation")
FILE_ANNOTATIONS = (
    "animeDrawingVirtualHentai", "potentialMeme", "viral", "possibleSelfProduction", "physicalHarm",
    "violenceGore", "bestiality", "liveStreaming", "infant", "generativeAi",
)
INCIDENT_KINDS = (
    "webPageIncident", "emailIncident", "newsgroupIncident", "chatImIncident", "onlineGamingIncident",
    "cellPhoneIncident", "nonInternetIncident", "peer2peerIncident",
)


@dataclass
class PartyRow:
    key: int
    parent_key: int | None
    role: str
    position: int
    path: str
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    age: int | None = None
    date_of_birth: str = ""
    esp_identifier: str = ""
    esp_service: str = ""
    screen_name: str = ""
    platform: str = ""
    account_type: str = ""


@dataclass
class IdentifierRow:
    party_key: int | None
    kind: str
    value: str
    qualifier: str
    path: str


@dataclass
class IpRow:
    party_key: int | None
    ip_address: str
    event_name: str
    at: str | None
    possible_proxy: bool | None
    port: int | None
    path: str


@dataclass
class DeviceRow:
    party_key: int | None
    id_type: str
    id_value: str
    event_name: str
    at: str | None
    path: str


@dataclass
class IncidentRow:
    position: int
    kind: str
    content: str
    additional_info: str
    fields: dict[str, Any]


@dataclass
class Projection:
    parties: list[PartyRow] = field(default_factory=list)
    identifiers: list[IdentifierRow] = field(default_factory=list)
    ips: list[IpRow] = field(default_factory=list)
    devices: list[DeviceRow] = field(default_factory=list)
    incidents: list[IncidentRow] = field(default_factory=list)


@dataclass
class ReportProjection(Projection):
    incident_type: str = ""
    incident_at: str | None = None
    platform: str = ""
    escalation: str = ""
    batched_reason: str = ""
    annotations: list[str] = field(default_factory=list)


@dataclass
class FileProjection(Projection):
    original_file_name: str = ""
    file_viewed_by_esp: bool | None = None
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    relevance: str = ""
    industry_classification: str = ""
    annotations: list[str] = field(default_factory=list)


def xsd_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip() in ("true", "1")


def _child(node: TreeNode, tag: str) -> TreeNode | None:
    for c in node.children:
        if c.tag == tag:
            return c
    return None


def _text(node: TreeNode | None, tag: str) -> str:
    if node is None:
        return ""
    c = _child(node, tag)
    return (c.text or "") if c is not None else ""


def _bool_child(node: TreeNode, tag: str) -> bool | None:
    c = _child(node, tag)
    return xsd_bool(c.text) if c is not None else None


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except (ValueError, AttributeError):
        return None


def _flags(node: TreeNode | None, names: tuple[str, ...]) -> list[str]:
    if node is None:
        return []
    present = {c.tag for c in node.children if xsd_bool(c.text) is not False}
    return [n for n in names if n in present]


class _Walker:
    def __init__(self, out: Projection) -> None:
        self.out = out
        self._next_key = 0
        self._positions: dict[str, int] = {}

    def walk(self, node: TreeNode, path: str, party: int | None) -> None:
        counts: dict[str, int] = {}
        for child in node.children:
            counts[child.tag] = counts.get(child.tag, 0) + 1
            child_path = f"{path}/{child.tag}[{counts[child.tag]}]"
            self.visit(child, child_path, party)

    def visit(self, node: TreeNode, path: str, party: int | None) -> None:
        tag = node.tag
        if tag in PARTY_CONTAINERS:
            self.walk(node, path, self.new_party(node, path, PARTY_CONTAINERS[tag], party))
        elif tag == "ipCaptureEvent":
            ip = _text(node, "ipAddress")
            self.out.ips.append(IpRow(party, ip, _text(node, "eventName"), _text(node, "dateTime") or None,
                                      _bool_child(node, "possibleProxy"),
                                      _int(_text(node, "port")), path))
            self.out.identifiers.append(IdentifierRow(party, "ip", ip.strip(), _text(node, "eventName"), path))
        elif tag == "deviceId":
            id_type, id_value = _text(node, "idType"), _text(node, "idValue")
            self.out.devices.append(DeviceRow(party, id_type, id_value, _text(node, "eventName"), _text(node, "dateTime") or None, path))
            self.out.identifiers.append(IdentifierRow(party, "device", id_value.strip(), id_type.strip(), path))
        elif tag in IDENTIFIER_TAGS and node.text is not None and node.text.strip():
            qualifier = node.attrs.get("type") or node.attrs.get("hashType") or node.attrs.get("countryCallingCode", "")
            if tag == "phone" or tag == "phoneNumber":
                qualifier = node.attrs.get("countryCallingCode", "")
            self.out.identifiers.append(IdentifierRow(party, IDENTIFIER_TAGS[tag], node.text.strip(), qualifier, path))
        else:
            self.walk(node, path, party)

    def new_party(self, node: TreeNode, path: str, role: str, parent: int | None) -> int:
        key = self._next_key
        self._next_key += 1
        position = self._positions.get(role, 0) + 1
        self._positions[role] = position
        person = next((c for c in node.children if c.tag in PERSON_WRAPPERS), None) or node
        row = PartyRow(
            key=key, parent_key=parent, role=role, position=position, path=path,
            first_name=_text(person, "firstName"), middle_name=_text(person, "middleName"), last_name=_text(person, "lastName"),
            age=_int(_text(person, "age") or _text(person, "approximateAge")),
            date_of_birth=_text(person, "dateOfBirth"),
            esp_identifier=_text(node, "espIdentifier"), esp_service=_text(node, "espService"),
            screen_name=_text(node, "screenName"), platform=_text(node, "platform"),
            account_type=node.attrs.get("accountType", ""),
        )
        self.out.parties.append(row)
        return key


def project_report(report: TreeNode) -> ReportProjection:
    out = ReportProjection()
    summary = _child(report, "incidentSummary")
    out.incident_type = _text(summary, "incidentType").strip()
    out.incident_at = _text(summary, "incidentDateTime").strip() or None
    out.platform = _text(summary, "platform")
    out.escalation = _text(summary, "escalateToHighPriority")
    out.annotations = _flags(_child(summary, "reportAnnotations") if summary is not None else None, REPORT_ANNOTATIONS)
    batched = _child(report, "batchedReport")
    out.batched_reason = batched.attrs.get("reason", "") if batched is not None else ""
    _Walker(out).walk(report, "/report", None)
    position = 0
    for details in report.children:
        if details.tag != "internetDetails":
            continue
        for incident in details.children:
            position += 1
            fields = {c.tag: c.text for c in incident.children if c.text is not None and c.tag not in ("content", "additionalInfo")}
            if incident.attrs:
                fields["@"] = dict(incident.attrs)
            urls = [c.text for c in incident.children if c.tag == "url" and c.text]
            if urls:
                fields["url"] = urls
            out.incidents.append(IncidentRow(position, incident.tag, _text(incident, "content"), _text(incident, "additionalInfo"), fields))
    return out


def project_file_details(details: TreeNode) -> FileProjection:
    out = FileProjection()
    out.original_file_name = _text(details, "originalFileName")
    out.file_viewed_by_esp = _bool_child(details, "fileViewedByEsp")
    out.exif_viewed_by_esp = _bool_child(details, "exifViewedByEsp")
    out.publicly_available = _bool_child(details, "publiclyAvailable")
    out.relevance = _text(details, "fileRelevance").strip() or "Reported"
    out.industry_classification = _text(details, "industryClassification").strip()
    out.annotations = _flags(_child(details, "fileAnnotations"), FILE_ANNOTATIONS)
    walker = _Walker(out)
    walker.walk(details, "/fileDetails", None)
    return out
