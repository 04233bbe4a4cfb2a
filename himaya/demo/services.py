"""Loads the synthetic demo data set through the same intake path providers use."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from himaya.accounts.models import Role
from himaya.accounts.services import reporter_create, unit_get_or_create, user_create
from himaya.core.storage import incoming_from_bytes
from himaya.demo.generator import generate_reports
from himaya.intake import services as intake
from himaya.reports.models import Report

DEMO_PROVIDER = ("demo-provider", "demo-provider-pass")
# One staff login per role, all in the intake unit (code `intake`), as the README lists them.
DEMO_USERS = (
    ("analyst", "himaya-demo-2026", [Role.INTAKE_ANALYST.value]),
    ("investigator", "himaya-demo-2026", [Role.INVESTIGATOR.value]),
    ("prosecutor", "himaya-demo-2026", [Role.PROSECUTOR.value]),
    ("protection", "himaya-demo-2026", [Role.CHILD_PROTECTION.value]),
    ("supervisor", "himaya-demo-2026", [Role.SUPERVISOR.value]),
    ("auditor", "himaya-demo-2026", [Role.AUDITOR.value]),
)


@dataclass
class DemoResult:
    created_reports: int
    already_loaded: bool


def demo_load(*, reports: int = 60, seed: int = 2026) -> DemoResult:
    unit = unit_get_or_create()
    for username, password, roles in DEMO_USERS:
        user_create(username=username, password=password, roles=roles, unit_code=unit.code, actor="demo")
    reporter = reporter_create(username=DEMO_PROVIDER[0], password=DEMO_PROVIDER[1], unit_code=unit.code, actor="demo")
    if Report.objects.filter(reporter=reporter).exists():
        return DemoResult(created_reports=0, already_loaded=True)
    created = 0
    for synthetic in generate_reports(reports, seed=seed, now=timezone.now()):
        report = intake.report_open(reporter=reporter, raw=synthetic.xml)
        for f in synthetic.files:
            rf = intake.report_file_add(reporter=reporter, report_id=report.id, pending=incoming_from_bytes(f.data), upload_name=f.name)
            details = f.details_xml(report.id, rf.file_id)
            if details:
                intake.report_file_details(reporter=reporter, raw=details)
        intake.report_finish(reporter=reporter, report_id=report.id)
        created += 1
    from himaya.cases.demo import demo_cases  # cases at every stage (issue 14)

    demo_cases(unit=unit)
    return DemoResult(created_reports=created, already_loaded=False)
