from typing import Any

from django.core.management.base import BaseCommand, CommandError, no_translations

from himaya.accounts.services import AccountError, reporter_create


class Command(BaseCommand):
    help = "Create (or reset the password of) a provider's account on the provider API (/ispws/)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--password", required=True, help="checked by the password validators (at least 10 characters, not a common password)")
        parser.add_argument("--unit", default=None, help="the unit its reports go to (default: the intake unit)")

    @no_translations  # the operator's terminal: messages in English
    def handle(self, *args: Any, name: str, password: str, unit: str | None, **options: Any) -> None:
        try:
            reporter = reporter_create(username=name, password=password, unit_code=unit, actor="cli")
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"reporter {reporter.username} → unit {reporter.unit.code}")
