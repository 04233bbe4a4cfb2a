"""Pictures hashed on the reporter's device: only their fingerprints arrive, become
a report file without content (hashes declared in its fileDetails, so it links and
exports like a provider's file), and are matched against the hash lists."""
from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from himaya.accounts.permissions import OPERATOR
from himaya.audit.models import AuditEvent
from himaya.media.hashing import image_hashes
from himaya.media.services import hashlist_import
from himaya.portal.models import DeviceHash
from himaya.portal.services import device_hashes_match
from himaya.reports.models import Report, ReportFile
from tests.portal.conftest import form_fields, png_bytes, receipt_of, submit


def device_entry(picture: bytes) -> dict:
    """What devicehash.js sends for a picture (computed here with the server's own hashing)."""
    hashes = image_hashes(picture)
    return {"size": len(picture), "md5": hashlib.md5(picture).hexdigest(), "sha1": hashlib.sha1(picture).hexdigest(),
            "sha256": hashlib.sha256(picture).hexdigest(), "pdq": hashes.pdq, "pdq_quality": hashes.pdq_quality,
            "pdq_dihedral": hashes.pdq_dihedral}


def textured(seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.kron(rng.integers(0, 255, (12, 16, 3)), np.ones((20, 20, 1))).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(base).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.django_db
def test_fingerprints_become_a_file_without_content_that_matches_and_exports(django_capture_on_commit_callbacks, tmp_path) -> None:  # type: ignore[no-untyped-def]
    picture = textured()
    entry = device_entry(picture)
    rotated = io.BytesIO()
    Image.open(io.BytesIO(picture)).rotate(90, expand=True).save(rotated, format="PNG")
    # The unit's list knows a rotated copy of the picture, by PDQ only.
    hashlist_import(data=f"pdq:{image_hashes(rotated.getvalue()).pdq}\n".encode(), name="known-2026", kind="known", fmt="lines", actor=OPERATOR)
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(Client(), form_fields(device_hashes=json.dumps([entry])))
    assert response.status_code == 200 and receipt_of(response)
    assert "الصورة نفسها على هاتفك" in response.content.decode()

    report = Report.objects.get()
    rf = ReportFile.objects.get(report=report)
    assert rf.blob_id is None and rf.md5 == entry["md5"] and rf.sha256 == entry["sha256"] and rf.size == len(picture)
    declared = {c["a"]["hashType"]: c["x"] for c in rf.details_document["c"] if c["t"] == "originalFileHash"}
    assert declared == {"MD5": entry["md5"], "SHA1": entry["sha1"], "SHA256": entry["sha256"], "PDQ": entry["pdq"]}
    device = DeviceHash.objects.get(report_file=rf)
    assert device.status == "known"  # matched in the background, through the rotated copy on the list
    assert [(m["list"], m["algorithm"]) for m in device.matches] == [("known-2026", "pdq")]
    assert AuditEvent.objects.filter(action="portal.device_matched", target_id=str(report.pk)).count() == 1
    device_hashes_match(report_id=report.pk)  # idempotent: nothing changed, nothing recorded
    assert AuditEvent.objects.filter(action="portal.device_matched").count() == 1
    # Staff see the fingerprints and the verdict on the report page.
    from himaya.accounts.services import user_create
    from tests.auth_helpers import login_verified

    analyst = user_create(username="analyst-device", password="staff-password-1", roles=["intake_analyst"], unit_code=report.unit.code)
    page = login_verified(Client(), analyst).get(f"/reports/{report.pk}/").content.decode()
    assert entry["pdq"] in page and "صور بُصمت على جهاز المُبلِّغ" in page and 'data-status="known"' in page and "known-2026" in page

    from himaya.intake.bulk import report_export

    out = report_export(report=report, out_dir=tmp_path / "out", actor=OPERATOR)
    written = sorted(p.name for p in (out / "files" / rf.file_id).iterdir())
    assert written == ["fileDetails.xml"]  # the hashes, no content (none was ever received)
    assert entry["pdq"].encode() in (out / "files" / rf.file_id / "fileDetails.xml").read_bytes()


@pytest.mark.django_db
def test_an_exact_md5_match_and_a_new_picture(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    known, fresh = png_bytes(marker="one", colour=(200, 10, 10)), textured(seed=99)
    hashlist_import(data=f"md5:{hashlib.md5(known).hexdigest()}\n".encode(), name="viral-list", kind="viral", fmt="lines", actor=OPERATOR)
    with django_capture_on_commit_callbacks(execute=True):
        submit(Client(), form_fields(device_hashes=json.dumps([device_entry(known), device_entry(fresh)])))
    statuses = list(DeviceHash.objects.order_by("report_file__position").values_list("status", flat=True))
    assert statuses == ["viral", "new"]


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [
    "not json", json.dumps({"md5": "0" * 32}), json.dumps([{"size": 1, "md5": "xyz"}]),
    json.dumps([{"size": 1, "md5": "0" * 32, "pdq": "f" * 63}]), json.dumps([{"size": -1, "md5": "0" * 32}]),
    json.dumps([{"size": 1, "md5": "0" * 32, "pdq": "f" * 64, "pdq_quality": 100, "pdq_dihedral": ["0" * 64] * 8}]),
    json.dumps([{"size": 1, "md5": "0" * 32}] * 6),
])
def test_anything_but_the_browsers_own_shape_is_refused_whole(bad: str) -> None:
    response = submit(Client(), form_fields(device_hashes=bad))
    assert response.status_code == 400 and "تعذّرت قراءة بصمات صورك" in response.content.decode()
    assert Report.objects.count() == 0 and ReportFile.objects.count() == 0


@pytest.mark.django_db
def test_a_list_imported_later_matches_the_fingerprints_again(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    picture = textured(seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        submit(Client(), form_fields(device_hashes=json.dumps([device_entry(picture)])))
    assert DeviceHash.objects.get().status == "new"
    with django_capture_on_commit_callbacks(execute=True):  # the list's re-match runs after its commit
        hashlist_import(data=f"sha256:{hashlib.sha256(picture).hexdigest()}\n".encode(), name="seized-later", kind="seizure", fmt="lines", actor=OPERATOR)
    device = DeviceHash.objects.get()
    assert device.status == "known" and [(m["list"], m["algorithm"]) for m in device.matches] == [("seized-later", "sha256")]
