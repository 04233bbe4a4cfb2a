"""Writes of the statistics: exports (audited) and the rebuild of the aggregates."""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from himaya.accounts.permissions import Action, Kind, check, restrict
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
        report_jobs_prune()
        job = ReportJob.objects.create(unit_id=actor.unit_id, requested_by=actor, period=period.label, lang=lang, external=external)
        transaction.on_commit(lambda: stats_report.enqueue(job_id=job.id))
    return job


def report_jobs_prune(*, now: datetime | None = None) -> int:
    """Delete the finished report jobs (done or failed, every unit's) older than
    HIMAYA_STATS_REPORT_KEEP_DAYS, with their PDFs. Run whenever a report is asked
    for, so the table stays the size of a month of requests without a schedule; the
    production and each download of a removed report stay in the audit log."""
    from himaya.stats.models import ReportJob

    cutoff = (now or timezone.now()) - timedelta(days=settings.HIMAYA_STATS_REPORT_KEEP_DAYS)
    return ReportJob.objects.filter(status__in=(ReportJob.Status.DONE, ReportJob.Status.FAILED),
                                    finished_at__lt=cutoff).delete()[0]


@transaction.atomic
def report_job_download(*, actor: Any, job_id: int) -> Any:
    """A ready report of the actor's own, to hand to their browser; the download is
    audited (period, format, edition). None, and nothing recorded, for anything else."""
    from himaya.stats.models import ReportJob

    check(actor, Action.EXPORT, Kind.STATISTICS)
    job = restrict(ReportJob.objects.all(), actor, Action.EXPORT).filter(
        id=job_id, requested_by=actor, status=ReportJob.Status.DONE).first()
    if job is None:
        return None
    events.stats_downloaded_event(actor=actor, period=job.period, fmt="pdf", external=job.external, lang=job.lang,
                                  size=job.size, job_id=job.id)
    return job


@transaction.atomic
def stats_download_record(*, actor: Any, period: Period, fmt: str, external: bool, lang: str, size: int) -> None:
    """The dashboard's workbook handed to the user's browser (made by `stats_export`,
    which audits the export itself)."""
    events.stats_downloaded_event(actor=actor, period=period.label, fmt=fmt, external=external, lang=lang, size=size)


def report_job_run(*, job_id: int) -> str:
    """Produce a job's PDF; idempotent and resumable: a job already done or failed
    is left alone, one found running (its worker died) is produced again. The
    production is audited (as the requester) in the transaction that stores the
    file; a failure stores its reason for the page, in words."""
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
