from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.accounts.models import Role
from himaya.accounts.services import AccountError, user_create


class Command(BaseCommand):
    help = "Create (or update) a staff account."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", action="append", required=True, choices=Role.values, help="repeat for several roles")
        parser.add_argument("--unit", default=None)
        parser.add_argument("--password", required=True)

    def handle(self, *args: Any, name: str, role: list[str], unit: str | None, password: str, **options: Any) -> None:
        try:
            user = user_create(username=name, password=password, roles=role, unit_code=unit, actor="cli")
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"user {user.username} ({', '.join(user.roles)}) → unit {user.unit.code}")
