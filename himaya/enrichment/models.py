"""Where each report stands in its enrichment flow (media → link → triage)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """The next stage to run; `done` when the report is enriched up to its last change."""

    MEDIA = "media", _("Hashing and matching files")
    LINK = "link", _("Linking identifiers")
    TRIAGE = "triage", _("Triage")
    DONE = "done", _("Done")


# The flow's order: a request to re-run from a stage resets a report only if it is past it.
ORDER = {Stage.MEDIA: 0, Stage.LINK: 1, Stage.TRIAGE: 2, Stage.DONE: 3}


class ReportEnrichment(models.Model):
    report = models.OneToOneField("reports.Report", on_delete=models.CASCADE, primary_key=True, related_name="enrichment")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.MEDIA)
    # The last attempt's failure ("" when it did not fail); it is retried at next_attempt_at.
    error = models.TextField(blank=True)
    failed_stage = models.CharField(max_length=10, blank=True)
    attempts = models.PositiveIntegerField(default=0)  # failed attempts since the last success
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # How often each stage ran for this report: once per change (arrival, a file's new verdict, a cluster change).
    media_runs = models.PositiveIntegerField(default=0)
    link_runs = models.PositiveIntegerField(default=0)
    triage_runs = models.PositiveIntegerField(default=0)
    # The media verdict of each of its files' contents (address → status) when it was last
    # linked: an announcement of a verdict it was already linked with asks for nothing.
    verdicts = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField()  # when the pending change was asked for (arrival, re-enrichment)
    done_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The pending and failed rows (metrics, retries) without reading the done ones.
            models.Index(fields=["stage", "next_attempt_at"], name="enrichment_pending_idx", condition=~models.Q(stage="done")),
        ]

    @property
    def failed(self) -> bool:
        return bool(self.error)

    @property
    def failed_stage_label(self) -> str:
        return str(Stage(self.failed_stage).label) if self.failed_stage in Stage.values else self.failed_stage
