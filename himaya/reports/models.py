"""Everything a report says.

`Report.document` and `ReportFile.details_document` hold the whole submitted
document as a tree (himaya.intake.cybertip.Node, JSON form): the lossless record,
from which `export_report` writes an equivalent `<report>`. The tables below
project what the product queries (parties, identifiers, IP and device events,
files, annotations, incident details); they are derived from the document and can
be rebuilt from it at any time (`report_project`).
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind
from himaya.core.fields import EncryptedBinaryField, EncryptedJSONField, EncryptedTextField


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Open (receiving files)")
    FINISHED = "finished", _("Received")
    RETRACTED = "retracted", _("Retracted by the provider")
    EXPIRED = "expired", _("Expired unfinished")


class ReportSource(models.TextChoices):
    API = "provider", _("Provider API")  # SPEC §4.3's name for it
    IMPORT = "import", _("Bulk import")
    PORTAL = "portal", _("Public portal")
    PARTNER = "partner", _("Partner unit")


class Report(models.Model):
    PERMISSION_KIND = Kind.REPORT
    UNIT_PATH = "unit"

    id = models.BigAutoField(primary_key=True)  # the report ID given at intake
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="reports")
    reporter = models.ForeignKey("accounts.Reporter", on_delete=models.PROTECT, null=True, blank=True, related_name="reports")
    source = models.CharField(_("source"), max_length=10, choices=ReportSource.choices)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN, db_index=True)
    opened_at = models.DateTimeField(_("opened"), db_index=True)
    modified_at = models.DateTimeField(_("last change"))
    finished_at = models.DateTimeField(_("received"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # Encrypted at rest: the document names victims and reporters (SPEC §3.10).
    raw_xml = EncryptedBinaryField()
    raw_sha256 = models.CharField(_("SHA-256 of the submitted XML"), max_length=64, db_index=True)
    document = EncryptedJSONField()
    # Bulk import is idempotent on this key (SPEC §3.1).
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    import_label = models.CharField(max_length=500, blank=True)
    # The report's ID in the system it came from (NCMEC, a partner unit), when imported.
    external_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    incident_type = models.CharField(_("incident type"), max_length=100, db_index=True)
    incident_at = models.DateTimeField(_("incident date"), null=True, blank=True)
    platform = models.CharField(_("platform"), max_length=256, blank=True)
    escalation = models.TextField(_("escalated to high priority"), blank=True)
    batched_reason = models.CharField(max_length=50, blank=True)
    annotations = models.JSONField(_("annotations"), default=list, blank=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-id"]
        indexes = [models.Index(fields=["unit", "status", "-id"])]

    def __str__(self) -> str:
        return f"#{self.id}"

    @property
    def is_escalated(self) -> bool:
        return bool(self.escalation)


class ReportFile(models.Model):
    PERMISSION_KIND = Kind.MEDIA
    UNIT_PATH = "report__unit"

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="files")
    file_id = models.CharField(max_length=32, unique=True)
    position = models.PositiveIntegerField()
    blob = models.ForeignKey("core.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="report_files")  # null once purged
    upload_name = models.CharField(max_length=500, blank=True)  # multipart filename, as sent
    size = models.BigIntegerField()
    md5 = models.CharField(max_length=32, db_index=True)
    sha1 = models.CharField(max_length=40, db_index=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_at = models.DateTimeField()

    purged_at = models.DateTimeField(null=True, blank=True)  # content removed when an unfinished report expired

    details_raw = EncryptedBinaryField(null=True, blank=True)
    details_sha256 = models.CharField(max_length=64, blank=True)
    details_document = EncryptedJSONField(null=True, blank=True)
    details_at = models.DateTimeField(null=True, blank=True)

    original_file_name = models.TextField(blank=True)
    file_viewed_by_esp = models.BooleanField(null=True)
    exif_viewed_by_esp = models.BooleanField(null=True)
    publicly_available = models.BooleanField(null=True)
    relevance = models.CharField(max_length=50, blank=True)
    industry_classification = models.CharField(max_length=5, blank=True)
    annotations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["report_id", "position"]
        constraints = [models.UniqueConstraint(fields=["report", "position"], name="reportfile_position_unique")]


class PartyRole(models.TextChoices):
    REPORTED = "reported", _("Reported person or user")
    RECIPIENT = "recipient", _("Intended recipient")
    VICTIM = "victim", _("Child victim")
    REPORTING_PERSON = "reporting_person", _("Reporting person")
    CONTACT_PERSON = "contact_person", _("Contact person")
    OFFICER = "officer", _("Law-enforcement officer")
    ASSOCIATED = "associated", _("Associated account")


class Party(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="parties")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="accounts")
    role = models.CharField(max_length=20, choices=PartyRole.choices)
    position = models.PositiveIntegerField()
    path = models.CharField(max_length=300)
    first_name = EncryptedTextField(blank=True)
    middle_name = EncryptedTextField(blank=True)
    last_name = EncryptedTextField(blank=True)
    age = models.IntegerField(null=True, blank=True)
    date_of_birth = EncryptedTextField(blank=True)
    esp_identifier = models.CharField(max_length=256, blank=True, db_index=True)
    esp_service = models.CharField(max_length=256, blank=True)
    screen_name = models.CharField(max_length=256, blank=True, db_index=True)
    platform = models.CharField(max_length=256, blank=True)
    account_type = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["report_id", "position"]


class IdentifierKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    IP = "ip", _("IP address")
    ESP_ID = "esp_id", _("Platform user ID")
    SCREEN_NAME = "screen_name", _("Screen name")
    DISPLAY_NAME = "display_name", _("Display name")
    DEVICE = "device", _("Device ID")
    URL = "url", _("URL")
    FILE_HASH = "file_hash", _("File hash")
    GROUP = "group", _("Group identifier")


class Identifier(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="identifiers")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, null=True, blank=True, related_name="identifiers")
    file = models.ForeignKey(ReportFile, on_delete=models.CASCADE, null=True, blank=True, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    value = models.TextField()
    qualifier = models.CharField(max_length=256, blank=True)  # email/phone type, device idType, hashType, platform
    path = models.CharField(max_length=300)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "value"], name="identifier_kind_value")]


class IpCaptureEvent(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="ip_events")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, null=True, blank=True, related_name="ip_events")
    file = models.ForeignKey(ReportFile, on_delete=models.CASCADE, null=True, blank=True, related_name="ip_events")
    ip_address = models.CharField(max_length=100, db_index=True)
    event_name = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(null=True, blank=True)
    possible_proxy = models.BooleanField(null=True)
    port = models.IntegerField(null=True, blank=True)
    path = models.CharField(max_length=300)

    class Meta:
        ordering = ["id"]


class DeviceIdEvent(models.Model):
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="device_events")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, null=True, blank=True, related_name="device_events")
    file = models.ForeignKey(ReportFile, on_delete=models.CASCADE, null=True, blank=True, related_name="device_events")
    id_type = models.CharField(max_length=255)
    id_value = models.TextField()
    event_name = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(null=True, blank=True)
    path = models.CharField(max_length=300)

    class Meta:
        ordering = ["id"]


class IncidentDetail(models.Model):
    """One <internetDetails> entry: web page, email, chat, cell phone, ... incident."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="incident_details")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=30)
    content = EncryptedTextField(blank=True)
    additional_info = EncryptedTextField(blank=True)
    fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["report_id", "position"]
