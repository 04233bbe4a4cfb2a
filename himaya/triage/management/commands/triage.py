"""`himaya triage rebuild` (every report, from scratch) or `himaya triage report ID` (one, explained)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Re-triage every report, or triage one report and print why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "report"])
        parser.add_argument("report_id", nargs="?", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            from himaya.linking.bulkwrite import RebuildRunning
            from himaya.triage.rebuild import triage_rebuild

            try:
                out = triage_rebuild()
            except RebuildRunning as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"triaged {out['reports']} reports: P1 {out['P1']}, P2 {out['P2']}, P3 {out['P3']}, P4 {out['P4']}")
            return
        if not options["report_id"]:
            raise CommandError("give a report id")
        from himaya.reports.models import Report
        from himaya.triage.services import report_triage

        if not Report.objects.filter(id=options["report_id"]).exists():
            raise CommandError("no such report")
        t = report_triage(report_id=options["report_id"])
        self.stdout.write(f"{t.effective_priority} score {t.score} (rule set {t.ruleset_version})")
        for r in t.reasons:
            self.stdout.write(f"  {r['weight']:+4d}  {r['rule']}: {r['evidence']}")
