"""The audit page (/audit/): auditors and supervisors read their unit's events,
filter them, export them as CSV and check the chain; nobody else reads them, and
another unit's events are never shown or counted."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from himaya.audit.catalogue import AuditAction
from himaya.audit.models import AuditEvent, AuditVerification
from himaya.audit.services import _content_digest, audit_record, audit_seal
from tests.audit.conftest import logged_in, member

pytestmark = pytest.mark.django_db


def unit_id(code: str) -> int:
    from himaya.accounts.models import Unit

    return Unit.objects.get(code=code).id


def record(actor: str, action: AuditAction, *, unit: str | None, target: tuple[str, str] = ("reports.report", "1"), days_ago: int = 0, **data):
    event = audit_record(actor=actor, action=action, target_type=target[0], target_id=target[1], unit_id=unit_id(unit) if unit else None, data=data)
    if days_ago:  # as if recorded then: its content hash too
        at = event.at - timedelta(days=days_ago)
        digest = _content_digest(at=at, actor=event.actor, action=event.action, target_type=event.target_type, target_id=event.target_id,
                                 unit_id=event.unit_id, data=event.data)
        AuditEvent.objects.filter(pk=event.pk).update(at=at, content_hash=digest)
    return event


@pytest.fixture
def units():
    """Unit A with its auditor, supervisor and investigator; unit B; events in both and of the system."""
    people = {
        "auditor": member("aud-a", "auditor", "unit-a"),
        "supervisor": member("sup-a", "supervisor", "unit-a"),
        "investigator": member("inv-a", "investigator", "unit-a"),
        "auditor_b": member("aud-b", "auditor", "unit-b"),
    }
    record("user:inv-a", AuditAction.REPORT_VIEWED, unit="unit-a", target=("reports.report", "11"), identities=True)
    record("user:ana-a", AuditAction.TRIAGE_REVIEWED, unit="unit-a", target=("reports.report", "12"), days_ago=10, priority="P2", late=False)
    record("user:inv-b", AuditAction.REPORT_VIEWED, unit="unit-b", target=("reports.report", "21"), identities=True)
    record("user:inv-b", AuditAction.MEDIA_VIEWED, unit="unit-b", target=("reports.reportfile", "5"), file_id="secretfileb", level="blurred")
    record("system", AuditAction.HASHLIST_DELETED, unit=None, target=("media.hashlist", "3"), name="national-list", reason="superseded")
    return people


def page_of(user, **params) -> str:
    response = logged_in(user).get("/audit/", params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
def test_auditors_and_supervisors_read_their_units_events_in_arabic(units, role):
    html = page_of(units[role])
    assert 'lang="ar"' in html and "سجل التدقيق" in html
    assert "inv-a" in html and "عُرض البلاغ 11 مع أسماء الأشخاص الواردين فيه" in html
    assert "ana-a" in html
    # Another unit's events, and the system's (not a national unit), never appear.
    assert "inv-b" not in html and "secretfileb" not in html and "national-list" not in html
    assert 'href="/audit/"' in html  # the link in the navigation


def test_another_units_events_are_never_shown_nor_counted(units):
    html = page_of(units["auditor"], target_type="reports.report", target_id="21")
    assert "inv-b" not in html and 'id="audit-events"' not in html
    html = page_of(units["auditor"], actor="inv-b")
    assert 'id="audit-events"' not in html
    assert "inv-a" not in page_of(units["auditor_b"])
    # The unsealed count is of the unit's own events (two), not of everyone's (five).
    audit_seal()
    record("user:inv-a", AuditAction.REPORT_VIEWED, unit="unit-a")
    record("user:inv-a", AuditAction.REPORT_VIEWED, unit="unit-a")
    for _ in range(3):
        record("user:inv-b", AuditAction.REPORT_VIEWED, unit="unit-b")
    assert "حدثان بانتظار الختم." in page_of(units["auditor"])
    assert "3 أحداث بانتظار الختم." in page_of(units["auditor_b"])


def test_the_national_unit_also_reads_the_systems_events(units):
    national = member("aud-n", "auditor", "intake")  # the intake unit keeps the national lists
    html = page_of(national)
    assert "national-list" in html and "inv-a" not in html and "inv-b" not in html


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
def test_an_investigator_is_refused(units, path):
    assert logged_in(units["investigator"]).get(path).status_code == 403
    assert logged_in(units["investigator"]).post("/audit/verify").status_code == 403
    assert 'href="/audit/"' not in logged_in(units["investigator"]).get("/").content.decode()


def test_filters_by_person_type_period_and_object(units):
    auditor = units["auditor"]
    record("user:inv-a", AuditAction.REPORT_EXPORTED, unit="unit-a", target=("reports.report", "13"), days_ago=40, out="/tmp/x")

    by_person = page_of(auditor, actor="ana-a")
    assert "ana-a" in by_person and "inv-a" not in by_person

    by_type = page_of(auditor, action="report.exported")
    assert "صُدّر البلاغ 13" in by_type and "البلاغ 11" not in by_type

    recent = page_of(auditor, since=(timezone.localdate() - timedelta(days=5)).isoformat())
    assert "البلاغ 11" in recent and "البلاغ 12" not in recent and "البلاغ 13" not in recent
    older = page_of(auditor, since=(timezone.localdate() - timedelta(days=15)).isoformat(),
                    until=(timezone.localdate() - timedelta(days=5)).isoformat())
    assert "البلاغ 12" in older and "البلاغ 11" not in older and "البلاغ 13" not in older

    by_object = page_of(auditor, target_type="reports.report", target_id="12")
    assert "البلاغ 12" in by_object and "البلاغ 11" not in by_object

    # The event types are offered with their labels, from the catalogue.
    assert '<option value="report.viewed">عرض بلاغ</option>' in page_of(auditor)


def test_pages_by_keyset_newest_first(units):
    for n in range(60):
        record("user:bulk", AuditAction.REPORT_VIEWED, unit="unit-a", target=("reports.report", str(1000 + n)))
    first = page_of(units["auditor"], actor="bulk")
    assert first.index("البلاغ 1059") < first.index("البلاغ 1058") and "البلاغ 1009 " not in first
    assert first.count('data-action="report.viewed"') == 50
    before = min(AuditEvent.objects.filter(actor="user:bulk").order_by("-id").values_list("id", flat=True)[:50])
    assert f'rel="next" href="?actor=bulk&amp;before={before}"' in first
    second = page_of(units["auditor"], actor="bulk", before=before)
    assert second.count('data-action="report.viewed"') == 10 and 'rel="next"' not in second


def test_csv_export_of_the_filtered_events_is_itself_audited(units):
    response = logged_in(units["supervisor"]).get("/audit/export.csv", {"action": "report.viewed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["actor"], r["action"], r["target_id"]) for r in rows] == [("user:inv-a", "report.viewed", "11")]
    assert rows[0]["description"] == "عُرض البلاغ 11 مع أسماء الأشخاص الواردين فيه"
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor == "user:sup-a" and exported.unit_id == unit_id("unit-a")
    assert exported.data == {"filters": {"action": "report.viewed"}, "count": 1}


def test_csv_cells_never_start_a_formula(units):
    # A name typed at the login by anyone is recorded when it is locked out.
    record("system", AuditAction.USER_LOCKED, unit="unit-a", target=("accounts.user", '=HYPERLINK("http://example.com")'), username="x")
    body = b"".join(logged_in(units["auditor"]).get("/audit/export.csv").streaming_content).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert "'=HYPERLINK(\"http://example.com\")" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_chain_state_and_a_verification_on_demand(units):
    html = page_of(units["auditor"])
    assert "لم يُتحقق منها بعد" in html
    response = logged_in(units["auditor"]).post("/audit/verify")
    assert response.status_code == 302
    outcome = AuditVerification.objects.get()
    assert outcome.intact and outcome.by == "user:aud-a"
    assert AuditEvent.objects.get(action="audit.verified").unit_id == unit_id("unit-a")
    html = page_of(units["auditor"])
    assert "سليمة" in html
    # Unit A is not the national unit: the chain's length (which counts every unit) is not shown.
    assert "مختومة حتى الحدث" not in html and "حدثًا تم فحصه" not in html
    assert "مختومة حتى الحدث" in page_of(member("sup-n", "supervisor", "intake"))
