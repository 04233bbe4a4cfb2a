"""Writes of the statistics: exports (audited) and the rebuild of the aggregates."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from himaya.accounts.permissions import Action, Kind, check
from himaya.stats import aggregates, events
from himaya.stats.exports import FORMATS, write_csv, write_xlsx
from himaya.stats.figures import Filters, Period


class ExportError(ValueError):
    """Bad input for an export, said in words (the command prints it, exit 2)."""


def stats_export(*, actor: Any, period: Period | str, fmt: str, out_dir: str | os.PathLike[str], external: bool = False,
                 filters: Filters | None = None, lang: str = "ar", unit_id: int | None = None) -> list[Path]:
    """Every statistics table of the period as CSV files or one XLSX workbook in
    `out_dir`; `external` suppresses small counts (figures.suppress). Checks the
    permission table (statistics export), audits the export. Returns the files."""
    check(actor, Action.EXPORT, Kind.STATISTICS)
    if isinstance(period, str):
        period = Period.parse(period)
    if fmt not in FORMATS:
        raise ExportError(f"bad format {fmt!r}: use csv or xlsx")
    if lang not in ("ar", "en"):
        raise ExportError(f"bad language {lang!r}: use ar or en")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write in the folder {out}: permission denied")
    from himaya.stats.selectors import figures_for

    with translation.override(lang):
        figures = figures_for(user=actor, period=period, filters=filters, action=Action.EXPORT, links=False, unit_id=unit_id)
        if external:
            figures = figures.suppressed()
        try:
            if fmt == "csv":
                written = write_csv(figures, out, label_title=_("Category"),
                                    index_titles=(_("Table"), _("Title"), _("File"), _("Note")))
            else:
                heading = _("%(unit)s · period %(period)s") % {"unit": figures.unit, "period": period.label}
                written = write_xlsx(figures, out, label_title=_("Category"), rtl=lang == "ar", heading=heading,
                                     suppressed_note=_("Counts from 1 to 4 are shown as <5, with other counts that would reveal them."))
        except OSError as exc:
            raise ExportError(f"cannot write in the folder {out}: {exc.strerror or exc}") from None
    with transaction.atomic():
        events.stats_exported_event(actor=actor, period=period.label, fmt=fmt, external=external,
                                    tables=len(figures.all_tables()), filters=figures.filters.items())
    return written


def stats_rebuild(*, actor: Any, progress: Any = None) -> int:
    """Recompute every aggregate from the source tables (after a bulk rewrite that
    sent no signals, or to check them). Operator or a supervisor."""
    check(actor, Action.EXPORT, Kind.STATISTICS)
    months = aggregates.rebuild(progress=progress)
    with transaction.atomic():
        events.stats_rebuilt_event(actor=actor, months=months)
    return months
