from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Append-only and hash-chained.

    An event is written with the hash of its own content, in the transaction of the
    change it records, without waiting on anyone. The sealer (`audit_seal`, run by
    every worker and by `himaya audit verify`) then appends sealed events to the
    chain in order: `seq` is the chain position and `hash` covers the content hash
    and the previous link, so removing, inserting or altering a sealed event breaks
    the chain.
    """

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
        indexes = [models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed")]


class AuditSeal(models.Model):
    """One row: the chain's head. Its row lock serialises sealers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(null=True, blank=True)
