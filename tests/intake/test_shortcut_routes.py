"""/ispws/ reaches its views past the site's middleware (himaya.core.middleware.ProviderApiShortcut),
which remembers each named endpoint's route: every path must still reach its own view."""
from __future__ import annotations

import pytest

from tests.conftest import DOC_REPORT, Answer

pytestmark = pytest.mark.django_db


def test_each_endpoint_keeps_its_own_route_and_unknown_paths_are_not_remembered(provider) -> None:  # type: ignore[no-untyped-def]
    from himaya.core.middleware import ProviderApiShortcut

    for _ in range(2):  # the second round through the remembered routes
        status = Answer(provider.client.get("/ispws/status", HTTP_AUTHORIZATION=provider.auth))
        assert status.code == 0 and status.root.tag == "reportResponse" and status.report_id is None
        opened = provider.submit(DOC_REPORT)
        assert opened.code == 0 and opened.report_id
        finished = provider.finish(opened.report_id, multipart=False)
        assert finished.code == 0 and finished.root.tag == "reportDoneResponse" and finished.report_id == opened.report_id
        for n in range(3):
            missing = Answer(provider.client.get(f"/ispws/nothing-{n}", HTTP_AUTHORIZATION=provider.auth))
            assert missing.code == 1210 and missing.status == 404
    remembered = {path for _, path in ProviderApiShortcut._named}
    assert {"/ispws/status", "/ispws/submit", "/ispws/finish"} <= remembered
    assert not any("nothing" in path for path in remembered)
