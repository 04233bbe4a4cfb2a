"""Writes of the public portal (SPEC §3.9): a citizen's report becomes a Report
(source `portal`) with its files, its sealed contact and a receipt; then
messages, both ways.

A portal report enters intake as any report does: its CyberTipline document is
built by document.py, validated by intake's own validator, stored by intake's
`report_create_from_tree`, its files go through the same encrypted store as
provider files and it is finished with `enqueue_report_received`, so hashing,
matching, linking and triage run on it.
"""
from __future__ import annotations

import base64
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from himaya.accounts.permissions import Action, get_for
from himaya.core.fields import seal as site_seal
from himaya.core.fields import unseal as site_unseal
from himaya.core.storage import PendingFile, blob_put
from himaya.intake.cybertip import check_file_details, to_xml
from himaya.intake.services import enqueue_report_received, file_details_apply, report_create_from_tree, validate_report
from himaya.portal import crypto, events
from himaya.portal.conf import setting
from himaya.portal.document import Answers, DeviceHashes, What, Who, Wording, build_report, device_file_details
from himaya.portal.models import Author, DeviceHash, PortalMessage, PortalSubmission
from himaya.reports.models import Report, ReportFile, ReportSource, ReportStatus

MAX_STORY = 5000
MAX_MESSAGE = 3000
ACCESS_SECONDS = 30 * 60


class PortalError(Exception):
    """Input the portal refuses, with a message for the reporter."""


@dataclass(frozen=True)
class Upload:
    pending: PendingFile
    name: str


def portal_unit() -> Any:
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code=setting("HIMAYA_PORTAL_UNIT", None))


def escalation_for(answers: Answers) -> str:
    """A child threatened with their own images is at risk now (self-harm follows
    sextortion): the portal escalates it, so the report is P1 on the rules' own
    floor whatever else it says. Call in the unit's language."""
    if answers.what != What.SEXTORTION:
        return ""
    if answers.who == Who.CHILD:
        return gettext("Public portal: a child reports that someone is threatening them with their images (sextortion).")
    return gettext("Public portal: someone reports that a child is being threatened with their images (sextortion).")


def wording_for(answers: Answers) -> Wording:
    """The portal's words in the document, in the unit's language (not the reporter's)."""
    with translation.override(settings.LANGUAGE_CODE):
        return Wording(portal=gettext("Public portal"), undated=gettext("Not given by the reporter: the time the report was sent."),
                       escalation=escalation_for(answers))


def _safe_name(name: str, position: int) -> str:
    """A file's name may say who the child is: keep only its extension."""
    ext = os.path.splitext(name or "")[1].lower()
    ext = ext if ext[1:].isalnum() and len(ext) <= 8 else ""
    return f"portal-file-{position}{ext}"


def device_note() -> str:
    """The fileDetails' note on a picture hashed on the device, in the unit's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("Hashed on the reporter's device: the picture itself was not sent, only these fingerprints.")


def _device_file_create(*, report: Report, position: int, hashes: DeviceHashes, now: datetime) -> ReportFile:
    """A report file without content: its hashes are declared in its fileDetails, as a
    provider declares `originalFileHash`, so that linking and export treat it as a file."""
    rf = ReportFile.objects.create(
        report=report, file_id=uuid.uuid4().hex, position=position, blob=None, upload_name=f"device-hash-{position}",
        size=hashes.size, md5=hashes.md5, sha1=hashes.sha1, sha256=hashes.sha256, uploaded_at=now,
    )
    details = device_file_details(hashes, report_id=report.id, file_id=rf.file_id, note=device_note())
    violations = check_file_details(details, now=now, batched=False)
    if violations:  # the portal's own document: a failure here is a bug, never the reporter's input
        raise PortalError(gettext("The report could not be stored. Please try again."))
    file_details_apply(rf, tree=details, raw=to_xml(details), now=now)
    DeviceHash.objects.create(report_file=rf, pdq=hashes.pdq, pdq_quality=hashes.pdq_quality, pdq_dihedral=list(hashes.pdq_dihedral))
    return rf


def portal_report_submit(*, answers: Answers, contact: dict[str, str] | None, uploads: list[Upload],
                         device: list[DeviceHashes] | tuple[DeviceHashes, ...] = (), now: datetime | None = None) -> tuple[Report, str]:
    """Store the report; the receipt (returned once, never stored) opens it again.
    `device`: pictures the reporter hashed on their own device and did not send."""
    now = now or timezone.now()
    try:
        unit = portal_unit()
        tree = build_report(answers, now=now, wording=wording_for(answers))
        raw = to_xml(tree)
        tree = validate_report(raw, now=now, unit_id=unit.id)  # what is stored is what intake accepts
        receipt = crypto.receipt_new()
        keys = crypto.receipt_keys(receipt)
        report_keys = crypto.report_keys_new(wrap=keys.wrap)
        with transaction.atomic():
            report = report_create_from_tree(tree=tree, raw=raw, unit=unit, source=ReportSource.PORTAL, reporter=None,
                                             now=now, status=ReportStatus.FINISHED)
            for position, upload in enumerate(uploads, start=1):
                blob = blob_put(upload.pending)
                s = upload.pending.stored
                ReportFile.objects.create(
                    report=report, file_id=uuid.uuid4().hex, position=position, blob=blob, upload_name=_safe_name(upload.name, position),
                    size=s.size, md5=s.md5, sha1=s.sha1, sha256=s.sha256, uploaded_at=now,
                )
            for position, hashes in enumerate(device, start=len(uploads) + 1):
                _device_file_create(report=report, position=position, hashes=hashes, now=now)
            PortalSubmission.objects.create(
                report=report, receipt_lookup=keys.lookup, public_key=report_keys.public, key_for_unit=report_keys.for_unit,
                key_for_receipt=report_keys.for_receipt, unit_key_id=report_keys.unit_key_id,
                contact=crypto.seal(report_keys.public, contact) if contact else None, created_at=now,
            )
            events.portal_report_received_event(report=report, files=len(uploads), device_hashed=len(device), anonymous=not contact)
            enqueue_report_received(report.id)
    finally:
        for upload in uploads:
            upload.pending.discard()  # a no-op once blob_put moved it into place
    return report, receipt


# The reporter's side ---------------------------------------------------------


@dataclass(frozen=True)
class ReporterAccess:
    submission: PortalSubmission
    wrap: bytes

    def token(self, *, now: float | None = None) -> str:
        """For the reply form (a hidden field, never a cookie): the report and its
        wrapping key, sealed with the site key, for half an hour."""
        now = now if now is not None else time.time()
        body = json.dumps({"s": self.submission.pk, "k": self.wrap.hex(), "e": int(now) + ACCESS_SECONDS}).encode()
        return base64.urlsafe_b64encode(site_seal(body, purpose=b"portal-access")).decode()


def access_by_receipt(*, receipt: str) -> ReporterAccess | None:
    digits = crypto.receipt_normalise(receipt)
    if len(digits) != crypto.RECEIPT_DIGITS:
        return None
    keys = crypto.receipt_keys(digits)
    submission = PortalSubmission.objects.select_related("report").filter(receipt_lookup=keys.lookup).first()
    if submission is None:
        return None
    events.portal_status_viewed_event(report=submission.report)
    return ReporterAccess(submission=submission, wrap=keys.wrap)


def access_by_token(*, token: str, now: float | None = None) -> ReporterAccess | None:
    try:
        body = json.loads(site_unseal(base64.urlsafe_b64decode(token.encode()), purpose=b"portal-access"))
        if body["e"] < (now if now is not None else time.time()):
            return None
        submission = PortalSubmission.objects.select_related("report").filter(pk=int(body["s"])).first()
        wrap = bytes.fromhex(body["k"])
    except Exception:  # forged, truncated or from another installation: no access, no detail
        return None
    return ReporterAccess(submission=submission, wrap=wrap) if submission else None


def _clean_message(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise PortalError(gettext("Please write a message."))
    if len(text) > MAX_MESSAGE:
        raise PortalError(gettext("Your message is too long. Please keep it under %(n)d letters.") % {"n": MAX_MESSAGE})
    return text


@transaction.atomic
def portal_reporter_message(*, access: ReporterAccess, text: str, now: datetime | None = None) -> PortalMessage:
    """Sealed to the report's public key: this code cannot read it back."""
    now = now or timezone.now()
    text = _clean_message(text)
    submission = access.submission
    message = PortalMessage.objects.create(submission=submission, author=Author.REPORTER, body=crypto.seal(submission.public_key, text), created_at=now)
    PortalSubmission.objects.filter(pk=submission.pk).update(last_reporter_message_at=now)
    events.portal_reporter_message_event(report=submission.report, message_id=message.pk, size=len(text.encode()))
    return message


# The unit's side -------------------------------------------------------------


@transaction.atomic
def portal_reply(*, actor: Any, report_id: int, text: str, now: datetime | None = None) -> PortalMessage:
    """A staff member answers the reporter (intake analysts, child protection, supervisors)."""
    now = now or timezone.now()
    submission = get_for(PortalSubmission.objects.select_related("report"), actor, Action.CREATE, report_id=report_id)
    text = _clean_message(text)
    message = PortalMessage.objects.create(submission=submission, author=Author.UNIT, staff_user=actor,
                                           body=crypto.seal(submission.public_key, text), created_at=now)
    PortalSubmission.objects.filter(pk=submission.pk).update(last_unit_message_at=now, seen_by_unit_at=now)
    events.portal_reply_sent_event(actor=actor, report=submission.report, message_id=message.pk, size=len(text.encode()))
    return message


@transaction.atomic
def portal_thread_seen(*, actor: Any, report_id: int, now: datetime | None = None) -> None:
    """A member of the unit opened the conversation: the reporter's page now says that
    a person has read the report (the read itself is audited by the selector)."""
    submission = get_for(PortalSubmission.objects.all(), actor, Action.VIEW, report_id=report_id)
    PortalSubmission.objects.filter(pk=submission.pk, seen_by_unit_at__isnull=True).update(seen_by_unit_at=now or timezone.now())


# Pictures hashed on the device ---------------------------------------------------


def _device_found(device: DeviceHash, rf: ReportFile) -> dict[int, tuple[str, int]]:
    """Listed entries the declared hashes match, as media matches a stored file: exactly
    (MD5, SHA-1, SHA-256) or by PDQ within the threshold, any of the 8 rotations and
    mirrors, when the picture's quality allows. Entry id -> (algorithm, distance)."""
    from django.db.models import Q

    from himaya.media import conf as media_conf
    from himaya.media.models import Algorithm, HashEntry
    from himaya.media.services import pdq_index

    found: dict[int, tuple[str, int]] = {}
    exact = Q(algorithm=Algorithm.MD5, value=rf.md5)
    if rf.sha1:
        exact |= Q(algorithm=Algorithm.SHA1, value=rf.sha1)
    if rf.sha256:
        exact |= Q(algorithm=Algorithm.SHA256, value=rf.sha256)
    for entry_id, algorithm in HashEntry.objects.filter(exact).values_list("id", "algorithm"):
        found[entry_id] = (algorithm, 0)
    queries = list(device.pdq_dihedral or ([device.pdq] if device.pdq else []))
    if queries and (device.pdq_quality or 0) >= media_conf.pdq_min_quality():
        loaded = pdq_index()
        array = np.frombuffer(bytes.fromhex("".join(queries)), dtype=np.uint8).reshape(-1, 32)
        _, rows, distances = loaded.index.search_arrays(array)
        for row, distance in zip(rows, distances):
            if loaded.video_group[row] < 0:  # an image's PDQ, not a frame of a listed video
                entry_id = int(loaded.entry_ids[row])
                if entry_id not in found or found[entry_id][0] == Algorithm.PDQ and distance < found[entry_id][1]:
                    found[entry_id] = (Algorithm.PDQ, int(distance))
    return found


def device_hashes_match(*, report_id: int, now: datetime | None = None) -> list[DeviceHash]:
    """Match a report's device-hashed pictures against the hash lists (idempotent:
    run again after a list changes, it writes only what changed)."""
    from himaya.media.models import FileStatus, HashEntry
    from himaya.media.services import STATUS_BY_KIND, STATUS_RANK

    now = now or timezone.now()
    done = []
    for device in DeviceHash.objects.filter(report_file__report_id=report_id).select_related("report_file", "report_file__report"):
        found = _device_found(device, device.report_file)
        entries = {e.id: e for e in HashEntry.objects.filter(id__in=found).select_related("hash_list")}
        matches = sorted(({"list": entries[i].hash_list.name, "kind": entries[i].hash_list.kind, "category": entries[i].category or None,
                           "algorithm": alg, "distance": d} for i, (alg, d) in found.items() if i in entries),
                         key=lambda m: (m["list"], m["distance"], m["algorithm"]))
        kinds = {STATUS_BY_KIND[m["kind"]] for m in matches}
        status = next((s for s in STATUS_RANK if s in kinds), FileStatus.NEW)
        with transaction.atomic():
            locked = DeviceHash.objects.select_for_update().get(pk=device.pk)
            if locked.status != status or locked.matches != matches:
                events.portal_device_matched_event(report=device.report_file.report, file_id=device.report_file.file_id,
                                                   old_status=locked.status, status=str(status), matches=len(matches))
            locked.status, locked.matches, locked.matched_at = str(status), matches, now
            locked.save(update_fields=["status", "matches", "matched_at"])
        done.append(locked)
    return done


def device_hashes_rematch_all() -> int:
    """Every report with pictures hashed on the device, matched again; how many reports."""
    report_ids = sorted(set(DeviceHash.objects.values_list("report_file__report_id", flat=True)))
    for report_id in report_ids:
        device_hashes_match(report_id=report_id)
    return len(report_ids)


def on_rematch_queued(sender: Any, *, instance: Any, created: bool, **kwargs: Any) -> None:
    """media re-matches every stored file when a list is imported, changed or retired (a
    new RematchJob): the pictures hashed on devices, which media holds no content for,
    are matched again here, in the background after that commit."""
    if created and DeviceHash.objects.exists():
        from himaya.portal.tasks import device_hashes_rematch

        transaction.on_commit(lambda: device_hashes_rematch.enqueue())
