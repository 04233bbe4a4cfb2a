"""`himaya storage migrate [--to URL]`, `himaya storage sweep` and `himaya storage check` (SPEC §4.4)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.core import storage
from himaya.core.storage_migrate import remote_target, storage_migrate


class Command(BaseCommand):
    help = "The media store: move a local store into S3, sweep what crashes left, check it answers"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        mig = sub.add_parser("migrate", help="copy every local stored file into S3-compatible storage, each checked by its content address; safe to re-run")
        mig.add_argument("--to", default=None, help="s3://bucket?endpoint=http://host:8333 (default: HIMAYA_STORAGE_URL)")
        mig.add_argument("--verify", action="store_true", help="also decrypt and check the files already there")
        sweep = sub.add_parser("sweep", help="remove temporaries, unreferenced objects and unfinished uploads older than --older-than hours")
        sweep.add_argument("--older-than", type=float, default=storage.SWEEP_GRACE.total_seconds() / 3600, help="hours (default 24)")
        sub.add_parser("check", help="say which store is configured and whether it answers")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(**opts)
        except storage.StorageError as exc:
            raise CommandError(str(exc)) from exc

    def _migrate(self, *, to: str | None, verify: bool, **_: Any) -> None:
        url = to or settings.HIMAYA_STORAGE_URL
        if not url:
            raise CommandError("give the target with --to s3://bucket?endpoint=... (HIMAYA_STORAGE_URL is local files)")
        target = remote_target(url)
        target.check()
        self.stdout.write(f"copying {storage.media_root()} to {target.describe()}")
        outcome = storage_migrate(target=target, verify_present=verify)
        for address, problem in outcome.failed:
            self.stderr.write(f"{address}: {problem}")
        self.stdout.write(f"{outcome.copied} copied, {outcome.present} already there, {len(outcome.failed)} failed")
        if not outcome.ok:
            raise CommandError("some files were not moved (see above); the local store still holds what it held")

    def _sweep(self, *, older_than: float, **_: Any) -> None:
        outcome = storage.storage_sweep(grace=timedelta(hours=older_than))
        self.stdout.write(f"removed {outcome.temporaries} temporaries, {outcome.unreferenced} unreferenced objects, {outcome.uploads} unfinished uploads")

    def _check(self, **_: Any) -> None:
        store = storage.backend()
        store.check()
        self.stdout.write(f"{store.describe()}: answers and takes writes")
