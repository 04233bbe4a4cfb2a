"""No victim name or date of birth in clear anywhere at rest (SPEC §3.6, §3.10): the
whole database (SQLite's file image; every row of every table, on either backend)
and every file under HIMAYA_HOME, read as raw bytes, after the names went in and
out through the API, the timeline, notes and the audit log."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from himaya.audit.services import audit_seal
from himaya.cases import services as S
from himaya.cases.models import Victim

pytestmark = pytest.mark.django_db(transaction=True)

FIRST, LAST, DOB = "Zubaydaqa", "Qarnitawi", "2013-07-19"
ADDRESS, CONTACT = "17 Olive Grove Lane, Exampleville", "+970599000123"
ATTACHMENT = "Consent-of-guardian-Wahbiqa-signed-on-the-third"  # what a case's attached file says
ATTACHMENT_NAME = "guardian-consent-Zubaydaqa.txt"
SECRETS = [FIRST, LAST, DOB, ADDRESS, CONTACT, ATTACHMENT, ATTACHMENT_NAME]


def _forms(text: str) -> list[bytes]:
    """The ways a string can sit in storage: UTF-8, UTF-16 (either order), and JSON-escaped."""
    return [text.encode(), text.encode("utf-16-le"), text.encode("utf-16-be"), text.lower().encode(), text.upper().encode()]


def _database_rows() -> bytes:
    chunks: list[bytes] = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cur.fetchall():
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)


def _database_image() -> bytes:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.serialize()  # the database file's bytes, pages and all
    return b""


def _file_store() -> bytes:
    chunks = []
    for path in Path(settings.HIMAYA_HOME).rglob("*"):
        if path.is_file():
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def test_victim_identity_is_nowhere_in_clear(people, reports) -> None:  # type: ignore[no-untyped-def]
    sup = people["supervisor"]
    case = S.case_open(actor=sup, title="Raw bytes", report_ids=[reports[0].id])
    c = APIClient()
    c.force_authenticate(sup)
    r = c.post("/api/v1/victims/", {"case": case.pk, "first_name": FIRST, "last_name": LAST, "date_of_birth": DOB,
                                    "address": ADDRESS, "contact": CONTACT, "identification": "identified"}, format="json")
    assert r.status_code == 201 and r.json()["first_name"] == FIRST
    vid = r.json()["id"]
    assert c.patch(f"/api/v1/victims/{vid}/", {"last_name": LAST + "-Ex", "identification": "located"}, format="json").status_code == 200
    assert c.get(f"/api/v1/victims/{vid}/").json()["last_name"] == LAST + "-Ex"
    S.case_add_note(actor=sup, case=case, text=f"Met {FIRST} {LAST} (born {DOB}) with her guardian.")
    # An attachment goes in through the API and comes back out whole (and the download is audited).
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = (ATTACHMENT + "\n") * 2000
    r = c.post(f"/api/v1/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile(ATTACHMENT_NAME, content.encode())}, format="multipart")
    assert r.status_code == 201 and r.json()["name"] == ATTACHMENT_NAME
    download = c.get(f"/api/v1/attachments/{r.json()['id']}/content/")
    assert b"".join(download.streaming_content).decode() == content
    assert c.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    audit_seal()
    victim = Victim.objects.get(pk=vid)
    assert (victim.first_name, victim.date_of_birth, victim.address) == (FIRST, DOB, ADDRESS)  # plain in code

    stored = _database_rows() + _database_image() + _file_store()
    assert len(stored) > 10_000
    found = [s for s in SECRETS for form in _forms(s) if form in stored]
    assert found == []
