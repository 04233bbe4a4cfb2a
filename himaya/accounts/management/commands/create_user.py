from typing import Any

from django.core.management.base import BaseCommand, CommandError, no_translations

from himaya.accounts.models import Role
from himaya.accounts.permissions import OPERATOR
from himaya.accounts.services import AccountError, user_create


class Command(BaseCommand):
    help = ("Create a staff account (or set an existing one's password, roles and unit again). "
            "The user enrols the second factor at their first login.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", action="append", required=True, choices=Role.values, help="repeat for several roles")
        parser.add_argument("--unit", default=None, help="the unit's code (default: the intake unit)")
        parser.add_argument("--create-unit", action="store_true", help="create the unit if there is no unit with that code")
        parser.add_argument("--password", required=True, help="checked by the password validators (at least 10 characters, not a common password)")

    @no_translations  # the operator's terminal: messages in English
    def handle(self, *args: Any, name: str, role: list[str], unit: str | None, create_unit: bool, password: str, **options: Any) -> None:
        try:
            user = user_create(username=name, password=password, roles=role, unit_code=unit, create_unit=create_unit, actor=OPERATOR)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"user {user.username} ({', '.join(user.roles)}) → unit {user.unit.code}")
