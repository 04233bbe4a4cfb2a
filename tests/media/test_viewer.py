"""Safe viewing (SPEC §3.2): explicit permission, blurred greyscale first, one file at a time, the legal lock, audit, no-store."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from PIL import Image

from himaya.accounts.services import user_create
from himaya.audit.models import AuditEvent
from himaya.media.models import LegalAuthorisation
from tests.conftest import DOC_REPORT
from tests.ui.conftest import file_details
from tests.media.fixtures import drawn_image, drawn_video
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-1"


def grant(user, *codenames: str) -> None:
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="media", codename=codename))


def login(username: str, roles=("investigator",), unit="intake", perms=(), superuser=False) -> Client:
    user = user_create(username=username, password=PASSWORD, roles=list(roles), unit_code=unit)
    if superuser:
        user.is_superuser = True
        user.save()
    grant(user, *perms)
    return login_verified(Client(), user, PASSWORD)


@pytest.fixture
def files(provider, django_capture_on_commit_callbacks):
    """Two files: the provider viewed the first, said nothing about the second."""
    with django_capture_on_commit_callbacks(execute=True):
        rid = provider.submit(DOC_REPORT).report_id
        viewed = provider.upload(rid, drawn_image(31)).file_id
        assert provider.fileinfo(file_details(rid, viewed)).code == 0  # fileViewedByEsp true
        unviewed = provider.upload(rid, drawn_image(32)).file_id
        provider.finish(rid)
    return rid, viewed, unviewed


def test_nothing_is_shown_unasked_then_blurred_greyscale_then_clearer(files):
    rid, viewed, _ = files
    client = login("nour", perms=["view_media"])
    detail = client.get(f"/reports/{rid}/").content.decode()
    assert f"/media/files/{viewed}/" in detail and "<img" not in detail
    page = client.get(f"/media/files/{viewed}/")
    assert page.status_code == 200 and "<img" not in page.content.decode() and page["Cache-Control"].startswith("no-store")
    assert client.get(f"/media/files/{viewed}/preview-blurred.png").status_code == 404  # not revealed yet
    assert client.post(f"/media/files/{viewed}/reveal", {"level": "clear"}).status_code == 302
    assert 'data-level="blurred"' in client.get(f"/media/files/{viewed}/").content.decode()  # clear was refused as a first step
    preview = client.get(f"/media/files/{viewed}/preview-blurred.png")
    assert preview.status_code == 200 and preview["Cache-Control"].startswith("no-store") and preview["Content-Type"] == "image/png"
    im = Image.open(io.BytesIO(preview.content))
    assert im.mode == "L" and max(im.size) <= 320
    assert client.get(f"/media/files/{viewed}/preview-clear.png").status_code == 404
    client.post(f"/media/files/{viewed}/reveal", {"level": "clear"})
    clear = Image.open(io.BytesIO(client.get(f"/media/files/{viewed}/preview-clear.png").content))
    assert clear.mode == "RGB"
    actions = list(AuditEvent.objects.filter(actor="user:nour", action__startswith="media.").values_list("action", "data__level"))
    assert actions == [("media.revealed", "blurred"), ("media.viewed", "blurred"), ("media.revealed", "clear"), ("media.viewed", "clear")]


def test_one_file_at_a_time(files, provider, django_capture_on_commit_callbacks):
    rid, viewed, _ = files
    with django_capture_on_commit_callbacks(execute=True):
        rid2 = provider.submit(DOC_REPORT).report_id
        other = provider.upload(rid2, drawn_image(33)).file_id
        assert provider.fileinfo(file_details(rid2, other)).code == 0
        provider.finish(rid2)
    client = login("nour", perms=["view_media"])
    client.post(f"/media/files/{viewed}/reveal", {"level": "blurred"})
    client.post(f"/media/files/{other}/reveal", {"level": "blurred"})
    assert client.get(f"/media/files/{other}/preview-blurred.png").status_code == 200
    assert client.get(f"/media/files/{viewed}/preview-blurred.png").status_code == 404


@pytest.mark.parametrize("roles, perms, superuser", [
    (("investigator",), (), False),  # not granted
    (("auditor",), ("view_media",), False),  # auditors never
    (("supervisor",), (), True),  # a superuser is not implicitly a viewer
])
def test_viewing_needs_the_explicit_permission(files, roles, perms, superuser):
    _, viewed, _ = files
    client = login("someone", roles=roles, perms=perms, superuser=superuser)
    assert client.get(f"/media/files/{viewed}/").status_code == 403
    assert client.post(f"/media/files/{viewed}/reveal", {"level": "blurred"}).status_code == 403


def test_another_units_file_does_not_exist(files):
    _, viewed, _ = files
    client = login("elsewhere", unit="other-unit", perms=["view_media"])
    assert client.get(f"/media/files/{viewed}/").status_code == 404


def test_a_file_the_provider_did_not_view_is_locked_until_a_warrant_is_recorded(files):
    _, _, unviewed = files
    client = login("nour", perms=["view_media"])
    page = client.get(f"/media/files/{unviewed}/").content.decode()
    assert 'id="media-locked"' in page and "warrant_number" not in page  # no permission to record one
    client.post(f"/media/files/{unviewed}/reveal", {"level": "blurred"})
    assert client.get(f"/media/files/{unviewed}/preview-blurred.png").status_code == 404
    assert client.post(f"/media/files/{unviewed}/authorise", {"warrant_number": "W-1", "granted_on": "2026-11-01", "granted_by": "Judge Example"}).status_code == 403

    prosecutor = login("rana", roles=("prosecutor",), perms=["view_media", "record_authorisation"])
    assert "warrant_number" in prosecutor.get(f"/media/files/{unviewed}/").content.decode()
    prosecutor.post(f"/media/files/{unviewed}/authorise", {"warrant_number": "W-2026-17", "granted_on": "2026-11-01", "granted_by": "Judge Example"})
    auth = LegalAuthorisation.objects.get()
    assert (auth.warrant_number, str(auth.granted_on), auth.granted_by, auth.recorded_by.username) == ("W-2026-17", "2026-11-01", "Judge Example", "rana")
    assert AuditEvent.objects.filter(action="media.authorisation_recorded", actor="user:rana").count() == 1
    client.post(f"/media/files/{unviewed}/reveal", {"level": "blurred"})
    assert client.get(f"/media/files/{unviewed}/preview-blurred.png").status_code == 200


def test_permissions_are_granted_explicitly_from_the_command_line_and_audited(files):
    from django.core.management import CommandError, call_command

    _, viewed, _ = files
    sami = user_create(username="sami", password=PASSWORD, roles=["investigator"], unit_code="intake")
    user_create(username="audra", password=PASSWORD, roles=["auditor"], unit_code="intake")
    client = login_verified(Client(), sami, PASSWORD)
    assert client.get(f"/media/files/{viewed}/").status_code == 403
    call_command("media_permission", "grant", "sami", "view_media")
    assert client.get(f"/media/files/{viewed}/").status_code == 200
    with pytest.raises(CommandError, match="auditors never"):
        call_command("media_permission", "grant", "audra", "view_media")
    call_command("media_permission", "withdraw", "sami", "view_media")
    assert client.get(f"/media/files/{viewed}/").status_code == 403
    assert list(AuditEvent.objects.filter(action__startswith="media.permission").values_list("action", flat=True)) == [
        "media.permission_granted", "media.permission_withdrawn"]


def test_a_video_previews_as_its_first_frame_blurred(provider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rid = provider.submit(DOC_REPORT).report_id
        fid = provider.upload(rid, drawn_video(2), name="clip.mp4").file_id
        assert provider.fileinfo(file_details(rid, fid)).code == 0
        provider.finish(rid)
    client = login("nour", perms=["view_media"])
    client.post(f"/media/files/{fid}/reveal", {"level": "blurred"})
    preview = client.get(f"/media/files/{fid}/preview-blurred.png")
    assert preview.status_code == 200 and Image.open(io.BytesIO(preview.content)).mode == "L"
