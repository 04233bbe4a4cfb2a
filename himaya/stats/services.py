"""Writes of the statistics: exports (audited) and the rebuild of the aggregates."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
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


def report_job_start(*, actor: Any, period: Period | str, lang: str, external: bool) -> Any:
    """Ask for the national report in the background (a web request must not lay
    out a 20-page PDF). Checks the permission table and the input now, so a bad
    request is refused at once; the job's state is on the report page."""
    from himaya.stats.models import ReportJob
    from himaya.stats.report import LANGUAGES
    from himaya.stats.tasks import stats_report

    check(actor, Action.EXPORT, Kind.STATISTICS)
    if isinstance(period, str):
        period = Period.parse(period)
    if lang not in LANGUAGES:
        raise ValueError(f"bad language {lang!r}: use ar or en")
    with transaction.atomic():
        job = ReportJob.objects.create(unit_id=actor.unit_id, requested_by=actor, period=period.label, lang=lang, external=external)
        transaction.on_commit(lambda: stats_report.enqueue(job_id=job.id))
    return job


def report_job_run(*, job_id: int) -> str:
    """Produce a job's PDF; idempotent and resumable: a job already done or failed
    is left alone, one found running (its worker died) is produced again. The
    production is audited (as the requester) in the transaction that stores the
    file; a failure stores its reason for the page, in words."""
    from django.utils import timezone

    from himaya.stats.models import ReportJob
    from himaya.stats.report import ReportUnavailable, report_pdf

    job = ReportJob.objects.select_related("requested_by").filter(id=job_id).first()
    if job is None or job.status in (ReportJob.Status.DONE, ReportJob.Status.FAILED):
        return job.status if job else "missing"
    ReportJob.objects.filter(id=job.id).update(status=ReportJob.Status.RUNNING, started_at=timezone.now())
    try:
        period, pdf, pages = report_pdf(user_or_operator=job.requested_by, period=job.period, lang=job.lang, external=job.external)
    except (ReportUnavailable, PermissionDenied, ValueError) as exc:
        reason = _("The report cannot be produced on this server: %(reason)s") % {"reason": exc} if isinstance(
            exc, ReportUnavailable) else str(exc) or _("You may no longer export statistics.")
        ReportJob.objects.filter(id=job.id).update(status=ReportJob.Status.FAILED, error=str(reason)[:500], finished_at=timezone.now())
        return ReportJob.Status.FAILED
    with transaction.atomic():
        events.stats_report_generated_event(actor=job.requested_by, period=period.label, lang=job.lang, external=job.external,
                                            pages=pages, size=len(pdf))
        ReportJob.objects.filter(id=job.id).update(status=ReportJob.Status.DONE, pdf=pdf, pages=pages, size=len(pdf),
                                                   finished_at=timezone.now(), error="")
    return ReportJob.Status.DONE
