"""The identifier graph: what each report names, which reports share it, clusters,
and where the people are (SPEC §3.3, §3.4). Everything here is derived from the
report tables and can be rebuilt (`himaya linking rebuild`) — except LinkSeparation,
a person's decision, which the rebuild keeps and honours."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind


# The derived tables below reference reports without a database constraint
# (db_constraint=False): a rebuild writes millions of their rows at once, and
# PostgreSQL would check every one of them against the reports table at commit —
# a fifth of a from-scratch rebuild. Reports are deleted through the ORM, which
# cascades to these rows (and linking's receivers recompute the clusters), and a
# rebuild recreates them from the reports. No index that another one already
# covers (their left-most columns) is kept either: each costs every insert.
class IdentifierEntry(models.Model):
    """One normalised identifier named by one report (the index)."""

    report = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="identifier_entries",
                               db_constraint=False, db_index=False)  # indexed by linking_entry_unique
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

    key = models.CharField(max_length=255)
    kind = models.CharField(max_length=20)
    reports = models.PositiveIntegerField(default=0)
    accounts = models.JSONField(default=list)  # at most extract.ACCOUNTS_KEPT kept
    viral = models.BooleanField(default=False)
    weak = models.CharField(max_length=20, blank=True)

    class Meta:
        # A constraint rather than unique=True: the same unique index, without the
        # second (LIKE-pattern) index PostgreSQL gets for unique text fields.
        constraints = [models.UniqueConstraint(fields=["key"], name="linking_key_unique")]


class ReportLink(models.Model):
    """Two reports that share identifiers; `low` < `high` by report id."""

    PERMISSION_KIND = Kind.LINK
    UNIT_PATH = "low__unit"

    low = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)  # linking_link_unique
    high = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)  # linking_link_high
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
    PERMISSION_KIND = Kind.LINK
    UNIT_PATH = "report__unit"

    report = models.OneToOneField("reports.Report", on_delete=models.CASCADE, primary_key=True, related_name="linkage", db_constraint=False)
    # The smallest report id of the cluster. Stable while the cluster grows; when it
    # splits (clusters.py) each part takes the smallest id of its own members.
    cluster_id = models.BigIntegerField(db_index=True)
    # What a person sees and filters on: the smallest report id of this report's
    # own unit within the cluster. The cluster_id above may be a report of
    # another unit; shown, it would tell one unit about another's reports.
    unit_cluster_id = models.BigIntegerField(default=0, db_index=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNKNOWN)  # three values: an index would not be used
    evidence = models.JSONField(default=list)
    previously_reported = models.JSONField(default=list)  # [{"id", "via"}]
    notes = models.JSONField(default=list)  # weak identifiers that made no link, and why
    linked_at = models.DateTimeField()


class LinkSeparation(models.Model):
    """A person's decision that two linked reports are not the same person: the
    link between them is still shown but never merges their clusters. Not derived
    data — a rebuild keeps it. Undone by setting `undone_at`, so the history stays."""

    PERMISSION_KIND = Kind.LINK
    UNIT_PATH = "low__unit"

    low = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], condition=models.Q(undone_at__isnull=True), name="linking_separation_active"),
            models.CheckConstraint(condition=models.Q(low__lt=models.F("high")), name="linking_separation_ordered"),
        ]
        indexes = [models.Index(fields=["high"], name="linking_separation_high")]
