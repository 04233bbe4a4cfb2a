"""`himaya media_permission grant|withdraw USER PERMISSION`: media permissions are given explicitly, never by role."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.accounts.permissions import OPERATOR
from himaya.media.services import MEDIA_PERMISSIONS, MediaError, media_permission_set


class Command(BaseCommand):
    help = "Grant or withdraw a media permission (view_media, record_authorisation)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["grant", "withdraw"])
        parser.add_argument("username")
        parser.add_argument("permission", choices=MEDIA_PERMISSIONS)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            media_permission_set(username=opts["username"], codename=opts["permission"], granted=opts["action"] == "grant", actor=OPERATOR)
        except MediaError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{opts['permission']} {'granted to' if opts['action'] == 'grant' else 'withdrawn from'} {opts['username']}")
