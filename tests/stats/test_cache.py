"""The dashboard draws its tables and charts once per state of the unit's
aggregates and serves them from the cache after: never a number older than the
aggregates (a change, then its refresh, shows at once), never another unit's
drawing, and the cache is really used (a second request reads no figures)."""
from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from himaya.stats.figures import Period, PeriodKind
from tests.auth_helpers import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


def _year(load: Any) -> Period:
    return Period.containing(timezone.localdate(load.now), PeriodKind.YEAR)


def _reports_shown(client: Any, period: Period, **filters: str) -> int:
    page = client.get(reverse("stats:dashboard"), {"period": period.label, **filters})
    assert page.status_code == 200
    html = page.content.decode()
    funnel = html[html.index('data-table="funnel"'):]
    row = funnel[funnel.index('data-row="reports"'):]
    return int(re.search(r'data-column="count">(?:<a [^>]*>)?([\d,]+)<', row).group(1).replace(",", ""))


def test_a_refreshed_change_shows_at_once(caseload: Any, client: Any) -> None:
    """Drawn and cached; a report then leaves the counts without a signal (a bulk
    rewrite): the cached page is what the aggregates say until they are refreshed,
    and the refreshed number the moment they are — no waiting for the cache."""
    from himaya.reports.models import Report
    from himaya.stats import aggregates

    login_verified(client, caseload.people["supervisor"])
    year = _year(caseload)
    assert _reports_shown(client, year) == 16
    gone = caseload.reports["import"][0]
    Report.objects.filter(id=gone.id).update(status="retracted")
    assert _reports_shown(client, year) == 16  # the aggregates have not been told: nor has the page
    aggregates.month_refresh(unit_id=caseload.unit.id, month=aggregates.month_of(gone.finished_at))
    assert _reports_shown(client, year) == 15


def test_a_marked_change_is_never_served_stale(caseload: Any, client: Any) -> None:
    """A new report marks its month stale; the next dashboard shows it, though an
    answer for the same period and filters is in the cache."""
    from tests.stats.conftest import make_report

    login_verified(client, caseload.people["supervisor"])
    year = _year(caseload)
    before = _reports_shown(client, year, source="portal")
    make_report(unit=caseload.unit, when=caseload.now - timezone.timedelta(minutes=5), source="portal")
    assert _reports_shown(client, year, source="portal") == before + 1
    assert _reports_shown(client, year) == 17


def test_the_cache_serves_the_second_request(caseload: Any, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from himaya.stats import views

    login_verified(client, caseload.people["supervisor"])
    year = _year(caseload)
    assert _reports_shown(client, year) == 16

    def no_figures(**kwargs: Any) -> Any:
        raise AssertionError("figures read again for an unchanged dashboard")

    monkeypatch.setattr(views, "figures_for", no_figures)
    assert _reports_shown(client, year) == 16


def test_another_unit_never_gets_this_units_drawing(caseload: Any, client: Any) -> None:
    """Unit A's supervisor fills the cache for the year; unit B's supervisor, same
    period, same filters, same language, sees B's 2 reports and B's name — and an
    auditor of A (other roles) sees A's."""
    login_verified(client, caseload.people["supervisor"])
    year = _year(caseload)
    assert _reports_shown(client, year) == 16
    client.logout()
    login_verified(client, caseload.people["other"])
    assert _reports_shown(client, year) == 2
    page = client.get(reverse("stats:dashboard"), {"period": year.label}).content.decode()
    assert f'data-unit="{caseload.other_unit.name}"' in page and "acme-chat" not in page
    client.logout()
    login_verified(client, caseload.people["auditor"])
    assert _reports_shown(client, year) == 16


def test_the_key_names_the_unit_roles_and_version(caseload: Any) -> None:
    from himaya.stats import aggregates
    from himaya.stats.selectors import figures_cache_key

    year = _year(caseload)
    people = caseload.people

    def key(user: Any) -> str:
        return figures_cache_key(user=user, period=year, filters=None, purpose="t")

    assert key(people["supervisor"]) == key(people["supervisor"])
    assert key(people["supervisor"]) != key(people["other"])
    assert key(people["supervisor"]) != key(people["auditor"])
    first = key(people["supervisor"])
    aggregates.bump_version([caseload.unit.id])
    assert key(people["supervisor"]) != first
