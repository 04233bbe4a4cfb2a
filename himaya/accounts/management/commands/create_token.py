from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.accounts.services import AccountError, token_create


class Command(BaseCommand):
    help = "Print a new API token for a staff user (replaces their previous token)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        try:
            self.stdout.write(token_create(username=name, actor="cli"))
        except AccountError as exc:
            raise CommandError(str(exc)) from None
