"""The hash-lists page for supervisors (/media/lists/): import, provenance, export, retire with a reason, re-match progress."""
from __future__ import annotations

import hashlib
import html
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from himaya.accounts.permissions import OPERATOR
from himaya.accounts.services import user_create
from himaya.audit.models import AuditEvent
from himaya.media.models import HashList, MediaState, RematchJob
from himaya.media.services import hashlist_import, rematch_job_run
from tests.conftest import DOC_REPORT
from tests.media.fixtures import BRIDGE, benign, drawn_image, pdq, vics_13, vics_item
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-1"


def login(username: str, roles=("supervisor",), perms=(), language: str | None = None) -> Client:
    user = user_create(username=username, password=PASSWORD, roles=list(roles), unit_code="intake")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="media", codename=codename))
    client = login_verified(Client(), user, PASSWORD)
    if language:
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client


def upload(client: Client, data: bytes, **fields) -> object:
    form = {"name": "L", "kind": "known", "format": "vics", "scheme": "auto", "provenance": "", "algorithm": "", **fields}
    return client.post("/media/lists/", {"file": SimpleUploadedFile("list.dat", data), **form})


@pytest.fixture
def stored(provider, django_capture_on_commit_callbacks):
    """Three files already stored (and hashed) before any list exists."""
    with django_capture_on_commit_callbacks(execute=True):
        rid = provider.submit(DOC_REPORT).report_id
        ids = [provider.upload(rid, data).file_id for data in (drawn_image(60), benign(BRIDGE), drawn_image(61))]
        assert provider.finish(rid).code == 0
    return ids


def state_of(file_id: str) -> str:
    return MediaState.objects.get(blob__report_files__file_id=file_id).status


def test_a_supervisor_imports_a_list_and_sees_its_provenance_version_importer_and_the_rematch(stored, django_capture_on_commit_callbacks):
    known, bridge, _ = stored
    client = login("head")
    page = client.get("/").content.decode()
    assert "/media/lists/" in page and "قوائم البصمات" in page  # in the menu, in Arabic
    data = vics_13([vics_item(drawn_image(60), media_id="m1", category="2")])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, data, name="ICSE-2026-11", provenance="INTERPOL ICSE, example agreement 7")
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, f"{pdq(BRIDGE)}\n".encode(), name="memes", kind="viral", format="lines", algorithm="pdq")
    page = client.get("/media/lists/").content.decode()
    assert 'lang="ar"' in page and "نظام التصنيف" in page and "Project VIC" in page
    row = page[page.index('data-list="ICSE-2026-11"'):]
    row = row[:row.index("</tr>")]
    assert "INTERPOL ICSE, example agreement 7" in row and ">1<" in row and ">3<" in row  # version 1, MD5 + SHA1 + PhotoDNA
    assert "head" in row and "vics-1.3" in row and "list.dat" in row
    # The re-matching each import started, with its progress, and its effect on the stored files.
    assert page.count('data-job-status="done"') == 2 and "استيراد ICSE-2026-11 (الإصدار 1)" in page and "3 / 3" in page
    assert (state_of(known), state_of(bridge)) == ("known", "viral")
    exported = client.get(f"/media/lists/{HashList.objects.get(name='ICSE-2026-11').pk}/export.vics.json")
    assert exported.status_code == 200 and exported["Cache-Control"].startswith("no-store")
    media = json.loads(exported.content)["value"][0]["Media"]
    assert media[0]["MD5"] == hashlib.md5(drawn_image(60)).hexdigest().upper() and media[0]["Category"] == 2
    imported = AuditEvent.objects.filter(action="hashlist.imported", actor="user:head").values_list("data__name", flat=True)
    assert sorted(imported) == ["ICSE-2026-11", "memes"]


def test_rematch_progress_is_shown_while_it_runs(stored):
    client = login("head")
    hashlist_import(data=f"md5:{hashlib.md5(drawn_image(61)).hexdigest()}\n".encode(), name="seized", kind="seizure", fmt="lines", actor=OPERATOR)
    job = RematchJob.objects.get()
    rematch_job_run(job_id=job.id, batch=1, max_batches=1)  # the worker is one file in
    page = client.get("/media/lists/").content.decode()
    assert 'data-job-status="running"' in page and "قيد التنفيذ" in page
    assert '<progress max="3" value="1">' in page and "1 / 3" in page and "سطر الأوامر" in page  # requested from the command line


@pytest.mark.parametrize("payload, fmt, shown", [
    (vics_13([{"MediaID": "1", "MD5": "0" * 32, "Category": "9"}]), "vics", "value[0].Media[0]: الفئة '9' ليست من نظام projectvic (0, 1, 2, 3, 4)"),
    (b"{not json", "vics", "ليس ملف VICS JSON"),
    (b"md5\n" + b"a" * 32 + b"\nnot-a-hash\n", "csv", "السطر 3: md5: 'not-a-hash' ليست بصمة MD5"),
    (b"0123\n", "lines", "السطر 1: تعذّر تحديد نوع البصمة '0123'"),
])
def test_a_bad_file_gives_a_clear_error_in_arabic_and_imports_nothing(payload, fmt, shown):
    client = login("head")
    upload(client, vics_13([vics_item(b"x", media_id="1")]), name="L", provenance="first")
    response = upload(client, payload, name="L", format=fmt, provenance="second")
    page = html.unescape(response.content.decode())
    assert response.status_code == 400 and "لم يُستورد شيء" in page and shown in page
    hash_list = HashList.objects.get()
    assert (hash_list.version, hash_list.entries.count(), hash_list.provenance) == (1, 3, "first")
    assert RematchJob.objects.count() == 1


def test_the_error_is_in_english_for_an_english_user():
    client = login("head", language="en")
    response = upload(client, b"0123\n", name="L", format="lines")
    assert "Nothing was imported: line 1: cannot tell which hash '0123' is" in html.unescape(response.content.decode())
    assert not HashList.objects.exists()


def test_retiring_a_list_needs_a_confirmation_and_a_reason_then_its_files_are_rematched(stored, django_capture_on_commit_callbacks):
    known, _, other = stored
    client = login("head")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, f"sha1:{hashlib.sha1(drawn_image(60)).hexdigest()}\n".encode(), name="old-seizure", kind="seizure", format="lines", provenance="case 12")
    assert state_of(known) == "known"
    hash_list = HashList.objects.get()
    confirm = client.get(f"/media/lists/{hash_list.pk}/retire")
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "سحب القائمة old-seizure؟" in text and "يطابقها الآن ملف مخزّن واحد" in text and "case 12" in text
    refused = client.post(f"/media/lists/{hash_list.pk}/retire", {"reason": "   "})
    assert refused.status_code == 400 and "اذكر سبب سحب القائمة" in refused.content.decode()
    assert HashList.objects.exists() and state_of(known) == "known"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/media/lists/{hash_list.pk}/retire", {"reason": "Court ruled the seizure inadmissible"}, follow=True)
    page = done.content.decode()
    assert "سُحبت القائمة old-seizure" in page and not HashList.objects.exists()
    assert (state_of(known), state_of(other)) == ("new", "new")
    event = AuditEvent.objects.get(action="hashlist.deleted")
    assert (event.actor, event.data["reason"], event.data["entries"], event.data["provenance"]) == (
        "user:head", "Court ruled the seizure inadmissible", 1, "case 12")
    retired = page[page.index('id="retired-lists"'):]
    assert "old-seizure" in retired and "Court ruled the seizure inadmissible" in retired and "head" in retired
    job = RematchJob.objects.order_by("-id").first()
    assert (job.trigger, job.status, job.done) == ("delete", "done", 3) and "سحب old-seizure" in page


@pytest.mark.parametrize("roles, perms, unit", [
    (("intake_analyst",), (), "intake"),
    (("investigator", "prosecutor"), (), "intake"),
    (("auditor",), ("manage_hashlists",), "intake"),  # read-only, even when granted
    (("supervisor",), (), "unit-b"),  # the lists are national: another unit's supervisor reads them
])
def test_the_national_lists_are_read_by_all_and_changed_only_by_national_supervisors(roles, perms, unit):
    hash_list = hashlist_import(data=b"md5:" + b"a" * 32 + b"\n", name="L", kind="known", fmt="lines", actor=OPERATOR)
    user = user_create(username="someone", password=PASSWORD, roles=list(roles), unit_code=unit, create_unit=True)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="media", codename=codename))
    client = login_verified(Client(), user, PASSWORD)
    assert "/media/lists/" in client.get("/").content.decode()
    page = client.get("/media/lists/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-list="L"' in text
    assert 'enctype="multipart/form-data"' not in text and f"/media/lists/{hash_list.pk}/retire" not in text  # no form it cannot submit
    assert upload(client, b"md5:" + b"b" * 32 + b"\n", name="M", format="lines").status_code == 403
    assert client.get(f"/media/lists/{hash_list.pk}/retire").status_code == 403
    assert client.post(f"/media/lists/{hash_list.pk}/retire", {"reason": "no"}).status_code == 403
    exported = client.get(f"/media/lists/{hash_list.pk}/export.vics.json").status_code
    assert exported == (200 if "supervisor" in roles else 403)  # exporting is not a change: any supervisor
    assert list(HashList.objects.values_list("name", flat=True)) == ["L"]
    assert not AuditEvent.objects.filter(action="hashlist.deleted").exists()


def test_a_grant_adds_nothing_to_the_table_and_anonymous_users_are_sent_to_log_in():
    granted = login("lead", roles=("investigator",), perms=("manage_hashlists",))
    assert granted.get("/media/lists/").status_code == 200
    assert upload(granted, b"md5:" + b"b" * 32 + b"\n", name="M", format="lines").status_code == 403
    anonymous = Client().get("/media/lists/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
