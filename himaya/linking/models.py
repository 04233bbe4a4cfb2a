"""The identifier graph: what each report names, which reports share it, clusters,
and where the people are (SPEC §3.3, §3.4). Everything here is derived from the
report tables and can be rebuilt (`himaya linking rebuild`)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentifierEntry(models.Model):
    """One normalised identifier named by one report (the index)."""

    report = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="identifier_entries")
    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=255)
    display = models.CharField(max_length=300)
    role = models.CharField(max_length=20, blank=True)
    account = models.CharField(max_length=255, blank=True)
    weak = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["key", "-report"], name="linking_entry_key")]
        constraints = [models.UniqueConstraint(fields=["report", "key", "role"], name="linking_entry_unique")]


class IdentifierKey(models.Model):
    """What all reports together say about one identifier: how many reports and
    which accounts name it (a handful; more means "shared")."""

    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=20)
    reports = models.PositiveIntegerField(default=0)
    accounts = models.JSONField(default=list)  # at most IP_SHARED_ACCOUNTS + 1 kept
    viral = models.BooleanField(default=False)
    weak = models.CharField(max_length=20, blank=True)


class ReportLink(models.Model):
    """Two reports that share identifiers; `low` < `high` by report id."""

    low = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+")
    strength = models.FloatField()
    merges = models.BooleanField(default=False)
    via = models.JSONField(default=list)  # [{"kind", "value", "strength"}]
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["low", "high"], name="linking_link_unique")]
        indexes = [models.Index(fields=["high"], name="linking_link_high")]


class Decision(models.TextChoices):
    OURS = "ours", _("Ours")
    FOREIGN = "foreign", _("Another country")
    UNKNOWN = "unknown", _("Unknown")


class ReportLinkage(models.Model):
    report = models.OneToOneField("reports.Report", on_delete=models.CASCADE, primary_key=True, related_name="linkage")
    # The smallest report id of the cluster: stable as clusters only grow.
    cluster_id = models.BigIntegerField(db_index=True)
    # What a person sees and filters on: the smallest report id of this report's
    # own unit within the cluster. The cluster_id above may be a report of
    # another unit; shown, it would tell one unit about another's reports.
    unit_cluster_id = models.BigIntegerField(default=0, db_index=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNKNOWN, db_index=True)
    evidence = models.JSONField(default=list)
    previously_reported = models.JSONField(default=list)  # [{"id", "via"}]
    notes = models.JSONField(default=list)  # weak identifiers that made no link, and why
    linked_at = models.DateTimeField()
