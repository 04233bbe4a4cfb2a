"""`himaya linking rebuild`: index, link, cluster and locate every report from scratch, and triage them all (in the same pass)."""
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
        from himaya.triage.rebuild import rebuild_all

        t = time.perf_counter()
        try:
            out, tri = (linking_rebuild(), None) if options["no_triage"] else rebuild_all()
        except RebuildRunning as exc:
            raise CommandError(str(exc)) from None
        took = f"({time.perf_counter() - t:.1f} s)"
        self.stdout.write(f"linked {out['reports']} reports: {out['links']} links, {out['clusters']} clusters" + (f" {took}" if tri is None else ""))
        if tri is not None:
            self.stdout.write(f"triaged {tri['reports']} reports: P1 {tri['P1']}, P2 {tri['P2']}, P3 {tri['P3']}, P4 {tri['P4']} {took}")
