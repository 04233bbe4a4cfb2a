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

from django.db import models

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
