from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind


class AuditEvent(models.Model):
    """Append-only and hash-chained.

    An event is written with the hash of its own content, in the transaction of the
    change it records, without waiting on anyone. The sealer (`audit_seal`, run by
    every worker and by `himaya audit verify`) then appends sealed events to the
    chain in order: `seq` is the chain position and `hash` covers the content hash
    and the previous link, so removing, inserting or altering a sealed event breaks
    the chain.

    An event belongs to the unit it names (`unit_id`); an event of no unit (the
    system's: hashing, hash lists, rebuilds) is shown to the national unit only
    (himaya.audit.selectors).
    """

    PERMISSION_KIND = Kind.AUDIT_EVENT
    UNIT_PATH = "unit_id"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(_("actor"), max_length=200)  # "user:alice", "reporter:examplechat", "system"
    action = models.CharField(_("action"), max_length=100, db_index=True)
    target_type = models.CharField(max_length=50, blank=True)
    target_id = models.CharField(max_length=100, blank=True, db_index=True)
    unit_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    hash = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit event")
        indexes = [
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed"),
            # The audit page: a unit's events newest first, and one person's.
            models.Index(fields=["unit_id", "-id"], name="audit_unit_newest"),
            models.Index(fields=["actor", "-id"], name="audit_actor_newest"),
        ]


class AuditSeal(models.Model):
    """One row: the chain's head. Its row lock serialises sealers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(null=True, blank=True)


class AuditVerification(models.Model):
    """The outcome of one check of the whole chain (`himaya audit verify`, or the
    audit page's button): the page shows the latest."""

    at = models.DateTimeField()
    by = models.CharField(max_length=200)  # the audit log's actor label
    events = models.BigIntegerField()
    sealed_through = models.BigIntegerField(default=0)
    intact = models.BooleanField()
    problems = models.JSONField(default=list, blank=True)  # [{"event": id, "reason": text}], the first 100

    class Meta:
        ordering = ["-id"]
