"""`himaya backup --out DIR [--passphrase-file FILE]` (SPEC §4.2): database, stored files and keys."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.core.storage import StorageError
from himaya.core.storage_backup import BackupError, backup_create, passphrase_from


class Command(BaseCommand):
    help = "A consistent copy of the database, the stored files and the keys (encrypted with a passphrase)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="a new or empty folder")
        parser.add_argument("--passphrase-file", default=None, help="file holding the passphrase (default: env HIMAYA_BACKUP_PASSPHRASE)")

    def handle(self, *args: Any, out: str, passphrase_file: str | None, **opts: Any) -> None:
        try:
            outcome = backup_create(out=Path(out), passphrase=passphrase_from(file=passphrase_file))
        except (BackupError, StorageError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"backup in {outcome.out}: {outcome.engine} database, {outcome.objects} stored files, keys encrypted")
        if outcome.missing:
            self.stderr.write(f"{len(outcome.missing)} file(s) purged while the backup ran are not in it (listed in the manifest)")
