import sys
from typing import Any

from django.core.management.base import BaseCommand

from himaya.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log tools. `himaya audit verify` checks the hash chain; exit 1 on a break."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        count, breaks = audit_verify()
        for b in breaks:
            self.stderr.write(f"event {b.event_id}: {b.reason}")
        if breaks:
            self.stderr.write(f"audit chain BROKEN: {len(breaks)} problem(s) in {count} events")
            sys.exit(1)
        self.stdout.write(f"audit chain intact: {count} events")
