from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, no_translations

from himaya.accounts.permissions import OPERATOR
from himaya.accounts.services import AccountError, token_create


class Command(BaseCommand):
    help = ("Print a new API token for a staff user (shown once: only its SHA-256 is stored). "
            "It expires after --days; the user lists and revokes their tokens on the page “My API tokens”.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", help="the user's name")
        parser.add_argument("--days", type=int, default=None,
                            help=f"days until it expires (default {settings.HIMAYA_API_TOKEN_DAYS})")
        parser.add_argument("--name", dest="token_name", default="command line", help="what the token is for")

    @no_translations  # the operator's terminal: messages in English
    def handle(self, *args: Any, name: str, days: int | None, token_name: str, **options: Any) -> None:
        try:
            self.stdout.write(token_create(username=name, name=token_name, days=days, actor=OPERATOR))
        except AccountError as exc:
            raise CommandError(str(exc)) from None
