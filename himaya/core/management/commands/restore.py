"""`himaya restore DIR [--passphrase-file FILE] [--force]` (SPEC §4.2): back from `himaya backup`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.core.storage import StorageError
from himaya.core.storage_backup import BackupError, backup_restore, passphrase_from


class Command(BaseCommand):
    help = "Restore a backup into an empty HIMAYA_HOME and database (checked first: passphrase, manifest, every file)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="the backup folder")
        parser.add_argument("--passphrase-file", default=None, help="file holding the passphrase (default: env HIMAYA_BACKUP_PASSPHRASE)")
        parser.add_argument("--force", action="store_true", help="overwrite a database, keys and files that are already there")

    def handle(self, *args: Any, source: str, passphrase_file: str | None, force: bool, **opts: Any) -> None:
        try:
            outcome = backup_restore(source=Path(source), passphrase=passphrase_from(file=passphrase_file), force=force)
        except (BackupError, StorageError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored: {outcome.engine} database, {outcome.objects} stored files (each decrypted and checked), {outcome.key_files} key files")
