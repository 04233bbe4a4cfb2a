"""Partner units and the referrals exchanged with them (SPEC §3.8).

A partner is another country's unit, known by its two public keys (Ed25519 to
check what it signs, X25519 to encrypt what we send it). This unit's own private
keys live outside the database (himaya.exchange.keys). A referral is one signed
package of reports, tracked on both sides: the sender's row moves sent →
acknowledged → outcome reported; the receiver's row records what it imported and
what it sent back. Every package seen or sent is remembered (`ExchangePackage`),
so a replayed one is refused.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from himaya.accounts.permissions import Kind


class Partner(models.Model):
    PERMISSION_KIND = Kind.PARTNER
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="partners", verbose_name=_("unit"))
    name = models.CharField(_("name"), max_length=100)
    country = models.CharField(_("country"), max_length=2)
    signing_key = models.CharField(_("signing public key"), max_length=64)  # Ed25519, hex
    encryption_key = models.CharField(_("encryption public key"), max_length=64)  # X25519, hex
    fingerprint = models.CharField(_("key fingerprint"), max_length=64)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner unit")
        verbose_name_plural = _("partner units")
        ordering = ["country", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="exchange_partner_name_unique"),
            models.UniqueConstraint(fields=["unit", "fingerprint"], name="exchange_partner_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Direction(models.TextChoices):
    SENT = "sent", _("Sent by us")
    RECEIVED = "received", _("Received from a partner")


class ReferralState(models.TextChoices):
    SENT = "sent", pgettext_lazy("partner referral", "Sent")
    RECEIVED = "received", pgettext_lazy("partner referral", "Received")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("partner referral", "Acknowledged")
    OUTCOME = "outcome", pgettext_lazy("partner referral", "Outcome reported")


class Referral(models.Model):
    PERMISSION_KIND = Kind.PARTNER
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="exchange_referrals")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("partner unit"))
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    package_id = models.UUIDField(_("package"))
    state = models.CharField(_("state"), max_length=15, choices=ReferralState.choices, default=ReferralState.SENT, db_index=True)
    reports = models.ManyToManyField("reports.Report", related_name="exchange_referrals", verbose_name=_("reports"))
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="exchange_referrals")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(_("sent"))
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    package_sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("referral to a partner")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "partner", "direction", "package_id"], name="exchange_referral_unique"),
        ]

    def __str__(self) -> str:
        return str(self.package_id)


class OutcomeKind(models.TextChoices):
    VICTIM_IDENTIFIED = "victim_identified", _("Victim identified")
    ARREST = "arrest", _("Arrest")
    CHARGE = "charge", _("Charge")
    CONVICTION = "conviction", _("Conviction")
    OTHER = "other", _("Other")


class ReferralOutcome(models.Model):
    PERMISSION_KIND = Kind.PARTNER
    UNIT_PATH = "referral__unit"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="outcomes")
    kind = models.CharField(_("outcome"), max_length=20, choices=OutcomeKind.choices)
    text = models.TextField(_("details"), blank=True)
    reported_at = models.DateTimeField(_("reported"))  # when the receiving unit signed it
    recorded_at = models.DateTimeField(auto_now_add=True)
    package_id = models.UUIDField()

    class Meta:
        ordering = ["reported_at", "id"]
        constraints = [models.UniqueConstraint(fields=["referral", "package_id"], name="exchange_outcome_unique")]


class PackageKind(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    RECEIPT = "receipt", _("Acknowledgement")
    OUTCOME = "outcome", _("Outcome")


class ExchangePackage(models.Model):
    """Every package this unit made or accepted, by its id: the replay register."""

    PERMISSION_KIND = Kind.PARTNER
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="packages")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    kind = models.CharField(max_length=10, choices=PackageKind.choices)
    package_id = models.UUIDField()
    sha256 = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "partner", "direction", "package_id"], name="exchange_package_unique")]


# -- identifier matching without disclosure (himaya.exchange.matching) --

class MatchSession(models.Model):
    """One private-set-intersection session with a partner: when, how many
    identifiers each side offered and how many both hold. Never the partner's
    identifiers: this unit never learns them."""

    PERMISSION_KIND = Kind.PARTNER
    UNIT_PATH = "unit"

    class Side(models.TextChoices):
        CALLER = "caller", _("We called the partner")
        SERVER = "server", _("The partner called us")

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="match_sessions", verbose_name=_("partner unit"))
    side = models.CharField(max_length=10, choices=Side.choices)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    offered = models.PositiveIntegerField(_("identifiers offered"))
    partner_offered = models.PositiveIntegerField(_("identifiers the partner offered"))
    matched = models.PositiveIntegerField(_("identifiers both hold"))
    partner_matched = models.PositiveIntegerField(default=0)  # what the partner says it found: should equal `matched`
    kinds = models.JSONField(default=list)  # the identifier kinds offered

    class Meta:
        ordering = ["-finished_at", "-id"]


class PartnerMatch(models.Model):
    """An identifier this unit holds that a partner unit also holds, found by a
    match session: a link to the partner with its evidence ("also known to
    partner X"). Seen like the unit's links (Kind.LINK)."""

    PERMISSION_KIND = Kind.LINK
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="matches", verbose_name=_("partner unit"))
    session = models.ForeignKey(MatchSession, on_delete=models.PROTECT, related_name="matches")
    kind = models.CharField(_("kind"), max_length=20)
    key = models.CharField(max_length=255)  # linking's IdentifierEntry.key
    display = models.CharField(_("identifier"), max_length=300)
    matched_at = models.DateTimeField(_("matched"))

    class Meta:
        ordering = ["-matched_at", "id"]
        indexes = [models.Index(fields=["unit", "key"], name="exchange_match_key")]
        constraints = [models.UniqueConstraint(fields=["session", "key"], name="exchange_match_unique")]
