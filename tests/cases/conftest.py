from __future__ import annotations

from typing import Any

import pytest

from tests.linking.factory import Person, report_xml, store

PASSWORD = "case-tests-password-1"


@pytest.fixture
def unit(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code="unit-a")


@pytest.fixture
def other_unit(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code="unit-b")


def make_user(name: str, roles: list[str], unit_code: str = "unit-a"):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import user_create

    return user_create(username=name, password=PASSWORD, roles=roles, unit_code=unit_code)


@pytest.fixture
def people(unit) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One user per role in unit A, and a supervisor in unit B."""
    return {
        "analyst": make_user("analyst", ["intake_analyst"]),
        "investigator": make_user("investigator", ["investigator"]),
        "prosecutor": make_user("prosecutor", ["prosecutor"]),
        "cp": make_user("cp", ["child_protection"]),
        "supervisor": make_user("supervisor", ["supervisor"]),
        "auditor": make_user("auditor", ["auditor"]),
        "other": make_user("other-supervisor", ["supervisor"], "unit-b"),
    }


@pytest.fixture
def reports(unit):  # type: ignore[no-untyped-def]
    """Three reports of unit A about one person (one cluster), one unrelated."""
    hawk = dict(emails=["hawk@example.com"], ips=[("203.0.113.40", False)])
    r1 = store(report_xml(suspect=Person(esp_id="hawk-1", screen_name="nighthawk77", **hawk), victim_age=12), unit=unit)
    r2 = store(report_xml(suspect=Person(esp_id="hawk-2", **hawk)), unit=unit)
    r3 = store(report_xml(suspect=Person(esp_id="sparrow-9", emails=["sparrow@example.com"])), unit=unit)
    return [r1, r2, r3]
