"""Media state per stored content, hash lists ("banks"), matches and legal authorisations.

Hashes and matches hang off `core.Blob`, not the report file: identical bytes received
in two reports are hashed once and share one verdict.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from himaya.accounts.permissions import Kind


class MediaKind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    OTHER = "other", _("Other")


class HashState(models.TextChoices):
    PENDING = "pending", _("Waiting to be hashed")
    HASHED = "hashed", _("Hashed")
    UNDECODABLE = "undecodable", _("Could not be decoded")
    NOT_MEDIA = "not_media", _("Not an image or a video")


class FileStatus(models.TextChoices):
    KNOWN = "known", _("Known material")
    NEW = "new", _("New material")
    VIRAL = "viral", _("Viral / meme")
    BENIGN = "benign", _("Benign / non-pertinent")
    PENDING = "pending", _("Pending")


class MediaState(models.Model):
    PERMISSION_KIND = Kind.MEDIA
    UNIT_PATH = "blob__report_files__report__unit"

    blob = models.OneToOneField("core.Blob", on_delete=models.CASCADE, primary_key=True, related_name="media")
    kind = models.CharField(max_length=10, choices=MediaKind.choices, default=MediaKind.OTHER)
    state = models.CharField(max_length=12, choices=HashState.choices, default=HashState.PENDING)
    reason = models.TextField(blank=True)  # why it could not be decoded
    pdq = models.CharField(max_length=64, blank=True)
    pdq_quality = models.PositiveSmallIntegerField(null=True, blank=True)
    # The 8 dihedral PDQ hashes (original, rotations, mirrors): a rotated or mirrored
    # copy of a listed image matches without re-decoding the file.
    pdq_dihedral = models.JSONField(default=list, blank=True)
    # vPDQ: one [frame, quality, pdq_hex, seconds] per frame.
    vpdq = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=FileStatus.choices, default=FileStatus.PENDING, db_index=True)
    hashed_at = models.DateTimeField(null=True, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("view_media", _("Can view media, one file at a time, blurred first")),
            ("record_authorisation", _("Can record a legal authorisation to view a file")),
            ("manage_hashlists", _("Can import, export and delete hash lists")),
        ]


class ListKind(models.TextChoices):
    KNOWN = "known", _("Known abuse material")
    VIRAL = "viral", _("Viral / meme")
    BENIGN = "benign", _("Benign / non-pertinent")
    SEIZURE = "seizure", _("Own seizures")


class CategoryScheme(models.TextChoices):
    NONE = "", _("None")
    PROJECT_VIC = "projectvic", _("Project VIC (0–4)")
    CAID = "caid", _("CAID (A/B/C)")


class HashList(models.Model):
    PERMISSION_KIND = Kind.HASH_LIST

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ListKind.choices)
    category_scheme = models.CharField(_("category scheme"), max_length=12, choices=CategoryScheme.choices, blank=True)
    provenance = models.TextField(_("provenance"), blank=True)  # who supplied it, under what agreement
    version = models.PositiveIntegerField(_("version"), default=1)  # +1 on every import into the list
    source_name = models.CharField(max_length=500, blank=True)
    source_format = models.CharField(max_length=10, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    entry_count = models.PositiveIntegerField(default=0)
    # An import in progress writes its entries under `import_version` (= version + 1) in short
    # batches; readers see only `version`'s entries, so the list switches whole at the end.
    # A new list is version 0 (not shown) until its first import is complete.
    import_version = models.PositiveIntegerField(null=True, blank=True)
    import_heartbeat = models.DateTimeField(null=True, blank=True)  # the running import's last batch
    imported_by = models.CharField(_("imported by"), max_length=200, blank=True)  # the audit log's actor label of the last import
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Algorithm(models.TextChoices):
    MD5 = "md5", "MD5"
    SHA1 = "sha1", "SHA-1"
    SHA256 = "sha256", "SHA-256"
    PDQ = "pdq", "PDQ"
    VPDQ = "vpdq", "vPDQ"  # one frame of a listed video; the video is the entries sharing a media_id
    PHOTODNA = "photodna", "PhotoDNA"  # kept for export and exchange, never matched


class LiveEntries(models.Manager):
    """The entries of each list's current version: an import still being written, and the old
    version it replaces while it is purged in batches, are invisible to every reader."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(version=models.F("hash_list__version"))


class HashEntry(models.Model):
    PERMISSION_KIND = Kind.HASH_LIST

    hash_list = models.ForeignKey(HashList, on_delete=models.CASCADE, related_name="entries")
    version = models.PositiveIntegerField(default=1)  # the list version this entry belongs to
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices)
    value = models.TextField()  # lower-case hex; PhotoDNA as received
    media_id = models.CharField(max_length=100, blank=True)  # groups the hashes of one VICS Media item
    category = models.CharField(max_length=10, blank=True)
    victim_identified = models.BooleanField(null=True)
    is_distributed = models.BooleanField(null=True)
    series = models.CharField(max_length=300, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    objects = LiveEntries()
    all_versions = models.Manager()  # the import and purge write through this one

    class Meta:
        indexes = [models.Index(fields=["algorithm", "value"], name="media_entry_alg_value"),
                   models.Index(fields=["hash_list", "version"], name="media_entry_list_version")]


class MediaMatch(models.Model):
    PERMISSION_KIND = Kind.MEDIA
    UNIT_PATH = "blob__report_files__report__unit"

    blob = models.ForeignKey("core.Blob", on_delete=models.CASCADE, related_name="media_matches")
    entry = models.ForeignKey(HashEntry, on_delete=models.CASCADE, related_name="matches")
    hash_list = models.ForeignKey(HashList, on_delete=models.CASCADE, related_name="matches")
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices)
    distance = models.PositiveSmallIntegerField(default=0)
    matched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blob", "entry"], name="media_match_once")]


class RematchJob(models.Model):
    """Re-matching every stored file after a list changed; the cursor makes it resumable."""

    PERMISSION_KIND = Kind.HASH_LIST

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    class Trigger(models.TextChoices):
        NONE = "", _("Other")
        IMPORT = "import", _("List imported")
        DELETE = "delete", _("List retired")

    hash_list_name = models.CharField(max_length=200, blank=True)
    hash_list_version = models.PositiveIntegerField(null=True, blank=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    requested_by = models.CharField(max_length=200, blank=True)  # the audit log's actor label
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    cursor = models.CharField(max_length=64, blank=True)  # last Blob address processed
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class LegalAuthorisation(models.Model):
    """A warrant (or equivalent) that allows opening a file the provider never viewed."""

    PERMISSION_KIND = Kind.MEDIA
    UNIT_PATH = "report_file__report__unit"

    report_file = models.ForeignKey("reports.ReportFile", on_delete=models.PROTECT, related_name="authorisations")
    warrant_number = models.CharField(_("warrant number"), max_length=100)
    granted_on = models.DateField(_("date granted"))
    granted_by = models.CharField(_("granted by"), max_length=200)  # the judge or prosecutor
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
