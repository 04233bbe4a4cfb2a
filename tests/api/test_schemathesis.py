"""The OpenAPI schema describes every answer the API gives (schemathesis, in-process).

The schema is loaded from /api/schema/ through the WSGI application with a supervisor's
token, and every operation it contains at run time (new endpoints included, with no change
here) gets requests, each checked for: no 5xx, a documented status code, a documented
content type, a body matching the documented schema, valid data accepted by reads and
invalid data refused. The requests: schemathesis' coverage cases (for every parameter and
body field, its edge and invalid values: `reviewed=2`, `cluster=0.5`, a missing field),
then random valid and invalid ones; then every operation that names an object runs again
on the objects that exist (the unit's reports, a case, what the requests created), so the
200 answers are checked too. Bounded (`COVERAGE`, `BUDGET`, `ON_OBJECTS`) and derandomized.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.ui.conftest import PLAIN_REPORT, RICH_REPORT, submit_rich_report

pytestmark = pytest.mark.django_db

BUDGET = 200  # random requests for the whole schema, spread over its operations
PER_OPERATION = (3, 20)  # at least, at most, per operation and generation mode
COVERAGE = 40  # at most, per operation: schemathesis' coverage cases, one per parameter or field and kind of value
ON_OBJECTS = 4  # requests per operation on each existing object (at most two objects)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


def _collection(path: str) -> str:
    """/api/v1/victims/{victim_id}/referrals/ -> /api/v1/victims/"""
    return path.split("{", 1)[0]


class Run:
    """One schemathesis pass: the operations, the requests sent, what failed, the objects seen."""

    def __init__(self, user: Any) -> None:
        from himaya.accounts.models import User
        from himaya.accounts.services import token_create

        self.user, self.User, self.token_create = user, User, token_create
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.failures: list[str] = []
        self.objects: dict[str, set[int]] = defaultdict(set)  # collection path -> ids answered there

    def headers(self) -> dict[str, str]:
        # A fresh token for every operation: a token or user endpoint under test may revoke or deactivate the last one.
        self.User.objects.filter(pk=self.user.pk).update(is_active=True)
        return {"Authorization": f"Token {self.token_create(username=self.user.username)}"}

    def _seen(self, operation: Any, response: Any) -> None:
        self.statuses[operation.label][response.status_code] += 1
        if 200 <= response.status_code < 300 and "json" in response.headers.get("Content-Type", [""])[0]:
            body = response.json()
            rows = body.get("results", [body]) if isinstance(body, dict) else []
            self.objects[_collection(operation.path)].update(r["id"] for r in rows if isinstance(r, dict) and type(r.get("id")) is int)

    def checks(self, operation: Any) -> list[Any]:
        return CHECKS + ([positive_data_acceptance] if operation.method.upper() == "GET" else [])

    def cover(self, operation: Any) -> None:
        """Schemathesis' coverage phase, deterministic: for every parameter and body field, its edge and
        invalid values (`reviewed=2`, `cluster=0.5`, a missing field, ...), one case per kind of value."""
        schema = operation.schema
        distinct: dict[tuple, Any] = {}
        for case in schema.iter_coverage_cases(operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                               generation_config=schema.config.generation_for(operation=operation)):
            data = case.meta.phase.data
            where = data.location if data.parameter_location == ParameterLocation.BODY else data.parameter  # any media type
            distinct.setdefault((case.meta.generation.mode, data.scenario, data.parameter_location, where), case)
        cases = list(distinct.values())
        cases = cases[:: max(1, -(-len(cases) // COVERAGE))]
        headers, checks = self.headers(), self.checks(operation)
        for case in cases:
            try:
                self._seen(operation, case.call_and_validate(headers=headers, checks=checks))
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
                self.failures.append(f"{operation.label} [coverage: {case.meta.phase.data.description}]:\n{exc}")

    def run(self, operation: Any, mode: GenerationMode, examples: int, **fixed: Any) -> None:
        checks, headers = self.checks(operation), self.headers()

        @settings(max_examples=examples, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        def send(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=checks)
            self._seen(operation, response)

        try:
            send()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 (every operation runs; all failures are reported at the end)
            self.failures.append(f"{operation.label} [{mode.value}{' ' + str(fixed) if fixed else ''}]:\n{exc}")


@pytest.fixture
def wsgi_app():  # type: ignore[no-untyped-def]
    """Django's WSGI application, its requests inside the test's transaction: as Django's test client does,
    no closing of the database connection when a request starts or ends (it would end the transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def supervisor(db):  # type: ignore[no-untyped-def]
    from himaya.accounts.services import user_create

    # Two reports of the unit, one with parties, identifiers, a file and the other as its prior report.
    prior = submit_rich_report(reporter_name="examplechat-api", unit_code="unit-a", xml=PLAIN_REPORT, with_file=False)
    submit_rich_report(reporter_name="examplechat-api", unit_code="unit-a", xml=RICH_REPORT.replace(b"PRIOR_REPORT_ID", str(prior).encode()))
    return user_create(username="sara-api", password="a-long-password-1", roles=["supervisor"], unit_code="unit-a")


def test_every_operation_answers_only_what_the_schema_documents(supervisor, wsgi_app) -> None:
    from werkzeug.test import Client  # not Django's: it would reconnect close_old_connections after each request

    started = time.monotonic()
    run = Run(supervisor)
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=run.headers())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert any(op.path == "/api/v1/reports/" for op in operations)
    examples = max(PER_OPERATION[0], min(PER_OPERATION[1], BUDGET // (2 * len(operations))))
    client, auth = Client(wsgi_app), run.headers()
    listed = [r["id"] for r in client.get("/api/v1/reports/", headers=auth).json["results"]]
    run.objects["/api/v1/reports/"].update(listed)
    if any(op.path == "/api/v1/cases/" and op.method.upper() == "POST" for op in operations):  # a case, for the case operations
        opened = client.post("/api/v1/cases/", json={"title": "Example case (invented)", "reports": listed}, headers=auth)
        if opened.status_code == 201:
            run.objects["/api/v1/cases/"].add(opened.json["id"])

    for operation in operations:
        run.cover(operation)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run.run(operation, mode, examples)
    # The same operations on objects that exist: their 200 answers and bodies are checked too. The reads
    # first, the writes after them (a write may close or merge the object); then the reads again.
    named = [op for op in operations if len(op.path_parameters) == 1]
    reads = [op for op in named if op.method.upper() == "GET"]
    for operation in reads + [op for op in named if op.method.upper() != "GET"] + reads:
        (name,) = [p.name for p in operation.path_parameters]
        for pk in sorted(run.objects.get(_collection(operation.path), ()))[:2]:
            run.run(operation, GenerationMode.POSITIVE, ON_OBJECTS, path_parameters={name: pk})

    summary = "\n".join(f"  {label}: {dict(sorted(codes.items()))}" for label, codes in sorted(run.statuses.items()))
    print(f"schemathesis: {len(operations)} operations, {sum(sum(c.values()) for c in run.statuses.values())} requests "
          f"in {time.monotonic() - started:.0f}s\n{summary}")
    assert not run.failures, "\n\n".join(run.failures)
    assert {op.label for op in operations} <= set(run.statuses), summary  # every operation was exercised
    assert 200 in run.statuses["GET /api/v1/reports/{id}/"], summary  # a detail answer's body was checked too


def test_api_404_answers_are_json() -> None:
    """Also where no view answers (the URL resolver's own 404), under /api/ only."""
    from django.test import Client

    client = Client()
    for path in ("/api/v1/reports/not-a-number/", "/api/v1/no-such-thing/", "/api/nothing"):
        answer = client.get(path)
        assert (answer.status_code, answer["Content-Type"], answer.json()) == (404, "application/json", {"detail": "غير موجود."}), path
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")  # the pages keep their HTML 404


def test_an_invalid_query_parameter_is_refused_with_its_reason(supervisor) -> None:
    from django.test import Client

    from himaya.accounts.services import token_create

    client = Client(HTTP_AUTHORIZATION=f"Token {token_create(username=supervisor.username)}")
    for query, field in (("reviewed=2183", "reviewed"), ("cluster=1.5", "cluster"), ("priority=P9", "priority"),
                         ("received_after=yesterday", "received_after"), ("ordering=-id", "ordering")):
        answer = client.get(f"/api/v1/reports/?{query}")
        assert answer.status_code == 400 and set(answer.json()) == {"detail", "errors"}, (query, answer.content)
        assert answer.json()["detail"].startswith(f"{field}: ") and list(answer.json()["errors"]) == [field]
    assert client.get("/api/v1/reports/?reviewed=false&escalated=0&ordering=priority").status_code == 200
    # Any ISO 8601 offset, also beyond PostgreSQL's ±15:59; a moment before year 1 in UTC is invalid, not a 500.
    assert client.get("/api/v1/reports/?received_after=2077-01-28T01:30:04%2B17:10").json()["count"] == 0
    assert client.get("/api/v1/reports/?received_before=0001-01-01T00:00:00%2B01:00").status_code == 400
