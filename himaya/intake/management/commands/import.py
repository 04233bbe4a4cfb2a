import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.accounts.services import unit_get_or_create
from himaya.intake.bulk import import_paths


class Command(BaseCommand):
    help = "Import report packages (folders or zips in the export_report layout). Importing the same package twice adds nothing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true", help="print a JSON summary")
        parser.add_argument("--unit", default=None, help="the unit the reports go to (default: the intake unit)")

    def handle(self, *args: Any, paths: list[Path], unit: str | None, **options: Any) -> None:
        as_json = bool(options["json"])
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}")
        target = unit_get_or_create(code=unit)
        bar = None
        if sys.stderr.isatty() and not as_json:
            from tqdm import tqdm

            bar = tqdm(total=0, unit="report", desc="import", file=sys.stderr)

        def on_total(n: int) -> None:
            if bar is not None:
                bar.total = n
                bar.refresh()

        summary = import_paths(paths=paths, unit=target, actor="cli", progress=bar.update if bar else None, on_total=on_total)
        if bar is not None:
            bar.close()
        if as_json:
            self.stdout.write(_json_dumps(summary.as_json()))
        else:
            for problem in summary.failed:
                self.stderr.write(f"skipped {problem['path']}: {problem['error']}")
            self.stdout.write(f"imported {len(summary.imported)}, already present {len(summary.duplicates)}, failed {len(summary.failed)}")
        if summary.failed and not summary.imported and not summary.duplicates:
            sys.exit(1)


def _json_dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
