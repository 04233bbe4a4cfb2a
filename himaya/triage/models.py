"""Triage results and the rule sets that produced them (SPEC §3.5)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind


class Priority(models.TextChoices):
    P1 = "P1", _("P1 immediate risk to a child")
    P2 = "P2", _("P2 high")
    P3 = "P3", _("P3 standard")
    P4 = "P4", _("P4 informational")


class RuleSet(models.Model):
    """One version of the rules (data, never edited in place: a change is a new version)."""

    PERMISSION_KIND = Kind.RULE_SET

    version = models.PositiveIntegerField(unique=True)
    rules = models.JSONField()
    thresholds = models.JSONField()
    service_targets = models.JSONField()  # minutes per tier
    phrases = models.JSONField()
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-version"]

    def as_data(self) -> dict:
        return {"rules": self.rules, "thresholds": self.thresholds, "service_targets": self.service_targets, "phrases": self.phrases}


class ReportTriage(models.Model):
    PERMISSION_KIND = Kind.TRIAGE
    UNIT_PATH = "unit"

    report = models.OneToOneField("reports.Report", on_delete=models.CASCADE, primary_key=True, related_name="triage")
    # Copies of the report's unit and receipt time, so that the queue (one unit's
    # unreviewed reports in tier, due, age order) is one index scan, not a sort of
    # the whole unit's reports joined to this table (SPEC §5: queue page p95 < 300 ms at 1 M).
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+", db_index=False)  # triage_queue_* lead with it
    received_at = models.DateTimeField()
    priority = models.CharField(_("computed priority"), max_length=2, choices=Priority.choices)
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    classification = models.JSONField(default=dict)
    ruleset_version = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    # What the queue orders on: the override when there is one, else the computed tier.
    effective_priority = models.CharField(max_length=2, choices=Priority.choices)  # in triage_queue_*, after the unit
    override_priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    override_classification = models.JSONField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    # Indexes on these two would hold a row per report (nearly all NULL) for the
    # rare deletion of a user; without them that check scans the table.
    override_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False)
    override_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(db_index=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["unit", "effective_priority", "due_at", "received_at", "report"], name="triage_queue_open",
                         condition=models.Q(reviewed_at__isnull=True)),
            models.Index(fields=["unit", "effective_priority", "due_at", "received_at", "report"], name="triage_queue_all"),
        ]


class TriageOverride(models.Model):
    """A person's change of tier or classification, kept for ever and shown."""

    PERMISSION_KIND = Kind.TRIAGE
    UNIT_PATH = "report__unit"

    report = models.ForeignKey("reports.Report", on_delete=models.CASCADE, related_name="triage_overrides")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    priority_before = models.CharField(max_length=2)
    priority_after = models.CharField(max_length=2)
    classification_before = models.JSONField(null=True, blank=True)
    classification_after = models.JSONField(null=True, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-at"]
