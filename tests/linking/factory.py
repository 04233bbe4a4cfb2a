"""Synthetic reports for linking and triage scenarios, stored the way intake stores
them (XSD-valid XML → tree → projection) without going through HTTP.

Data policy (SPEC §6): invented people, example.com addresses, documentation IP
ranges — except where a country matters: 213.6.0.0/16 is announced by Paltel,
the large Palestinian ISP, and 41.33.0.0/16 by TE Data in Egypt (the RIR data
in the iptocc package places them in PS and EG); no subscriber is implied.
"""
from __future__ import annotations

import hashlib
import itertools
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from xml.sax.saxutils import escape

from django.utils import timezone

from himaya.intake.services import file_details_apply, parse_document, report_create_from_tree
from himaya.reports.models import Report, ReportFile, ReportSource, ReportStatus

POSSESSION = "Child Pornography (possession, manufacture, and distribution)"
ENTICEMENT = "Online Enticement of Children for Sexual Acts"
PS_IP = "213.6.10.20"  # Paltel (PS)
EG_IP = "41.33.10.20"  # TE Data (EG)
_seq = itertools.count(1)


@dataclass
class Person:
    esp_id: str = ""
    screen_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (number, countryCallingCode)
    ips: list[tuple[str, bool]] = field(default_factory=list)  # (address, possibleProxy)
    devices: list[tuple[str, str]] = field(default_factory=list)  # (idType, idValue)
    country: str = ""  # estimatedLocation
    region: str = ""
    prior: list[int] = field(default_factory=list)
    age: int | None = None


@dataclass
class FileSpec:
    content: bytes = b""
    annotations: tuple[str, ...] = ()
    exif: bool = False
    public: bool | None = None


def _person_xml(p: Person) -> str:
    inner = "".join(f'<phone countryCallingCode="{cc}">{escape(n)}</phone>' if cc else f"<phone>{escape(n)}</phone>" for n, cc in p.phones)
    inner += "".join(f"<email>{escape(e)}</email>" for e in p.emails)
    if p.age is not None:
        inner += f"<age>{p.age}</age>"
    return inner


def reported_xml(p: Person) -> str:
    parts = ["<personOrUserReported>"]
    person = _person_xml(p)
    if person:
        parts.append(f"<personOrUserReportedPerson>{person}</personOrUserReportedPerson>")
    if p.esp_id:
        parts.append(f"<espIdentifier>{escape(p.esp_id)}</espIdentifier>")
    if p.screen_name:
        parts.append(f"<screenName>{escape(p.screen_name)}</screenName>")
    for ip, proxy in p.ips:
        parts.append(f"<ipCaptureEvent><ipAddress>{ip}</ipAddress><eventName>Login</eventName>"
                     + ("<possibleProxy>true</possibleProxy>" if proxy else "") + "</ipCaptureEvent>")
    for t, v in p.devices:
        parts.append(f"<deviceId><idType>{t}</idType><idValue>{v}</idValue></deviceId>")
    for ref in p.prior:
        parts.append(f"<priorCTReports>{ref}</priorCTReports>")
    if p.country:
        region = f"<region>{escape(p.region)}</region>" if p.region else ""
        parts.append(f"<estimatedLocation>{region}<countryCode>{p.country}</countryCode></estimatedLocation>")
    parts.append("</personOrUserReported>")
    return "".join(parts)


def report_xml(*, suspect: Person | None = None, incident_type: str = POSSESSION, platform: str = "ExampleChat",
               escalation: str = "", annotations: tuple[str, ...] = (), chat: str = "", recipient_age: int | None = None,
               victim_age: int | None = None, batched: bool = False, incident_at: str = "", recipient: Person | None = None) -> bytes:
    s = ['<?xml version="1.0" encoding="UTF-8"?><report>']
    if batched:
        s.append('<batchedReport reason="VIRAL_POTENTIAL_MEME"/>')
    s.append(f"<incidentSummary><incidentType>{escape(incident_type)}</incidentType><platform>{escape(platform)}</platform>")
    if escalation:
        s.append(f"<escalateToHighPriority>{escape(escalation)}</escalateToHighPriority>")
    if annotations:
        s.append("<reportAnnotations>" + "".join(f"<{a}/>" for a in annotations) + "</reportAnnotations>")
    s.append(f"<incidentDateTime>{incident_at or timezone.now().isoformat(timespec='seconds')}</incidentDateTime></incidentSummary>")
    if chat:
        s.append(f"<internetDetails><chatImIncident><chatClient>ExampleChat</chatClient><content>{escape(chat)}</content></chatImIncident></internetDetails>")
    s.append("<reporter><reportingPerson><email>safety@example.com</email></reportingPerson></reporter>")
    if suspect is not None:
        s.append(reported_xml(suspect))
    if recipient is not None or recipient_age is not None:
        child = replace(recipient or Person(), **({"age": recipient_age} if recipient_age is not None else {}))
        esp_id = f"<espIdentifier>{escape(child.esp_id)}</espIdentifier>" if child.esp_id else ""
        s.append(f"<intendedRecipient><intendedRecipientPerson>{_person_xml(child)}</intendedRecipientPerson>{esp_id}</intendedRecipient>")
    if victim_age is not None:
        s.append(f"<victim><victimPerson><age>{victim_age}</age></victimPerson></victim>")
    s.append("</report>")
    return "".join(s).encode()


def details_xml(report_id: int, file_id: str, f: FileSpec) -> bytes:
    ann = ("<fileAnnotations>" + "".join(f"<{a}/>" for a in f.annotations) + "</fileAnnotations>") if f.annotations else ""
    public = f"<publiclyAvailable>{'true' if f.public else 'false'}</publiclyAvailable>" if f.public is not None else ""
    exif = '<details type="EXIF"><nameValuePair><name>CameraMake</name><value>ExampleCam</value></nameValuePair></details>' if f.exif else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><fileDetails><reportId>{report_id}</reportId><fileId>{file_id}</fileId>'
            f"{public}{ann}{exif}</fileDetails>").encode()


def store(xml: bytes, *, unit, files: list[FileSpec] = (), process: bool = True, now: datetime | None = None) -> Report:  # type: ignore[no-untyped-def]
    """Store a finished report (and its files' details), then run the pipeline the
    `report_received` signal runs in production."""
    now = now or timezone.now()
    tree = parse_document(xml, expect="report")
    report = report_create_from_tree(tree=tree, raw=xml, unit=unit, source=ReportSource.IMPORT, reporter=None, now=now,
                                     status=ReportStatus.FINISHED)
    for position, spec in enumerate(files, start=1):
        content = spec.content or f"synthetic bytes {next(_seq)}".encode()
        rf = ReportFile.objects.create(
            report=report, file_id=uuid.uuid4().hex, position=position, size=len(content), md5=hashlib.md5(content).hexdigest(),
            sha1=hashlib.sha1(content).hexdigest(), sha256=hashlib.sha256(content).hexdigest(), uploaded_at=now,
        )
        raw = details_xml(report.id, rf.file_id, spec)
        file_details_apply(rf, tree=parse_document(raw, expect="fileDetails"), raw=raw, now=now)
    if process:
        from himaya.enrichment.tasks import report_reenrich as report_process

        report_process.call(report_id=report.id)
    return report
