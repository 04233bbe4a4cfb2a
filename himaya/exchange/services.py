"""Partners, referral packages, receipts and outcomes (SPEC §3.8, §4.2).

A referral goes out as a signed package encrypted to the partner
(himaya.exchange.package); the partner imports it (its reports enter linking and
triage like any imported report, with source `partner`), acknowledges it with a
signed receipt and later reports outcomes with signed outcome packages; importing
those here moves our referral sent → acknowledged → outcome reported. Every
package is checked whole before anything is written, and written in one
transaction: a refused package leaves nothing behind but its audit event.
"""
from __future__ import annotations

import hashlib
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from himaya.accounts.models import Unit
from himaya.accounts.permissions import Action, Kind, check, restrict
from himaya.accounts.services import unit_get_or_create
from himaya.exchange import events
from himaya.exchange.errors import ExchangeError, PackageRefused
from himaya.exchange.keys import UnitKeys, unit_keys
from himaya.exchange.models import (
    Direction, ExchangePackage, OutcomeKind, PackageKind, Partner, Referral, ReferralOutcome, ReferralState,
)
from himaya.exchange.package import (
    Limits, OpenedPackage, PublicKeys, build_package, key_document, open_package, parse_key_document, read_envelope,
)
from himaya.intake.bulk import DETAILS_NAME, REPORT_NAME, ImportProblem, SourceFile, SourceReport, report_import, report_parts
from himaya.reports.models import Report, ReportSource

_COUNTRY = re.compile(r"^[A-Z]{2}$")
REPORTS_DIR = "reports"


def _unit(*, unit_code: str | None = None, actor: Any = None) -> Unit:
    """A staff member acts for their unit; the operator for the named unit (default: the intake unit)."""
    unit_id = getattr(actor, "unit_id", None)
    if unit_id is not None:
        return Unit.objects.get(id=unit_id)
    if unit_code is not None and not Unit.objects.filter(code=unit_code).exists():
        raise ExchangeError(_("no unit with the code %(code)s") % {"code": unit_code})
    return unit_get_or_create(code=unit_code)


def keys_of(unit: Unit) -> UnitKeys:
    return unit_keys(unit_code=unit.code, unit_name=unit.name, country=unit.country)


def _limits() -> Limits:
    return Limits(max_part_bytes=settings.HIMAYA_MAX_UPLOAD_BYTES)


def _public(partner: Partner) -> PublicKeys:
    return PublicKeys(signing_key=partner.signing_key, encryption_key=partner.encryption_key, country=partner.country)


# ---------------------------------------------------------------- keys and partners


@transaction.atomic
def unit_key_export(*, actor: Any, unit_code: str | None = None) -> bytes:
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    keys = keys_of(unit)
    data = key_document(signing=keys.signing, encryption=keys.encryption, unit=unit.name, country=unit.country)
    events.key_exported_event(actor=actor, unit_id=unit.id, fingerprint=keys.public.fingerprint)
    return data


@transaction.atomic
def partner_add(*, name: str, country: str, key_file: bytes, actor: Any, unit_code: str | None = None) -> Partner:
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    name = (name or "").strip()
    country = (country or "").strip().upper()
    if not name or len(name) > Partner._meta.get_field("name").max_length:
        raise ExchangeError(_("a partner's name must have 1 to 100 characters"))
    if not _COUNTRY.match(country):
        raise ExchangeError(_("the country must be an ISO 3166-1 alpha-2 code, such as JO"))
    keys = parse_key_document(key_file)
    if keys.fingerprint == keys_of(unit).public.fingerprint:
        raise ExchangeError(_("these are this unit's own keys, not a partner's"))
    if Partner.objects.filter(unit=unit, name=name).exists():
        raise ExchangeError(_("a partner named %(name)s is already registered") % {"name": name})
    known = Partner.objects.filter(unit=unit, fingerprint=keys.fingerprint).first()
    if known is not None:
        raise ExchangeError(_("these keys are already registered for partner %(name)s") % {"name": known.name})
    partner = Partner.objects.create(unit=unit, name=name, country=country, signing_key=keys.signing_key,
                                     encryption_key=keys.encryption_key, fingerprint=keys.fingerprint)
    events.partner_added_event(actor=actor, partner=partner)
    return partner


def _partner_by_name(*, unit: Unit, name: str) -> Partner:
    partner = Partner.objects.filter(unit=unit, name=name, active=True).first()
    if partner is None:
        raise ExchangeError(_("no active partner named %(name)s (see `himaya exchange partner list`)") % {"name": name})
    return partner


# ---------------------------------------------------------------- referral packages


def _report_parts(report: Report) -> dict[str, bytes]:
    folder = f"{REPORTS_DIR}/{report.id}"
    return {f"{folder}/{relative}": b"".join(chunks()) for relative, chunks in report_parts(report)}


def _build(*, unit: Unit, partner: Partner, kind: PackageKind, body: dict[str, Any], parts: dict[str, bytes]) -> tuple[str, bytes]:
    keys = keys_of(unit)
    package_id = str(uuid.uuid4())
    data = build_package(kind=kind.value, package_id=package_id, created_at=timezone.now().isoformat(), signing=keys.signing,
                         sender=keys.public, recipient=_public(partner), body=body, parts=parts)
    return package_id, data


def _record(*, unit: Unit, partner: Partner, direction: Direction, kind: PackageKind, package_id: str, data: bytes | None = None,
            sha256: str = "") -> None:
    ExchangePackage.objects.create(unit=unit, partner=partner, direction=direction, kind=kind, package_id=package_id,
                                   sha256=sha256 or hashlib.sha256(data or b"").hexdigest())


@transaction.atomic
def referral_package(*, report_ids: list[int], partner_name: str, actor: Any, unit_code: str | None = None,
                     case_id: int | None = None) -> tuple[Referral, bytes]:
    """A signed package of the reports, encrypted to the partner; the referral is recorded as sent."""
    check(actor, Action.EXPORT, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    partner = _partner_by_name(unit=unit, name=partner_name)
    ids = sorted(set(report_ids))
    if not ids:
        raise ExchangeError(_("name at least one report"))
    reports = list(restrict(Report.objects.filter(unit=unit, id__in=ids), actor, Action.EXPORT).order_by("id"))
    missing = sorted(set(ids) - {r.id for r in reports})
    if missing:
        raise ExchangeError(_("no report %(ids)s in this unit") % {"ids": ", ".join(map(str, missing))})
    parts: dict[str, bytes] = {}
    for report in reports:
        parts.update(_report_parts(report))
    case = None
    if case_id is not None:
        from himaya.cases.models import Case

        case = Case.objects.filter(unit=unit, id=case_id).first()
    now = timezone.now()
    body = {"reports": [{"id": r.id, "folder": f"{REPORTS_DIR}/{r.id}"} for r in reports],
            "case": case.reference if case else None, "sent_at": now.isoformat()}
    package_id, data = _build(unit=unit, partner=partner, kind=PackageKind.REFERRAL, body=body, parts=parts)
    sha256 = hashlib.sha256(data).hexdigest()
    referral = Referral.objects.create(unit=unit, partner=partner, direction=Direction.SENT, package_id=package_id,
                                       state=ReferralState.SENT, case=case, created_by=actor if getattr(actor, "pk", None) else None,
                                       sent_at=now, package_sha256=sha256)
    referral.reports.set(reports)
    _record(unit=unit, partner=partner, direction=Direction.SENT, kind=PackageKind.REFERRAL, package_id=package_id, sha256=sha256)
    events.referral_sent_event(actor=actor, referral=referral, report_ids=ids, sha256=sha256)
    return referral, data


# ---------------------------------------------------------------- verify and import


@dataclass
class Checked:
    partner: Partner
    opened: OpenedPackage

    @property
    def kind(self) -> str:
        return self.opened.kind

    @property
    def package_id(self) -> str:
        return self.opened.package_id

    @property
    def parts(self) -> dict[str, bytes]:
        return self.opened.parts


def _check(*, unit: Unit, data: bytes) -> Checked:
    keys = keys_of(unit)
    partners = {p.fingerprint: p for p in Partner.objects.filter(unit=unit, active=True)}

    def signing_key(fp: str) -> str | None:
        partner = partners.get(fp)
        return partner.signing_key if partner else None

    opened = open_package(data, encryption=keys.encryption, me=keys.public, partner_signing_key=signing_key, limits=_limits())
    partner = partners[opened.sender_fingerprint]
    seen = ExchangePackage.objects.filter(unit=unit, partner=partner, direction=Direction.RECEIVED, package_id=opened.package_id).first()
    if seen is not None:
        raise PackageRefused(_("replay: package %(id)s from %(partner)s was already imported on %(at)s; nothing imported") % {
            "id": opened.package_id, "partner": partner.name, "at": seen.at.strftime("%Y-%m-%d %H:%M")})
    return Checked(partner=partner, opened=opened)


def _refused(*, unit: Unit, data: bytes, actor: Any, exc: PackageRefused) -> None:
    try:
        envelope = read_envelope(data, limits=_limits())
    except PackageRefused:
        envelope = {}
    with transaction.atomic():
        events.package_refused_event(actor=actor, unit_id=unit.id, package_id=str(envelope.get("package_id", "")),
                                     sender=str(envelope.get("sender", "")), sha256=hashlib.sha256(data).hexdigest(), reason=str(exc))


def package_verify(*, data: bytes, actor: Any, unit_code: str | None = None) -> Checked:
    """Every check `package_import` makes, writing nothing."""
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    return _check(unit=unit, data=data)


@dataclass
class ImportResult:
    kind: str
    package_id: str
    partner: str
    referral: Referral
    imported: list[int]
    known: list[int]
    summary: str


def package_import(*, data: bytes, actor: Any, unit_code: str | None = None) -> ImportResult:
    """Checks the whole package, then imports it in one transaction, or refuses it whole."""
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    try:
        with transaction.atomic():
            checked = _check(unit=unit, data=data)
            try:
                with transaction.atomic():
                    _record(unit=unit, partner=checked.partner, direction=Direction.RECEIVED, kind=PackageKind(checked.kind),
                            package_id=checked.package_id, sha256=checked.opened.sha256)
            except IntegrityError:
                raise PackageRefused(_("replay: package %(id)s is being imported or was imported already; nothing imported") % {
                    "id": checked.package_id}) from None
            handler = {"referral": _import_referral, "receipt": _import_receipt, "outcome": _import_outcome}[checked.kind]
            return handler(unit=unit, checked=checked, actor=actor)
    except PackageRefused as exc:
        _refused(unit=unit, data=data, actor=actor, exc=exc)
        raise


def _when(value: Any) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise PackageRefused(_("the package's date %(value)r is not a date") % {"value": value})
    return parsed


def _source(*, checked: Checked, folder: str, sender_id: int) -> SourceReport:
    prefix = f"{folder}/"
    mine = {p: b for p, b in checked.parts.items() if p.startswith(prefix)}
    if f"{prefix}{REPORT_NAME}" not in mine:
        raise PackageRefused(_("%(folder)s has no %(name)s") % {"folder": folder, "name": REPORT_NAME})
    files: dict[str, tuple[SourceFile | None, Callable[[], bytes] | None]] = {}
    groups: dict[str, dict[str, bytes]] = {}
    for path, content in mine.items():
        rest = PurePosixPath(path[len(prefix):]).parts
        if rest == (REPORT_NAME,):
            continue
        if len(rest) != 3 or rest[0] != "files":
            raise PackageRefused(_("unexpected part %(path)s") % {"path": path})
        groups.setdefault(rest[1], {})[rest[2]] = content
    for fid, members in sorted(groups.items()):
        contents = sorted(n for n in members if n != DETAILS_NAME)
        if len(contents) > 1:
            raise PackageRefused(_("%(folder)s/files/%(fid)s holds more than one file") % {"folder": folder, "fid": fid})
        sf = None
        if contents:
            blob = members[contents[0]]
            sf = SourceFile(contents[0], len(blob), (lambda b=blob: io.BytesIO(b)))
        details = members.get(DETAILS_NAME)
        files[fid] = (sf, (lambda d=details: d) if details is not None else None)
    report_xml = mine[f"{prefix}{REPORT_NAME}"]
    documents = [report_xml] + [m[DETAILS_NAME] for m in groups.values() if DETAILS_NAME in m]
    if any(len(doc) > settings.HIMAYA_MAX_XML_BYTES for doc in documents):
        raise PackageRefused(_("%(folder)s: a document is larger than %(max)d bytes") % {"folder": folder, "max": settings.HIMAYA_MAX_XML_BYTES})
    return SourceReport(label=f"partner:{checked.partner.name}:{checked.package_id}:{sender_id}", folder_name=str(sender_id),
                        read_report=lambda: report_xml, files=files)


def _import_referral(*, unit: Unit, checked: Checked, actor: Any) -> ImportResult:
    body = checked.opened.body
    entries = body.get("reports")
    if not isinstance(entries, list) or not entries:
        raise PackageRefused(_("the referral names no reports"))
    listed_folders = set()
    imported: list[int] = []
    known: list[int] = []
    reports: list[int] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int) or entry.get("folder") != f"{REPORTS_DIR}/{entry.get('id')}":
            raise PackageRefused(_("invalid report entry in the manifest: %(entry)r") % {"entry": entry})
        listed_folders.add(entry["folder"])
        source = _source(checked=checked, folder=entry["folder"], sender_id=entry["id"])
        try:
            new_id = report_import(source=source, unit=unit, actor=actor, origin=ReportSource.PARTNER)
        except (ImportProblem, UnicodeError) as exc:
            raise PackageRefused(_("report %(id)s: %(problem)s") % {"id": entry["id"], "problem": exc}) from None
        if new_id is None:
            raw_sha = hashlib.sha256(source.read_report()).hexdigest()
            existing = Report.objects.filter(unit=unit, raw_sha256=raw_sha).order_by("id").first()
            if existing is None:
                raise PackageRefused(_("report %(id)s was imported before into another unit") % {"id": entry["id"]})
            known.append(existing.id)
            reports.append(existing.id)
        else:
            imported.append(new_id)
            reports.append(new_id)
    stray = {"/".join(PurePosixPath(p).parts[:2]) for p in checked.parts} - listed_folders
    if stray:
        raise PackageRefused(_("parts outside the listed reports: %(folders)s") % {"folders": ", ".join(sorted(stray))})
    referral = Referral.objects.create(
        unit=unit, partner=checked.partner, direction=Direction.RECEIVED, package_id=checked.package_id, state=ReferralState.RECEIVED,
        sent_at=_when(body.get("sent_at")), received_at=timezone.now(), package_sha256=checked.opened.sha256,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    referral.reports.set(reports)
    events.referral_received_event(actor=actor, referral=referral, imported=imported, known=known, sha256=checked.opened.sha256)
    summary = (f"referral {checked.package_id} from {checked.partner.name}: {len(imported)} report(s) imported "
               f"({', '.join(map(str, imported)) or '-'}), {len(known)} already here")
    return ImportResult(kind=checked.kind, package_id=checked.package_id, partner=checked.partner.name, referral=referral,
                        imported=imported, known=known, summary=summary)


def _sent_referral(*, unit: Unit, checked: Checked) -> Referral:
    referral_id = checked.opened.body.get("referral")
    try:
        referral_id = str(uuid.UUID(str(referral_id)))
    except ValueError:
        raise PackageRefused(_("the package names no referral")) from None
    referral = Referral.objects.select_for_update().filter(unit=unit, partner=checked.partner, direction=Direction.SENT,
                                                           package_id=referral_id).first()
    if referral is None:
        raise PackageRefused(_("no referral %(id)s was sent to %(partner)s") % {"id": referral_id, "partner": checked.partner.name})
    return referral


def _import_receipt(*, unit: Unit, checked: Checked, actor: Any) -> ImportResult:
    referral = _sent_referral(unit=unit, checked=checked)
    received_at = _when(checked.opened.body.get("received_at"))
    if referral.acknowledged_at is None:
        referral.acknowledged_at = received_at
        if referral.state == ReferralState.SENT:
            referral.state = ReferralState.ACKNOWLEDGED
        referral.save(update_fields=["acknowledged_at", "state"])
        events.referral_acknowledged_event(actor=actor, referral=referral, receipt_id=checked.package_id)
    summary = f"referral {referral.package_id}: acknowledged by {checked.partner.name} ({referral.acknowledged_at:%Y-%m-%d %H:%M})"
    return ImportResult(kind=checked.kind, package_id=checked.package_id, partner=checked.partner.name, referral=referral,
                        imported=[], known=[], summary=summary)


def _import_outcome(*, unit: Unit, checked: Checked, actor: Any) -> ImportResult:
    referral = _sent_referral(unit=unit, checked=checked)
    body = checked.opened.body
    kind, text = body.get("outcome"), body.get("text", "")
    if kind not in OutcomeKind.values or not isinstance(text, str) or len(text) > 5000:
        raise PackageRefused(_("invalid outcome %(kind)r") % {"kind": kind})
    reported_at = _when(body.get("reported_at"))
    outcome = ReferralOutcome.objects.create(referral=referral, kind=kind, text=text, reported_at=reported_at, package_id=checked.package_id)
    if referral.acknowledged_at is None:
        referral.acknowledged_at = reported_at  # an outcome says the referral arrived
    referral.state = ReferralState.OUTCOME
    referral.save(update_fields=["acknowledged_at", "state"])
    events.outcome_received_event(actor=actor, outcome=outcome)
    summary = f"referral {referral.package_id}: {checked.partner.name} reported {kind}"
    return ImportResult(kind=checked.kind, package_id=checked.package_id, partner=checked.partner.name, referral=referral,
                        imported=[], known=[], summary=summary)


# ---------------------------------------------------------------- answering a received referral


def _received_referral(*, unit: Unit, package_id: str) -> Referral:
    try:
        package_id = str(uuid.UUID(str(package_id)))
    except ValueError:
        raise ExchangeError(_("%(value)r is not a package id") % {"value": package_id}) from None
    referral = Referral.objects.select_for_update().filter(unit=unit, direction=Direction.RECEIVED, package_id=package_id).first()
    if referral is None:
        raise ExchangeError(_("no referral %(id)s was received by this unit") % {"id": package_id})
    return referral


@transaction.atomic
def referral_acknowledge(*, package_id: str, actor: Any, unit_code: str | None = None) -> bytes:
    """A signed receipt for a referral received from a partner, to send back to it."""
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    referral = _received_referral(unit=unit, package_id=package_id)
    now = timezone.now()
    body = {"referral": str(referral.package_id), "received_at": (referral.received_at or now).isoformat(),
            "reports": len(referral.reports.all())}
    receipt_id, data = _build(unit=unit, partner=referral.partner, kind=PackageKind.RECEIPT, body=body, parts={})
    _record(unit=unit, partner=referral.partner, direction=Direction.SENT, kind=PackageKind.RECEIPT, package_id=receipt_id, data=data)
    if referral.acknowledged_at is None:
        referral.acknowledged_at = now
        if referral.state == ReferralState.RECEIVED:
            referral.state = ReferralState.ACKNOWLEDGED
        referral.save(update_fields=["acknowledged_at", "state"])
    events.receipt_sent_event(actor=actor, referral=referral, receipt_id=receipt_id)
    return data


@transaction.atomic
def referral_report_outcome(*, package_id: str, kind: str, text: str, actor: Any, unit_code: str | None = None) -> bytes:
    """A signed outcome of a received referral (victim identified, arrest, ...), to send back to its sender."""
    check(actor, Action.MANAGE, Kind.PARTNER)
    unit = _unit(unit_code=unit_code, actor=actor)
    if kind not in OutcomeKind.values:
        raise ExchangeError(_("the outcome must be one of %(kinds)s") % {"kinds": ", ".join(OutcomeKind.values)})
    if len(text or "") > 5000:
        raise ExchangeError(_("the outcome's text has at most 5000 characters"))
    referral = _received_referral(unit=unit, package_id=package_id)
    now = timezone.now()
    body = {"referral": str(referral.package_id), "outcome": kind, "text": text or "", "reported_at": now.isoformat()}
    outcome_id, data = _build(unit=unit, partner=referral.partner, kind=PackageKind.OUTCOME, body=body, parts={})
    _record(unit=unit, partner=referral.partner, direction=Direction.SENT, kind=PackageKind.OUTCOME, package_id=outcome_id, data=data)
    ReferralOutcome.objects.create(referral=referral, kind=kind, text=text or "", reported_at=now, package_id=outcome_id)
    referral.state = ReferralState.OUTCOME
    referral.acknowledged_at = referral.acknowledged_at or now
    referral.save(update_fields=["state", "acknowledged_at"])
    events.outcome_sent_event(actor=actor, referral=referral, outcome_package=outcome_id, kind=kind)
    return data
