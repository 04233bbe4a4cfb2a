"""What a report says about people is ciphertext in the database (SPEC §3.10)."""
import pytest
from django.db import connection

from himaya.reports.models import Party, Report
from tests.conftest import DOC_REPORT

pytestmark = pytest.mark.django_db


def _raw_column(sql: str, params: list) -> bytes:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        value = cur.fetchone()[0]
    return bytes(value) if not isinstance(value, str) else value.encode()


def test_documents_and_names_are_encrypted_in_the_database_and_plain_in_code(provider):
    victim = b"<victim><victimPerson><firstName>Layla</firstName><lastName>Sampleton</lastName><age>12</age></victimPerson></victim>"
    doc = DOC_REPORT.replace(b"</reporter>", b"</reporter>" + victim)
    rid = provider.submit(doc).report_id

    report = Report.objects.get(id=rid)
    assert report.raw_xml == doc and "Sampleton" in str(report.document)
    assert Party.objects.get(report=report, role="victim").last_name == "Sampleton"

    for column in ("raw_xml", "document"):
        stored = _raw_column(f"SELECT {column} FROM reports_report WHERE id = %s", [rid])
        assert b"Sampleton" not in stored and b"Smith" not in stored
    stored_name = _raw_column("SELECT last_name FROM reports_party WHERE report_id = %s AND role = 'victim'", [rid])
    assert b"Sampleton" not in stored_name and stored_name.startswith(b"enc:")
