import sys
from typing import Any

from django.core.management.base import BaseCommand

from himaya.audit.services import audit_verify_record


class Command(BaseCommand):
    help = "Audit log tools. `himaya audit verify` checks the hash chain; exit 1 on a break."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        outcome = audit_verify_record(actor="command:audit")
        for b in outcome.breaks:  # type: ignore[attr-defined]
            self.stderr.write(f"event {b.event_id}: {b.reason}")
        if not outcome.intact:
            self.stderr.write(f"audit chain BROKEN: {len(outcome.breaks)} problem(s) in {outcome.events} events")  # type: ignore[attr-defined]
            sys.exit(1)
        self.stdout.write(f"audit chain intact: {outcome.events} events")
