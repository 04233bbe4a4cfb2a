from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.demo.services import DEMO_PROVIDER, DEMO_USERS, demo_load


class Command(BaseCommand):
    help = "Load the synthetic demo data set (invented people, example.com, documentation IP ranges, benign images)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reports", type=int, default=60)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, reports: int, seed: int, **options: Any) -> None:
        if not 0 < reports <= 100000:
            raise CommandError("--reports must be between 1 and 100000")
        result = demo_load(reports=reports, seed=seed)
        if result.already_loaded:
            self.stdout.write("demo data already loaded; accounts refreshed")
        else:
            self.stdout.write(f"loaded {result.created_reports} synthetic reports")
        self.stdout.write("staff logins (password himaya-demo-2026): " + ", ".join(u for u, _, _ in DEMO_USERS))
        self.stdout.write(f"provider API account: {DEMO_PROVIDER[0]} / {DEMO_PROVIDER[1]}")
