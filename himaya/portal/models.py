"""What the portal keeps beside the report itself (SPEC §3.9).

Nothing here is readable without a key kept outside the database: the contact
and the messages are sealed boxes to the report's own public key (see
crypto.py); the receipt is stored only as the lookup half of its Argon2id hash;
addresses only as a keyed hash, in counters that expire.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind


class PortalSubmission(models.Model):
    PERMISSION_KIND = Kind.PORTAL_MESSAGE
    UNIT_PATH = "report__unit"

    report = models.OneToOneField("reports.Report", on_delete=models.PROTECT, related_name="portal")
    receipt_lookup = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField()  # the report's X25519 public key
    key_for_unit = models.BinaryField()  # the report's private key, sealed to the unit's portal key
    key_for_receipt = models.BinaryField()  # the same, in a secret box under the receipt's wrapping key
    unit_key_id = models.CharField(max_length=16)  # which unit key (for a key rotation)
    contact = models.BinaryField(null=True, blank=True)  # sealed; null when anonymous
    created_at = models.DateTimeField()
    seen_by_unit_at = models.DateTimeField(null=True, blank=True)
    last_reporter_message_at = models.DateTimeField(null=True, blank=True)
    last_unit_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("portal report")

    @property
    def anonymous(self) -> bool:
        return self.contact is None


class Author(models.TextChoices):
    REPORTER = "reporter", _("The reporter")
    UNIT = "unit", _("The unit")


class PortalMessage(models.Model):
    PERMISSION_KIND = Kind.PORTAL_MESSAGE
    UNIT_PATH = "submission__report__unit"

    submission = models.ForeignKey(PortalSubmission, on_delete=models.PROTECT, related_name="messages")
    author = models.CharField(max_length=10, choices=Author.choices)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.BinaryField()  # sealed to the report's public key
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["submission_id", "id"]


class PowSpent(models.Model):
    """A proof-of-work challenge already used: a solution counts once."""

    nonce = models.CharField(max_length=32, unique=True)
    spent_at = models.DateTimeField(db_index=True)


class PortalCounter(models.Model):
    """Requests per window for rate limits, keyed by what and a keyed hash of the address."""

    key = models.CharField(max_length=100)
    window = models.BigIntegerField()  # window start, seconds since the epoch
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="portal_counter_key_window")]
        indexes = [models.Index(fields=["window"], name="portal_counter_window")]


class DeviceHash(models.Model):
    """The fingerprints of a picture hashed on the reporter's own device: the picture
    itself was never sent. Its report file (no stored content, the hashes declared in
    its fileDetails) links and exports like any file; the perceptual hash, which a
    report file has no field for, and the verdict against the hash lists are here."""

    PERMISSION_KIND = Kind.MEDIA
    UNIT_PATH = "report_file__report__unit"

    report_file = models.OneToOneField("reports.ReportFile", on_delete=models.PROTECT, related_name="device_hash")
    pdq = models.CharField(max_length=64, blank=True)
    pdq_quality = models.PositiveSmallIntegerField(null=True, blank=True)
    pdq_dihedral = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, default="pending")  # media's FileStatus values
    matches = models.JSONField(default=list, blank=True)  # [{list, kind, category, algorithm, distance}]
    matched_at = models.DateTimeField(null=True, blank=True)
