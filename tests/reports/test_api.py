"""The JSON API (SPEC §4.3): token auth, the caller's unit only, documented fields."""
from __future__ import annotations

import hashlib

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from himaya.accounts.services import reporter_create, token_create, user_create
from himaya.audit.models import AuditEvent
from tests.conftest import DOC_REPORT, Provider, file_details_doc

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_report(provider, image_bytes):
    rid = provider.submit(DOC_REPORT.replace(b"</reporter>", b"</reporter><personOrUserReported><screenName>night_owl</screenName>"
                                              b"<ipCaptureEvent><ipAddress>192.0.2.7</ipAddress></ipCaptureEvent></personOrUserReported>")).report_id
    fid = provider.upload(rid, image_bytes).file_id
    provider.fileinfo(file_details_doc(rid, fid))
    provider.finish(rid)
    return rid, fid


def _api(username: str, unit: str) -> APIClient:
    user_create(username=username, password="a-long-password-1", roles=["intake_analyst"], unit_code=unit)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(username=username)}")
    return client


def test_token_from_the_command_line_reads_a_report_with_its_files(finished_report, image_bytes, capsys):
    rid, fid = finished_report
    user_create(username="amal", password="a-long-password-1", roles=["intake_analyst"], unit_code="intake")
    call_command("create_token", "amal")
    token = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listing = client.get("/api/v1/reports/").json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == rid
    detail = client.get(f"/api/v1/reports/{rid}/").json()
    assert detail["id"] == rid and detail["status"] == "finished" and detail["source"] == "provider"  # SPEC §4.3's names
    f = detail["files"][0]
    assert (f["file_id"], f["md5"], f["sha256"]) == (fid, hashlib.md5(image_bytes).hexdigest(), hashlib.sha256(image_bytes).hexdigest())
    assert f["status"] == "new" and f["matches"] == []  # hashed and matched by the report's enrichment flow: on no list
    reported = next(p for p in detail["parties"] if p["role"] == "reported")
    assert reported["screen_name"] == "night_owl"
    assert {"kind": "ip", "value": "192.0.2.7", "qualifier": ""} in reported["identifiers"]
    assert AuditEvent.objects.filter(action="report.viewed", actor="user:amal", target_id=str(rid)).exists()


def test_another_units_report_does_not_exist_for_the_caller(finished_report):
    rid, _ = finished_report
    outsider = _api("karim", "other-unit")
    assert outsider.get(f"/api/v1/reports/{rid}/").status_code == 404
    assert outsider.get("/api/v1/reports/").json()["count"] == 0


def test_filters_by_identifier_and_status(finished_report, provider):
    rid, _ = finished_report
    open_rid = provider.submit(DOC_REPORT).report_id
    client = _api("huda", "intake")
    assert [r["id"] for r in client.get("/api/v1/reports/", {"identifier": "NIGHT_OWL"}).json()["results"]] == [rid]
    assert [r["id"] for r in client.get("/api/v1/reports/", {"status": "open"}).json()["results"]] == [open_rid]
    assert client.get("/api/v1/reports/", {"status": "nonsense"}).status_code == 400


def test_anonymous_and_bad_tokens_are_refused(finished_report):
    rid, _ = finished_report
    assert APIClient().get(f"/api/v1/reports/{rid}/").status_code in (401, 403)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/reports/").status_code in (401, 403)


def test_openapi_schema_documents_the_report_endpoints(db):
    assert APIClient().get("/api/schema/").status_code in (401, 403)
    schema = _api("salma", "intake").get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    body = schema.content.decode()
    assert "/api/v1/reports/{id}/" in body and "md5" in body


def test_create_user_rejects_unknown_roles(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_user", "x", "--role", "wizard", "--password", "a-long-password-1")
