"""A portal report as a CyberTipline `<report>` document (SPEC §3.9, §4.3).

Pure: the reporter's answers in, a Node tree out, which intake validates and
stores like any provider's document, so it links, triages and exports the same.
The reporter's contact is never written here (it would become clear identifier
rows): it stays in the portal's sealed box. The reporting person is the portal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from himaya.intake.cybertip import Node

PORTAL_EMAIL = "portal@himaya.invalid"  # RFC 2606: names the portal, reaches nobody

ENTICEMENT = "Online Enticement of Children for Sexual Acts"
POSSESSION = "Child Pornography (possession, manufacture, and distribution)"
UNSOLICITED = "Unsolicited Obscene Material Sent to a Child"
MISLEADING = "Misleading Words or Digital Images on the Internet"


class What:
    SEXTORTION = "sextortion"
    GROOMING = "grooming"
    SHARING = "sharing"
    UNWANTED = "unwanted"
    OTHER = "other"


class Who:
    CHILD = "child"
    PARENT = "parent"
    OTHER = "other"


# The form's plain choice → incident type and report annotations.
INCIDENT_TYPES = {
    What.SEXTORTION: ENTICEMENT,
    What.GROOMING: ENTICEMENT,
    What.SHARING: POSSESSION,
    What.UNWANTED: UNSOLICITED,
    What.OTHER: MISLEADING,
}
ANNOTATIONS = {What.SEXTORTION: ["sextortion"], What.GROOMING: ["csamSolicitation"]}


@dataclass(frozen=True)
class Answers:
    what: str
    story: str
    who: str
    child_age: int | None = None
    platform: str = ""
    url: str = ""
    account: str = ""
    when: date | None = None
    when_text: str = ""


def _leaf(tag: str, text: str) -> Node:
    return Node(tag=tag, text=text)


@dataclass(frozen=True)
class Wording:
    """The portal's own words in the document, in the unit's language."""

    portal: str = "Public portal"
    undated: str = "not given by the reporter; the time the report was sent"
    escalation: str = ""  # when the portal judges a child at risk now


def build_report(answers: Answers, *, now: datetime, wording: Wording = Wording()) -> Node:
    summary = [_leaf("incidentType", INCIDENT_TYPES[answers.what])]
    if answers.platform:
        summary.append(_leaf("platform", answers.platform))
    if wording.escalation:
        summary.append(_leaf("escalateToHighPriority", wording.escalation))
    if ANNOTATIONS.get(answers.what):
        summary.append(Node(tag="reportAnnotations", children=[Node(tag=a, text="true") for a in ANNOTATIONS[answers.what]]))
    # The day the reporter gave, at noon; never later than now (a citizen who says
    # "today" before noon, or whose day has already begun east of UTC, is not refused).
    moment = min(datetime.combine(answers.when, time(12, 0), tzinfo=timezone.utc), now) if answers.when else now
    summary.append(_leaf("incidentDateTime", moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
    described = answers.when_text or ("" if answers.when else wording.undated)
    if described:
        summary.append(_leaf("incidentDateTimeDescription", described))
    children = [Node(tag="incidentSummary", children=summary)]
    if answers.url:
        children.append(Node(tag="internetDetails", children=[Node(tag="webPageIncident", children=[_leaf("url", answers.url)])]))
    children.append(Node(tag="reporter", children=[Node(tag="reportingPerson", children=[
        _leaf("firstName", wording.portal), _leaf("email", PORTAL_EMAIL),
    ])]))
    if answers.account or answers.platform:
        reported = []
        if answers.platform:
            reported.append(_leaf("espService", answers.platform))
        if answers.account:
            reported.append(_leaf("screenName", answers.account))
        children.append(Node(tag="personOrUserReported", children=reported))
    if answers.who in (Who.CHILD, Who.PARENT):
        # The child this happened to; no name, only the age if given.
        person = [_leaf("age", str(answers.child_age))] if answers.child_age is not None else []
        children.append(Node(tag="victim", children=[Node(tag="victimPerson", children=person)]))
    info = f"[{answers.who}] {answers.story}".strip()
    children.append(_leaf("additionalInfo", info))
    return Node(tag="report", children=children)


@dataclass(frozen=True)
class DeviceHashes:
    """What the reporter's browser computed of one picture it kept (devicehash.js)."""

    size: int
    md5: str
    sha1: str = ""
    sha256: str = ""
    pdq: str = ""
    pdq_quality: int | None = None
    pdq_dihedral: tuple[str, ...] = ()


def device_file_details(hashes: DeviceHashes, *, report_id: int, file_id: str, note: str) -> Node:
    """The `<fileDetails>` of a picture hashed on the device: its hashes declared as
    `originalFileHash` (so they link and export like a provider's), no content."""
    children = [_leaf("reportId", str(report_id)), _leaf("fileId", file_id)]
    for kind, value in (("MD5", hashes.md5), ("SHA1", hashes.sha1), ("SHA256", hashes.sha256), ("PDQ", hashes.pdq)):
        if value:
            children.append(Node(tag="originalFileHash", attrs={"hashType": kind}, text=value))
    children.append(_leaf("additionalInfo", note))
    return Node(tag="fileDetails", children=children)
