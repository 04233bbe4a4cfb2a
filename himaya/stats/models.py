"""The maintained aggregates the statistics are read from (SPEC §3.7, §5).

`MonthlyCount` holds, per unit and calendar month, how many things of each kind
there were (`dimension`, `value`), split by the three filters a reader may apply
(source, tier, jurisdiction of the report — or, for a case and what hangs from
it, of the case's earliest report). A year's dashboard sums at most twelve
months of these rows, whatever the number of reports.

A change anywhere (a report received or triaged, a case opened, a victim
safeguarded, ...) marks its unit's month stale (`StaleMonth`, in the same
transaction as the change); a stale month is recomputed from the source tables
— that month of that unit only — before anyone reads it, and in the background
after the change commits. `himaya stats rebuild` recomputes every month.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind


class MonthlyCount(models.Model):
    PERMISSION_KIND = Kind.STATISTICS
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()  # its first day
    dimension = models.CharField(max_length=40)
    value = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=10, blank=True)
    tier = models.CharField(max_length=2, blank=True)  # "" not yet triaged
    jurisdiction = models.CharField(max_length=10, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "month", "dimension", "value", "source", "tier", "jurisdiction"],
                                    name="stats_monthlycount_cell"),
        ]


class StaleMonth(models.Model):
    PERMISSION_KIND = Kind.STATISTICS
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "month"], name="stats_stalemonth_unit_month")]


class FiguresVersion(models.Model):
    """A number that grows whenever one of the unit's `MonthlyCount` rows is
    rewritten (in the same transaction): the dashboard's cache key carries it, so
    a cached answer is never older than the aggregates it was drawn from."""

    PERMISSION_KIND = Kind.STATISTICS
    UNIT_PATH = "unit"

    unit = models.OneToOneField("accounts.Unit", on_delete=models.CASCADE, related_name="+", primary_key=True)
    version = models.BigIntegerField(default=0)


class ReportJob(models.Model):
    """A national report asked for from the dashboard, produced in the background
    (`himaya.stats.tasks.stats_report`): its state for the page, its PDF when done.
    The PDF is statistics only (counts, no names); it is kept in the row so that a
    web worker on another machine can serve it."""

    PERMISSION_KIND = Kind.STATISTICS
    UNIT_PATH = "unit"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Being produced")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    unit = models.ForeignKey("accounts.Unit", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=10)
    lang = models.CharField(max_length=2)
    external = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.CharField(max_length=500, blank=True)
    pdf = models.BinaryField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def file_name(self) -> str:
        return f"himaya-report-{self.period}-{self.lang}{'-external' if self.external else ''}.pdf"
