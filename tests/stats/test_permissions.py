"""Who sees which figures: the one table (statistics: view for supervisors,
auditors, prosecutors and intake analysts; export for supervisors and auditors),
and a unit sees only its own figures — nothing of another unit, not even a count."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from himaya.stats.figures import Filters, Period, PeriodKind
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db


def _year(load):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return Period.containing(timezone.localdate(load.now), PeriodKind.YEAR)


def _all_counts(figures) -> list[int]:  # type: ignore[no-untyped-def]
    return [cell.count for table in figures.all_tables() for _, column, cell in table.iter_cells() if column.measure == "count"]


def test_another_unit_sees_nothing_of_this_one(caseload):
    """Unit B's supervisor sees B's two reports, case and victim — and nothing of
    A's nine reports, cases, victims or suspects, not even in a total."""
    from himaya.stats.selectors import figures_for

    other = figures_for(user=caseload.people["other"], period=_year(caseload))
    assert other.funnel.value("reports", "count") == 2
    assert other.funnel.value("cases", "count") == 1
    assert other.funnel.value("victims_safeguarded", "count") == 1
    assert other.funnel.value("suspects_identified", "count") == 0
    assert other.table("reports_by_provider").value("total", "count") == 2
    assert "acme-chat" not in {r.key for r in other.table("reports_by_provider").rows}
    assert other.table("legal_requests").value("total", "sent") == 0
    assert other.table("referrals").value("total", "sent") == 0
    own = figures_for(user=caseload.people["supervisor"], period=_year(caseload))
    assert own.funnel.value("reports", "count") == 16 and own.funnel.value("victims_safeguarded", "count") == 1


@pytest.mark.parametrize("role,status", [("supervisor", 200), ("auditor", 200), ("prosecutor", 200), ("analyst", 200),
                                         ("investigator", 403), ("cp", 403)])
def test_dashboard_roles(caseload, client: Client, role: str, status: int):
    login_verified(client, caseload.people[role])
    response = client.get(reverse("stats:dashboard"), {"period": _year(caseload).label})
    assert response.status_code == status
    home = client.get(reverse("cases:index")).content.decode()
    assert (f'href="{reverse("stats:dashboard")}"' in home) == (status == 200)  # the navigation offers it only to who may


@pytest.mark.parametrize("role,status", [("supervisor", 200), ("auditor", 200), ("prosecutor", 403), ("analyst", 403),
                                         ("investigator", 403)])
def test_export_roles(caseload, client: Client, role: str, status: int):
    from himaya.audit.models import AuditEvent

    login_verified(client, caseload.people[role])
    response = client.get(reverse("stats:export"), {"period": _year(caseload).label, "external": "1"})
    assert response.status_code == status
    exported = AuditEvent.objects.filter(action="stats.exported", actor=f"user:{caseload.people[role].username}")
    assert exported.count() == (1 if status == 200 else 0)
    if status == 200:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert exported.get().data["external"] is True


def test_services_refuse_who_may_not(caseload, tmp_path):
    from himaya.stats.services import stats_export

    with pytest.raises(PermissionDenied):
        stats_export(actor=caseload.people["prosecutor"], period="2026", fmt="csv", out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_role_without_statistics_reads_no_rows(caseload):
    from himaya.stats.selectors import figures_for

    figures = figures_for(user=caseload.people["investigator"], period=_year(caseload), filters=Filters())
    assert set(_all_counts(figures)) == {0}


def test_bad_period_on_the_dashboard_is_a_clear_error(caseload, client: Client):
    login_verified(client, caseload.people["supervisor"])
    response = client.get(reverse("stats:dashboard"), {"period": "2026-13"})
    assert response.status_code == 400
    assert "أدخل سنة (2026) أو ربع سنة (2026-Q3) أو شهرًا (2026-07)." in response.content.decode()
