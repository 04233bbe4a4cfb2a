"""`himaya linking rebuild`: index, link, cluster and locate every report from scratch, then triage them all."""
from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Rebuild the identifier graph, clusters and jurisdictions from the report tables (and re-triage)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild"])
        parser.add_argument("--no-triage", action="store_true", help="link only")

    def handle(self, *args: Any, **options: Any) -> None:
        from himaya.linking.bulkwrite import RebuildRunning
        from himaya.linking.rebuild import linking_rebuild
        from himaya.triage.rebuild import triage_rebuild

        t = time.perf_counter()
        try:
            out = linking_rebuild()
        except RebuildRunning as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"linked {out['reports']} reports: {out['links']} links, {out['clusters']} clusters ({time.perf_counter() - t:.1f} s)")
        if not options["no_triage"]:
            t = time.perf_counter()
            tri = triage_rebuild()
            self.stdout.write(f"triaged {tri['reports']} reports: P1 {tri['P1']}, P2 {tri['P2']}, P3 {tri['P3']}, P4 {tri['P4']} ({time.perf_counter() - t:.1f} s)")
