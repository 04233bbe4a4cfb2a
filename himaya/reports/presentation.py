"""A report as a reader thinks of it: sections of labelled, typed values.

The stored document tree (`Report.document`, `ReportFile.details_document`) is
rendered generically, so the page shows everything the report says, including
elements the product does not project: every element and attribute of the
CyberTipline XSD has a translated label, values are typed from the XSD (yes/no,
dates, enumerations) and anything unexpected still appears under its raw name.
Nothing here marks text safe: templates escape every value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from himaya.intake.cybertip.schema import element_info
from himaya.intake.cybertip.tree import Node
from himaya.reports.models import Report, ReportFile

# Every element of cybertipline-report.xsd (tests/ui/test_views.py checks it).
ELEMENT_LABELS: dict[str, Promise] = {
    "accountPermanentlyDisabled": _("Account permanently disabled"),
    "accountTemporarilyDisabled": _("Account temporarily disabled"),
    "additionalInfo": _("Additional information"),
    "address": _("Address"),
    "age": _("Age"),
    "agencyName": _("Agency name"),
    "allEmailsReported": _("All email addresses reported"),
    "animeDrawingVirtualHentai": _("Anime, drawing, virtual or hentai"),
    "approximateAge": _("Approximate age"),
    "associatedAccount": _("Associated account"),
    "batchedReport": _("Batched report"),
    "bestiality": _("Involves an animal"),
    "caseNumber": _("Case number"),
    "cellPhoneIncident": _("Cell phone incident"),
    "chatClient": _("Chat application"),
    "chatImIncident": _("Chat or instant messaging incident"),
    "chatRoomName": _("Chat room name"),
    "city": _("City"),
    "client": _("Peer-to-peer client"),
    "companyTemplate": _("Company statement"),
    "compromisedAccount": _("Compromised account"),
    "console": _("Gaming console"),
    "contactPerson": _("Contact person"),
    "content": _("Content"),
    "country": _("Country"),
    "countryCode": _("Country code"),
    "csamSolicitation": _("Solicitation of child sexual abuse material"),
    "dateOfBirth": _("Date of birth"),
    "dateTime": _("Date and time"),
    "details": _("Metadata"),
    "deviceId": _("Device ID"),
    "displayName": _("Display name"),
    "email": _("Email"),
    "emailAddress": _("Email address"),
    "emailIncident": _("Email incident"),
    "escalateToHighPriority": _("Reason for high priority"),
    "espIdentifier": _("User ID at the provider"),
    "espService": _("Provider service used"),
    "estimatedLocation": _("Estimated location"),
    "eventName": _("Event"),
    "exifViewedByEsp": _("EXIF viewed by the provider"),
    "fileAnnotations": _("File annotations"),
    "fileDetails": _("File details"),
    "fileId": _("File ID"),
    "fileName": _("File name"),
    "fileNames": _("File names"),
    "fileRelevance": _("Relevance to the report"),
    "fileViewedByEsp": _("Viewed by the provider"),
    "files": _("Files"),
    "firstName": _("First name"),
    "gameName": _("Game"),
    "generativeAi": _("Generative AI"),
    "groupIdentifier": _("Group identifier"),
    "hash": _("Hash"),
    "idType": _("ID type"),
    "idValue": _("ID value"),
    "incidentAddress": _("Incident address"),
    "incidentDateTime": _("Incident date"),
    "incidentDateTimeDescription": _("About the incident date"),
    "incidentSummary": _("Incident summary"),
    "incidentType": _("Incident type"),
    "industryClassification": _("Industry classification"),
    "infant": _("Infant"),
    "intendedRecipient": _("Intended recipient"),
    "intendedRecipientPerson": _("Person details"),
    "internetDetails": _("Incident details"),
    "ipAddress": _("IP address"),
    "ipCaptureEvent": _("IP address capture"),
    "lastName": _("Last name"),
    "latitude": _("Latitude"),
    "lawEnforcement": _("Law enforcement"),
    "legalURL": _("Legal information URL"),
    "liveStreaming": _("Live streaming"),
    "locationName": _("Place"),
    "locationOfFile": _("Original location of the file"),
    "longitude": _("Longitude"),
    "middleName": _("Middle name"),
    "minorToMinorInteraction": _("Minor-to-minor interaction"),
    "name": _("Name"),
    "nameValuePair": _("Metadata entries"),
    "newsgroupIncident": _("Newsgroup incident"),
    "nonInternetIncident": _("Non-internet incident"),
    "nonUsaState": _("State or province"),
    "officerContact": _("Officer in charge"),
    "onlineGamingIncident": _("Online gaming incident"),
    "originalFileHash": _("Original file hash"),
    "originalFileName": _("Original file name"),
    "peer2peerIncident": _("Peer-to-peer incident"),
    "personOrUserReported": _("Reported person or user"),
    "personOrUserReportedPerson": _("Person details"),
    "phone": _("Phone"),
    "phoneNumber": _("Phone number"),
    "physicalHarm": _("Physical harm"),
    "platform": _("Platform"),
    "port": _("Port"),
    "possibleProxy": _("Possible proxy"),
    "possibleSelfProduction": _("Possibly self-produced"),
    "potentialMeme": _("Potential meme"),
    "priorCTReport": _("Prior CyberTipline report"),
    "priorCTReports": _("Prior CyberTipline report"),
    "profileBio": _("Profile bio"),
    "profileUrl": _("Profile URL"),
    "publiclyAvailable": _("Publicly available"),
    "region": _("Region"),
    "report": _("Report"),
    "reportAnnotations": _("Report annotations"),
    "reportDoneResponse": _("Finish response"),
    "reportId": _("Report ID"),
    "reportResponse": _("Server response"),
    "reportedToLe": _("Reported to law enforcement"),
    "reporter": _("Reporter"),
    "reportingPerson": _("Reporting person"),
    "responseCode": _("Response code"),
    "responseDescription": _("Response description"),
    "sadisticOnlineExploitation": _("Sadistic online exploitation"),
    "schoolName": _("School"),
    "screenName": _("Screen name"),
    "servedLegalProcessDomestic": _("Domestic legal process served"),
    "servedLegalProcessInternational": _("International legal process served"),
    "sextortion": _("Sextortion"),
    "spam": _("Spam"),
    "state": _("State"),
    "termsOfService": _("Terms of service"),
    "thirdPartyUserReported": _("User of another company's service"),
    "uploadedToEspTimestamp": _("Uploaded to the provider at"),
    "url": _("URL"),
    "value": _("Value"),
    "vehicleDescription": _("Vehicle"),
    "victim": _("Child victim"),
    "victimPerson": _("Person details"),
    "violenceGore": _("Violence or gore"),
    "viral": _("Viral"),
    "webPageIncident": _("Web page incident"),
    "zipCode": _("Postal code"),
}

# Every attribute of cybertipline-report.xsd.
ATTRIBUTE_LABELS: dict[str, Promise] = {
    "countryCallingCode": _("Country calling code"),
    "disabledDate": _("Disabled on"),
    "extension": _("Extension"),
    "fleaCountry": _("Country of the legal process"),
    "hashType": _("Hash type"),
    "reason": _("Reason"),
    "reenabledDate": _("Re-enabled on"),
    "thirdPartyHostedContent": _("Hosted by a third party"),
    "thirdPartyUser": _("Third-party platform"),
    "timestamp": _("Estimated on"),
    "type": _("Type"),
    "userNotified": _("User notified"),
    "userNotifiedDate": _("User notified on"),
    "verificationDate": _("Verified on"),
    "verified": _("Verified"),
}

# Where a name means something else in a particular parent.
CONTEXT_LABELS: dict[tuple[str, str], Promise] = {
    ("address", "address"): _("Street address"),
    ("incidentAddress", "address"): _("Street address"),
    ("newsgroupIncident", "name"): _("Newsgroup name"),
}

# Values of the XSD's enumerations, keyed by the raw value.
VALUE_LABELS: dict[str, Promise] = {
    # incidentType
    "Child Pornography (possession, manufacture, and distribution)": _("Child sexual abuse material (possession, manufacture, and distribution)"),
    "Child Sex Trafficking": _("Child sex trafficking"),
    "Child Sex Tourism": _("Child sex tourism"),
    "Child Sexual Molestation": _("Child sexual molestation"),
    "Misleading Domain Name": _("Misleading domain name"),
    "Misleading Words or Digital Images on the Internet": _("Misleading words or digital images on the internet"),
    "Online Enticement of Children for Sexual Acts": _("Online enticement of children for sexual acts"),
    "Unsolicited Obscene Material Sent to a Child": _("Unsolicited obscene material sent to a child"),
    # ipCaptureType
    "Login": _("Login"),
    "Registration": _("Registration"),
    "Purchase": _("Purchase"),
    "Upload": _("Upload"),
    "Other": _("Other"),
    "Unknown": _("Unknown"),
    # addressType, emailType, phoneType, associatedAccountType
    "Home": _("Home"),
    "Business": _("Business"),
    "Billing": _("Billing"),
    "Shipping": _("Shipping"),
    "Technical": _("Technical"),
    "Work": _("Work"),
    "Recovery": _("Recovery"),
    "Mobile": _("Mobile"),
    "Fax": _("Fax"),
    "Internet": _("Internet"),
    "Linked": _("Linked"),
    "Creator": _("Creator"),
    "Parent/Guardian": _("Parent or guardian"),
    # fileRelevance, batchedReportReason, metadataTypes
    "Reported": _("Reported"),
    "Supplemental Reported": _("Supplemental"),
    "VIRAL_POTENTIAL_MEME": _("Viral or potential meme"),
    "HASH": _("Hash"),
}
ENUM_TYPES = frozenset({
    "incidentType", "ipCaptureType", "addressType", "emailType", "phoneType", "associatedAccountType",
    "fileRelevance", "batchedReportReason", "metadataTypes",
})
BOOLEAN_TYPES = frozenset({"xs:boolean", "reportedToLawEnforcement", "accountTemporarilyDisabled", "accountPermanentlyDisabled"})
DATETIME_TYPES = frozenset({"xs:dateTime"})
# Free text a person wrote: may be long, in any script; keep its line breaks.
LONG_TEXT = frozenset({
    "content", "additionalInfo", "companyTemplate", "termsOfService", "profileBio",
    "escalateToHighPriority", "incidentDateTimeDescription", "fileNames", "vehicleDescription",
})
# Shown as text, never as a link (analyst safety), with a copy button.
URL_ELEMENTS = frozenset({"url", "profileUrl", "legalURL", "locationOfFile"})
# Machine values read left to right whatever the page direction.
CODE_ELEMENTS = frozenset({
    "ipAddress", "idValue", "originalFileHash", "fileId", "reportId", "port", "priorCTReports", "priorCTReport",
    "email", "emailAddress", "phone", "phoneNumber", "espIdentifier", "countryCallingCode", "extension",
})
FLAG_GROUPS = frozenset({"reportAnnotations", "fileAnnotations"})
# Who a person is (Action.VIEW_IDENTITY on REPORT): shown only to roles the one table
# allows it (never the auditor); the others read a placeholder in its place.
PERSON_ELEMENTS = frozenset({
    "personOrUserReportedPerson", "intendedRecipientPerson", "victimPerson", "reportingPerson", "contactPerson", "officerContact",
})
IDENTITY_ELEMENTS = frozenset({"firstName", "middleName", "lastName", "dateOfBirth", "address"})
IDENTITY_HIDDEN = _("hidden: your role does not see identities")
# Repeated records with a few fields each read best as a table.
TABULAR = frozenset({"ipCaptureEvent", "deviceId", "nameValuePair", "originalFileHash"})


def label_for(name: str, *, parent: str = "", attribute: bool = False) -> str:
    if attribute:
        return str(ATTRIBUTE_LABELS.get(name, name))
    return str(CONTEXT_LABELS.get((parent, name)) or ELEMENT_LABELS.get(name, name))


@dataclass
class Value:
    text: str
    kind: str = "text"  # text, long, url, code, bool, datetime, enum, empty
    raw: str = ""

    @property
    def dir(self) -> str:
        """Machine values and text without letters ("+970", "2024-01-01 10:00") read left to right;
        anything else takes the direction of its first strong character."""
        if self.kind in ("code", "url", "datetime") or not _HAS_LETTER.search(self.text):
            return "ltr"
        return "auto"


_HAS_LETTER = re.compile(r"[^\W\d_]")


@dataclass
class Attribute:
    name: str
    label: str
    value: Value


@dataclass
class Entry:
    """One element: a value (simple content), a group of entries, flags, or a table."""

    tag: str
    label: str
    value: Value | None = None
    attrs: list[Attribute] = field(default_factory=list)
    children: list[Entry] = field(default_factory=list)
    flags: list[str] | None = None
    columns: list[str] | None = None
    rows: list[list[Value | None]] | None = None
    highlight: bool = False

    @property
    def is_group(self) -> bool:
        return self.value is None and self.flags is None and self.rows is None

    @property
    def is_table(self) -> bool:
        return self.rows is not None


@dataclass
class Card:
    """A thing the reader names: a person, an incident, a file."""

    kind: str
    title: str
    # What the reader recognises it by (screen name, name), each shown in its own direction.
    names: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    cards: list[Card] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.cards and not self.entries


@dataclass
class FileCard:
    file: ReportFile
    entries: list[Entry]


@dataclass
class ReportPresentation:
    sections: list[Section]
    files: list[FileCard]


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, "Y-m-d H:i:s")


def _boolean(raw: str | None) -> Value:
    text = (raw or "").strip()
    # Annotation flags are fixed="true" and usually sent empty.
    if text in ("", "true", "1"):
        return Value(str(_("Yes")), "bool", text)
    if text in ("false", "0"):
        return Value(str(_("No")), "bool", text)
    return Value(text, "text", text)


def _datetime(raw: str) -> Value:
    try:
        parsed = parse_datetime(raw.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        return Value(raw, "text", raw)
    if timezone.is_naive(parsed):
        return Value(date_format(parsed, "Y-m-d H:i:s"), "datetime", raw)
    return Value(format_datetime(parsed), "datetime", raw)


def typed_value(raw: str | None, *, name: str, type_name: str | None) -> Value:
    if type_name in BOOLEAN_TYPES:
        return _boolean(raw)
    if raw is None or raw == "":
        return Value("", "empty", "")
    if type_name in DATETIME_TYPES:
        return _datetime(raw)
    if type_name in ENUM_TYPES and raw in VALUE_LABELS:
        return Value(str(VALUE_LABELS[raw]), "enum", raw)
    if name in URL_ELEMENTS:
        return Value(raw, "url", raw)
    if name in LONG_TEXT or "\n" in raw:
        return Value(raw, "long", raw)
    if name in CODE_ELEMENTS:
        return Value(raw, "code", raw)
    return Value(raw, "text", raw)


class _Builder:
    """Walks a tree, asking the XSD for each node's type by its path."""

    def entry(self, node: Node, path: str, parent: str) -> Entry:
        if isinstance(node, _Hidden):
            return Entry(tag=node.tag, label=label_for(node.tag, parent=parent), value=Value(str(IDENTITY_HIDDEN), "hidden"))
        info = element_info(path)
        attr_types = dict(info.attributes) if info is not None else {}
        entry = Entry(tag=node.tag, label=label_for(node.tag, parent=parent))
        entry.attrs = [
            Attribute(name, label_for(name, attribute=True), typed_value(raw, name=name, type_name=attr_types.get(name)))
            for name, raw in node.attrs.items()
            if not name.startswith("{http://www.w3.org/2001/XMLSchema-instance}")
        ]
        if node.tag in FLAG_GROUPS:
            entry.flags = [label_for(c.tag, parent=node.tag) for c in node.children if _boolean(c.text).raw not in ("false", "0")]
            return entry
        if node.children:
            entry.children = self.entries(node.children, path, node.tag)
            return entry
        type_name = info.type_name if info is not None else None
        if node.text is None and entry.attrs and type_name not in BOOLEAN_TYPES:
            return entry  # an element that says everything in its attributes (batchedReport)
        entry.value = typed_value(node.text, name=node.tag, type_name=type_name)
        entry.highlight = node.tag == "escalateToHighPriority"
        return entry

    def entries(self, nodes: list[Node], parent_path: str, parent: str) -> list[Entry]:
        out: list[Entry] = []
        index = 0
        while index < len(nodes):
            node = nodes[index]
            if node.tag in TABULAR:
                run = [node]
                while index + len(run) < len(nodes) and nodes[index + len(run)].tag == node.tag:
                    run.append(nodes[index + len(run)])
                out.append(self.table(run, f"{parent_path}/{node.tag}", parent))
                index += len(run)
                continue
            out.append(self.entry(node, f"{parent_path}/{node.tag}", parent))
            index += 1
        return out

    def table(self, nodes: list[Node], path: str, parent: str) -> Entry:
        """Rows of one repeated element; its attributes and leaf children are the columns."""
        info = element_info(path)
        attr_types = dict(info.attributes) if info is not None else {}
        columns: list[tuple[str, str]] = []  # (kind, name): "@" attribute, "." own text, "" child
        for node in nodes:
            for name in node.attrs:
                if ("@", name) not in columns:
                    columns.append(("@", name))
            if node.text is not None and (".", node.tag) not in columns:
                columns.append((".", node.tag))
            for child in node.children:
                if ("", child.tag) not in columns:
                    columns.append(("", child.tag))
        rows: list[list[Value | None]] = []
        for node in nodes:
            row: list[Value | None] = []
            for kind, name in columns:
                if kind == "@":
                    raw = node.attrs.get(name)
                    row.append(typed_value(raw, name=name, type_name=attr_types.get(name)) if raw is not None else None)
                elif kind == ".":
                    row.append(typed_value(node.text, name=node.tag, type_name=info.type_name if info else None))
                else:
                    cells = [c for c in node.children if c.tag == name]
                    if not cells:
                        row.append(None)
                        continue
                    child_info = element_info(f"{path}/{name}")
                    values = [typed_value(self._flat_text(c), name=name, type_name=child_info.type_name if child_info else None) for c in cells]
                    row.append(values[0] if len(values) == 1 else Value("\n".join(v.text for v in values), "long", ""))
            rows.append(row)
        labels = []
        for kind, name in columns:
            if kind == "@":
                labels.append(label_for(name, attribute=True))
            elif kind == ".":
                labels.append(str(_("Value")))
            else:
                labels.append(label_for(name, parent=nodes[0].tag))
        return Entry(tag=nodes[0].tag, label=label_for(nodes[0].tag, parent=parent), columns=labels, rows=rows)

    @staticmethod
    def _flat_text(node: Node) -> str | None:
        """A cell holds text; a nested element (never in the schema's tables) is flattened."""
        if not node.children:
            return node.text
        return "; ".join(f"{c.tag}: {_Builder._flat_text(c) or ''}" for c in node.children)


class _Hidden(Node):
    """An element whose value says who a person is, withheld from this reader."""


def _without_identities(node: Node) -> Node:
    """A copy of the tree where, inside every person, names, dates of birth and
    addresses are withheld (the stored document is not touched)."""
    children = []
    for child in node.children:
        if node.tag in PERSON_ELEMENTS and child.tag in IDENTITY_ELEMENTS:
            children.append(_Hidden(tag=child.tag))
        else:
            children.append(_without_identities(child))
    return Node(tag=node.tag, attrs=dict(node.attrs), text=node.text, children=children)


def _party_names(node: Node) -> list[str]:
    person = next((c for c in node.children if c.tag.endswith("Person")), None)
    parts: list[str] = []
    screen = node.child_text("screenName")
    if screen:
        parts.append(screen.strip())
    if person is not None and not any(isinstance(c, _Hidden) for c in person.children):
        name = " ".join(t.strip() for t in (person.child_text("firstName"), person.child_text("lastName")) if t and t.strip())
        if name:
            parts.append(name)
    if not parts:
        display = node.child_text("displayName") or node.child_text("espIdentifier")
        if display:
            parts.append(display.strip())
    return parts


def _attrs_as_entries(entry: Entry) -> list[Entry]:
    """A card's own attributes, shown as its first fields."""
    return [Entry(tag=a.name, label=a.label, value=a.value) for a in entry.attrs]


def present_report(report: Report, *, identities: bool = True) -> ReportPresentation:
    """`identities`: may the reader see who the persons are (names, dates of birth,
    addresses)? The caller asks the one table (Action.VIEW_IDENTITY on REPORT)."""
    root = Node.from_json(report.document)
    if not identities:
        root = _without_identities(root)
    b = _Builder()
    base = f"/{root.tag}"

    incident = Section("incident", str(_("Incident")))
    reported = Section("reported", str(_("Reported persons and users")))
    recipients = Section("recipients", str(_("Intended recipients")))
    victims = Section("victims", str(_("Child victims")))
    reporter = Section("reporter", str(_("Reporter")))
    law = Section("law_enforcement", str(_("Law enforcement")))
    additional = Section("additional", str(_("Additional information")))
    other = Section("other", str(_("Other information in the report")))
    party_sections = {"personOrUserReported": reported, "intendedRecipient": recipients, "victim": victims}
    positions: dict[str, int] = {}

    for node in root.children:
        path = f"{base}/{node.tag}"
        if node.tag == "incidentSummary":
            incident.entries.extend(b.entries(node.children, path, node.tag))
        elif node.tag == "batchedReport":
            incident.entries.append(b.entry(node, path, root.tag))
        elif node.tag == "internetDetails":
            for kind in node.children:
                built = b.entry(kind, f"{path}/{kind.tag}", node.tag)
                card = Card(kind=kind.tag, title=built.label, entries=_attrs_as_entries(built) + built.children)
                if built.value is not None:
                    card.entries.append(Entry(tag=kind.tag, label=built.label, value=built.value))
                incident.cards.append(card)
        elif node.tag in party_sections:
            positions[node.tag] = positions.get(node.tag, 0) + 1
            card = Card(kind=node.tag, title=f"{label_for(node.tag)} {positions[node.tag]}", names=_party_names(node))
            built = b.entry(node, path, root.tag)
            card.entries = _attrs_as_entries(built) + built.children
            party_sections[node.tag].cards.append(card)
        elif node.tag == "reporter":
            for part in b.entry(node, path, root.tag).children:
                if part.is_group and part.children:
                    reporter.cards.append(Card(kind=part.tag, title=part.label, entries=_attrs_as_entries(part) + part.children))
                else:
                    reporter.entries.append(part)
        elif node.tag == "lawEnforcement":
            built = b.entry(node, path, root.tag)
            law.entries.extend(_attrs_as_entries(built))
            for part in built.children:
                if part.is_group and part.children:
                    law.cards.append(Card(kind=part.tag, title=part.label, entries=_attrs_as_entries(part) + part.children))
                else:
                    law.entries.append(part)
        elif node.tag == "additionalInfo":
            additional.entries.append(b.entry(node, path, root.tag))
        else:
            other.entries.append(b.entry(node, path, root.tag))

    sections = [incident, reported, recipients, victims, reporter, law, additional, other]
    files = [FileCard(file=f, entries=present_file_details(f)) for f in report.files.all()]
    return ReportPresentation(sections=sections, files=files)


# Shown in the file card's own header; repeating them in the details adds nothing.
_FILE_HEADER_TAGS = frozenset({"reportId", "fileId"})


def present_file_details(report_file: ReportFile) -> list[Entry]:
    if not report_file.details_document:
        return []
    root = Node.from_json(report_file.details_document)
    kept = [c for c in root.children if c.tag not in _FILE_HEADER_TAGS]
    return _Builder().entries(kept, f"/{root.tag}", root.tag)


def incident_type_label(value: str) -> str:
    return str(VALUE_LABELS.get(value, value))


def annotation_labels(names: list[str] | Any) -> list[str]:
    return [label_for(n) for n in (names or [])]
