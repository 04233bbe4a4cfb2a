from __future__ import annotations

import pytest


@pytest.fixture
def unit(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import unit_get_or_create

    return unit_get_or_create(code="unit-a")
