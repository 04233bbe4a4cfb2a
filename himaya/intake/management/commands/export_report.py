from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from himaya.intake.bulk import report_export
from himaya.reports.models import Report


class Command(BaseCommand):
    help = "Write a report as DIR/report.xml and DIR/files/<fileId>/ (the file and fileDetails.xml)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("report_id")
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args: Any, report_id: str, out: Path, **options: Any) -> None:
        if not report_id.isdigit():
            raise CommandError(f"the report ID must be a number, not {report_id!r}")
        report = Report.objects.filter(id=int(report_id)).first()
        if report is None:
            raise CommandError(f"no report {report_id}")
        if out.exists() and any(out.iterdir()):
            raise CommandError(f"{out} exists and is not empty; choose a new folder")
        report_export(report=report, out_dir=out, actor="cli")
        self.stdout.write(f"report {report.id} written to {out}")
