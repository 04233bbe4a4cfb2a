"""Every read of a report's people (victims, reporting persons) is audited, on the
page and through the API; the event says whether names were shown."""
from __future__ import annotations

import pytest
from django.utils import translation

from himaya.audit.models import AuditEvent
from himaya.audit.presentation import describe
from tests.audit.conftest import logged_in, member

pytestmark = pytest.mark.django_db


def views_of(username: str) -> list[tuple[str, bool]]:
    return [(e.target_id, e.data.get("identities")) for e in AuditEvent.objects.filter(action="report.viewed", actor=f"user:{username}")]


@pytest.mark.parametrize("channel", ["page", "api"])
def test_a_read_of_a_reports_people_is_audited(files_of, channel):
    rid, _ = files_of("unit-a")
    investigator = member("inv-a", "investigator", "unit-a")
    client = logged_in(investigator)
    path = f"/reports/{rid}/" if channel == "page" else f"/api/v1/reports/{rid}/"
    response = client.get(path)
    assert response.status_code == 200
    assert "Smith" in response.content.decode()  # the reporting person's name was shown
    assert views_of("inv-a") == [(str(rid), True)]
    event = AuditEvent.objects.get(action="report.viewed", actor="user:inv-a")
    assert event.unit_id == investigator.unit_id
    with translation.override("ar"):
        assert describe(event) == f"عُرض البلاغ {rid} مع أسماء الأشخاص الواردين فيه"
    with translation.override("en"):
        assert describe(event) == f"Report {rid} viewed, with the names of the people in it"


def test_an_auditors_read_shows_no_names_and_says_so(files_of):
    rid, _ = files_of("unit-a")
    auditor = member("aud-a", "auditor", "unit-a")
    response = logged_in(auditor).get(f"/api/v1/reports/{rid}/")
    assert response.status_code == 200 and "Smith" not in response.content.decode()
    assert views_of("aud-a") == [(str(rid), False)]


def test_another_units_report_is_not_read_nor_audited_as_read(files_of):
    rid, _ = files_of("unit-a")
    outsider = member("inv-b", "investigator", "unit-b")
    assert logged_in(outsider).get(f"/api/v1/reports/{rid}/").status_code == 404
    assert views_of("inv-b") == []
