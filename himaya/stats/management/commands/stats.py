"""`himaya stats export --period P --format csv|xlsx --out DIR [--external]`,
`himaya stats report --period P --lang ar|en --out FILE.pdf [--external]` (SPEC §4.2)
and `himaya stats rebuild` (the aggregates from scratch).

The operator acts for the installation: the figures of every unit, or of one
unit with `--unit CODE`. Bad input is said in one line (exit 1), never a traceback."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from himaya.accounts.permissions import OPERATOR
from himaya.stats.figures import Filters, Period


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Statistics: export every table, produce the national report, rebuild the aggregates"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        exp = sub.add_parser("export", help="every statistics table as CSV files or one XLSX workbook")
        exp.add_argument("--period", required=True, help="2026, 2026-Q3 or 2026-07")
        exp.add_argument("--format", required=True, help="csv or xlsx")
        exp.add_argument("--out", required=True, help="folder to write into (created if missing)")
        exp.add_argument("--external", action="store_true", help="for outside the unit: suppress counts from 1 to 4")
        exp.add_argument("--lang", default="ar", help="language of titles and labels: ar (default) or en")
        exp.add_argument("--unit", default="", help="one unit's figures (its code); default: every unit")
        exp.add_argument("--source", default="", help="only reports from this source (provider, import, portal, partner)")
        exp.add_argument("--tier", default="", help="only reports of this priority (P1..P4)")
        exp.add_argument("--jurisdiction", default="", help="only reports of this jurisdiction decision (ours, foreign, unknown)")
        rep = sub.add_parser("report", help="the national report as PDF")
        rep.add_argument("--period", required=True, help="2026, 2026-Q3 or 2026-07")
        rep.add_argument("--lang", default="ar", help="ar (default) or en")
        rep.add_argument("--out", required=True, help="the PDF file to write")
        rep.add_argument("--external", action="store_true", help="for outside the unit: suppress counts from 1 to 4")
        sub.add_parser("rebuild", help="recompute every statistics aggregate from the source tables")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "export":
            self._export(opts)
        elif action == "report":
            self._report(opts)
        else:
            from himaya.stats.services import stats_rebuild

            months = stats_rebuild(actor=OPERATOR)
            self.stdout.write(f"statistics rebuilt: {months} unit-months recomputed")

    def _unit_id(self, code: str) -> int | None:
        if not code:
            return None
        from himaya.accounts.models import Unit

        unit_id = Unit.objects.filter(code=code).values_list("id", flat=True).first()
        if unit_id is None:
            raise CommandError(f"no unit with the code {code!r}")
        return unit_id

    def _export(self, opts: dict[str, Any]) -> None:
        from himaya.stats.services import ExportError, stats_export

        period = _period(opts["period"])
        fmt = (opts["format"] or "").lower()
        if fmt not in ("csv", "xlsx"):
            raise CommandError(f"bad format {opts['format']!r}: use csv or xlsx")
        filters = Filters(source=opts["source"], tier=opts["tier"], jurisdiction=opts["jurisdiction"])
        if filters.source and filters.source not in ("provider", "import", "portal", "partner"):
            raise CommandError(f"bad source {filters.source!r}: use provider, import, portal or partner")
        if filters.tier and filters.tier not in ("P1", "P2", "P3", "P4"):
            raise CommandError(f"bad tier {filters.tier!r}: use P1, P2, P3 or P4")
        if filters.jurisdiction and filters.jurisdiction not in ("ours", "foreign", "unknown"):
            raise CommandError(f"bad jurisdiction {filters.jurisdiction!r}: use ours, foreign or unknown")
        try:
            written = stats_export(actor=OPERATOR, period=period, fmt=fmt, out_dir=opts["out"], external=opts["external"],
                                   filters=filters, lang=opts["lang"], unit_id=self._unit_id(opts["unit"]))
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        for path in written:
            self.stdout.write(str(path))

    def _report(self, opts: dict[str, Any]) -> None:
        period = _period(opts["period"])
        if opts["lang"] not in ("ar", "en"):
            raise CommandError(f"bad language {opts['lang']!r}: use ar or en")
        try:
            from himaya.stats.report import render_report
        except ImportError as exc:
            raise CommandError(f"the national report is not available in this installation ({exc})") from None
        try:
            render_report(user_or_operator=OPERATOR, period=period, lang=opts["lang"], external=opts["external"], out_path=opts["out"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write {opts['out']}: {exc.strerror or exc}") from None
        except RuntimeError as exc:  # the machine lacks what the PDF needs (report.ReportUnavailable)
            raise CommandError(str(exc)) from None
        self.stdout.write(opts["out"])
