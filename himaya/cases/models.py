"""Cases and what they follow (SPEC §3.6): the reports, the work (tasks, legal
requests to providers), the child (victims and their referrals), the offender
(suspects and their steps), and a timeline of typed events.

Every model names its permission kind and the path to its unit
(himaya.accounts.permissions): selectors start from `restrict(...)`, services
`check(...)`. Victim identity (names, date of birth, address, contact) and notes
are ciphertext in the database (himaya.core.fields), with the key outside it.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from himaya.accounts.permissions import Kind
from himaya.core.fields import EncryptedTextField


class CaseStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("CaseStatus", "New")
    INVESTIGATING = "investigating", pgettext_lazy("CaseStatus", "Under investigation")
    PROSECUTION = "prosecution", pgettext_lazy("CaseStatus", "Referred to prosecution")
    COURT = "court", pgettext_lazy("CaseStatus", "In court")
    CLOSED = "closed", pgettext_lazy("CaseStatus", "Closed")


class CaseOutcome(models.TextChoices):
    CONVICTED = "convicted", pgettext_lazy("CaseOutcome", "Offender convicted")
    ACQUITTED = "acquitted", pgettext_lazy("CaseOutcome", "Acquitted")
    NOT_PROSECUTED = "not_prosecuted", pgettext_lazy("CaseOutcome", "Not prosecuted")
    NO_OFFENCE = "no_offence", pgettext_lazy("CaseOutcome", "No offence found")
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", pgettext_lazy("CaseOutcome", "Insufficient evidence")
    REFERRED_ABROAD = "referred_abroad", pgettext_lazy("CaseOutcome", "Referred to another country")
    MERGED = "merged", pgettext_lazy("CaseOutcome", "Merged into another case")
    OTHER = "other", pgettext_lazy("CaseOutcome", "Other")


class CaseSequence(models.Model):
    """The last case number given in a year: references are sequential per year
    and unique in the installation (a locked row, so two openings never share one)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Case(models.Model):
    PERMISSION_KIND = Kind.CASE
    UNIT_PATH = "unit"

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="cases", verbose_name=_("unit"))
    reference = models.CharField(_("reference"), max_length=20, unique=True)  # HMY-2026-00042
    title = models.CharField(_("title"), max_length=300)
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    outcome = models.CharField(_("outcome"), max_length=30, choices=CaseOutcome.choices, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assigned_cases", verbose_name=_("assignees"))
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_cases")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-id"]
        indexes = [models.Index(fields=["unit", "status", "-id"], name="cases_case_unit_status")]
        constraints = [
            # A closed case has an outcome, an open one has none.
            models.CheckConstraint(
                condition=(models.Q(status="closed") & ~models.Q(outcome="")) | (~models.Q(status="closed") & models.Q(outcome="")),
                name="cases_case_outcome_when_closed"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED


class CaseReport(models.Model):
    """A report in a case; a report is in at most one case."""

    PERMISSION_KIND = Kind.CASE
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_reports")
    report = models.OneToOneField("reports.Report", on_delete=models.PROTECT, related_name="case_link")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["report_id"]


class TaskKind(models.TextChoices):
    PRESERVATION_REQUEST = "preservation_request", pgettext_lazy("TaskKind", "Preservation request")
    DATA_REQUEST = "data_request", pgettext_lazy("TaskKind", "Data request to a provider")
    WARRANT = "warrant", pgettext_lazy("TaskKind", "Warrant")
    SEARCH = "search", pgettext_lazy("TaskKind", "Search")
    ARREST = "arrest", pgettext_lazy("TaskKind", "Arrest")
    VICTIM_INTERVIEW = "victim_interview", pgettext_lazy("TaskKind", "Victim interview")
    FORENSIC_EXAMINATION = "forensic_examination", pgettext_lazy("TaskKind", "Forensic examination")
    OTHER = "other", pgettext_lazy("TaskKind", "Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("TaskStatus", "Open")
    DONE = "done", pgettext_lazy("TaskStatus", "Done")
    CANCELLED = "cancelled", pgettext_lazy("TaskStatus", "Cancelled")


class Task(models.Model):
    PERMISSION_KIND = Kind.TASK
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=30, choices=TaskKind.choices)
    title = models.CharField(_("title"), max_length=300)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="case_tasks",
                                 verbose_name=_("assignee"))
    due = models.DateField(_("due"), null=True, blank=True)
    # A deadline to the minute, when a day is too coarse: a P1 case's first action is
    # due within the tier's service target (an hour by default); `due` is its local date.
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["status", "due", "id"]
        indexes = [models.Index(fields=["assignee", "status", "due"], name="cases_task_my_work")]

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.status == TaskStatus.DONE

    @property
    def overdue(self) -> bool:
        if self.status != TaskStatus.OPEN:
            return False
        if self.due_at is not None:
            return self.due_at < timezone.now()
        return self.due is not None and self.due < timezone.localdate()


class Identification(models.TextChoices):
    UNIDENTIFIED = "unidentified", pgettext_lazy("Identification", "Unidentified")
    IDENTIFIED = "identified", pgettext_lazy("Identification", "Identified")
    LOCATED = "located", pgettext_lazy("Identification", "Located")
    SAFEGUARDED = "safeguarded", pgettext_lazy("Identification", "Safeguarded")


class AgeRange(models.TextChoices):
    INFANT = "0-2", pgettext_lazy("AgeRange", "0–2 years")
    PRESCHOOL = "3-5", pgettext_lazy("AgeRange", "3–5 years")
    CHILD = "6-8", pgettext_lazy("AgeRange", "6–8 years")
    PRETEEN = "9-12", pgettext_lazy("AgeRange", "9–12 years")
    TEEN = "13-15", pgettext_lazy("AgeRange", "13–15 years")
    OLDER_TEEN = "16-17", pgettext_lazy("AgeRange", "16–17 years")


class Sex(models.TextChoices):
    FEMALE = "female", pgettext_lazy("Sex", "Female")
    MALE = "male", pgettext_lazy("Sex", "Male")
    UNKNOWN = "unknown", pgettext_lazy("Sex", "Unknown")


class Victim(models.Model):
    PERMISSION_KIND = Kind.VICTIM
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="victims")
    identification = models.CharField(_("identification"), max_length=20, choices=Identification.choices,
                                      default=Identification.UNIDENTIFIED)
    # Identity: ciphertext at rest, shown only to the roles that need it (view_identity).
    first_name = EncryptedTextField(_("first name"), blank=True)
    last_name = EncryptedTextField(_("last name"), blank=True)
    date_of_birth = EncryptedTextField(_("date of birth"), blank=True)  # ISO date
    address = EncryptedTextField(_("address"), blank=True)
    contact = EncryptedTextField(_("contact"), blank=True)
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    age_range = models.CharField(_("age range"), max_length=10, choices=AgeRange.choices, blank=True)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    reports = models.ManyToManyField("reports.Report", blank=True, related_name="+", verbose_name=_("reports"))
    files = models.ManyToManyField("reports.ReportFile", blank=True, related_name="+", verbose_name=_("files"))
    # Consent (None: not asked yet).
    child_consents_disclosure = models.BooleanField(_("child consents to disclosure"), null=True, blank=True)
    child_consents_services = models.BooleanField(_("child consents to services"), null=True, blank=True)
    guardian_consents_disclosure = models.BooleanField(_("guardian consents to disclosure"), null=True, blank=True)
    guardian_consents_services = models.BooleanField(_("guardian consents to services"), null=True, blank=True)
    identification_changed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("victim")
        verbose_name_plural = _("victims")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk}"


class ReferralKind(models.TextChoices):
    SHELTER = "shelter", pgettext_lazy("ReferralKind", "Shelter")
    EDUCATION = "education", pgettext_lazy("ReferralKind", "Education")
    HEALTH = "health", pgettext_lazy("ReferralKind", "Health")
    PSYCHOLOGICAL = "psychological", pgettext_lazy("ReferralKind", "Psychological care")


class ReferralState(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("ReferralState", "Requested")
    ACCEPTED = "accepted", pgettext_lazy("ReferralState", "Accepted")
    DECLINED = "declined", pgettext_lazy("ReferralState", "Declined")
    IN_PROGRESS = "in_progress", pgettext_lazy("ReferralState", "In progress")
    COMPLETED = "completed", pgettext_lazy("ReferralState", "Completed")
    WITHDRAWN = "withdrawn", pgettext_lazy("ReferralState", "Withdrawn")


class Referral(models.Model):
    PERMISSION_KIND = Kind.REFERRAL
    UNIT_PATH = "victim__case__unit"

    victim = models.ForeignKey(Victim, on_delete=models.PROTECT, related_name="referrals")
    kind = models.CharField(_("kind"), max_length=20, choices=ReferralKind.choices)
    service = models.CharField(_("receiving service"), max_length=300)  # may be outside Himaya
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsible officer"))
    state = models.CharField(_("state"), max_length=20, choices=ReferralState.choices, default=ReferralState.REQUESTED)
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)  # when completed
    reason = models.TextField(_("reason"), blank=True)  # when declined or withdrawn
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]


class SuspectStatus(models.TextChoices):
    UNIDENTIFIED = "unidentified", pgettext_lazy("SuspectStatus", "Unidentified")
    IDENTIFIED = "identified", pgettext_lazy("SuspectStatus", "Identified")
    ARRESTED = "arrested", pgettext_lazy("SuspectStatus", "Arrested")
    CHARGED = "charged", pgettext_lazy("SuspectStatus", "Charged")
    CONVICTED = "convicted", pgettext_lazy("SuspectStatus", "Convicted")
    ACQUITTED = "acquitted", pgettext_lazy("SuspectStatus", "Acquitted")
    RELEASED = "released", pgettext_lazy("SuspectStatus", "Released")


class SuspectIdentifierKind(models.TextChoices):
    EMAIL = "email", pgettext_lazy("SuspectIdentifierKind", "Email")
    PHONE = "phone", pgettext_lazy("SuspectIdentifierKind", "Phone")
    IP = "ip", pgettext_lazy("SuspectIdentifierKind", "IP address")
    ESP_ID = "esp_id", pgettext_lazy("SuspectIdentifierKind", "Platform user ID")
    SCREEN_NAME = "screen_name", pgettext_lazy("SuspectIdentifierKind", "Screen name")
    DEVICE = "device", pgettext_lazy("SuspectIdentifierKind", "Device ID")
    URL = "url", pgettext_lazy("SuspectIdentifierKind", "URL")


class Suspect(models.Model):
    PERMISSION_KIND = Kind.SUSPECT
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="suspects")
    label = models.CharField(_("label"), max_length=200, blank=True)  # an alias or a working name, not an identity
    status = models.CharField(_("status"), max_length=20, choices=SuspectStatus.choices, default=SuspectStatus.UNIDENTIFIED)
    status_date = models.DateField(_("status date"), default=timezone.localdate)
    source_report = models.ForeignKey("reports.Report", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suspect")
        verbose_name_plural = _("suspects")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label or f"#{self.pk}"


class SuspectIdentifier(models.Model):
    PERMISSION_KIND = Kind.SUSPECT
    UNIT_PATH = "suspect__case__unit"

    suspect = models.ForeignKey(Suspect, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=20, choices=SuspectIdentifierKind.choices)
    value = models.CharField(max_length=500)  # as given
    platform = models.CharField(max_length=256, blank=True)  # scope of screen names and platform ids
    key = models.CharField(max_length=255, db_index=True)  # himaya.linking.normalize key, as linking indexes it

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["suspect", "key"], name="cases_suspect_identifier_unique")]


class SuspectStep(models.Model):
    """One step of a suspect's status, with its date and legal basis (the history)."""

    PERMISSION_KIND = Kind.SUSPECT
    UNIT_PATH = "suspect__case__unit"

    suspect = models.ForeignKey(Suspect, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=20, choices=SuspectStatus.choices)
    on = models.DateField()
    legal_basis = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]


class LegalRequestKind(models.TextChoices):
    PRESERVATION = "preservation", pgettext_lazy("LegalRequestKind", "Preservation")
    SUBSCRIBER_DATA = "subscriber_data", pgettext_lazy("LegalRequestKind", "Subscriber data")
    CONTENT = "content", pgettext_lazy("LegalRequestKind", "Content")


class LegalRequestResult(models.TextChoices):
    PENDING = "pending", pgettext_lazy("LegalRequestResult", "Awaiting answer")
    PROVIDED = "provided", pgettext_lazy("LegalRequestResult", "Data provided")
    PARTIAL = "partial", pgettext_lazy("LegalRequestResult", "Partly provided")
    NO_DATA = "no_data", pgettext_lazy("LegalRequestResult", "No data held")
    REFUSED = "refused", pgettext_lazy("LegalRequestResult", "Refused")
    PRESERVED = "preserved", pgettext_lazy("LegalRequestResult", "Preserved")


class LegalRequest(models.Model):
    PERMISSION_KIND = Kind.LEGAL_REQUEST
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="legal_requests")
    # The report the request is about: its document quotes that report's accounts and IPs.
    report = models.ForeignKey("reports.Report", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("report"))
    provider = models.CharField(_("provider"), max_length=200, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=LegalRequestKind.choices)
    account = models.CharField(_("account or identifier"), max_length=500, blank=True)
    legal_basis = models.TextField(_("legal basis"))
    sent_on = models.DateField(_("sent"), null=True, blank=True)
    due_on = models.DateField(_("due"), null=True, blank=True)
    answered_on = models.DateField(_("answered"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    result = models.CharField(_("result"), max_length=20, choices=LegalRequestResult.choices, default=LegalRequestResult.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    @property
    def overdue(self) -> bool:
        return self.answered_on is None and self.due_on is not None and self.due_on < timezone.localdate()

    @property
    def answer_days(self) -> int | None:
        """The provider's answer time, for statistics."""
        if self.sent_on and self.answered_on:
            return (self.answered_on - self.sent_on).days
        return None


class Note(models.Model):
    PERMISSION_KIND = Kind.CASE
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    text = EncryptedTextField(_("note"))  # notes name people: ciphertext at rest
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]


class Attachment(models.Model):
    """A file of the case (a warrant, a provider's answer, a consent form): its content
    is in the encrypted content-addressed store like the reports' media
    (himaya.core.storage); its name is ciphertext too (names of files name people)."""

    PERMISSION_KIND = Kind.ATTACHMENT
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    blob = models.ForeignKey("core.Blob", on_delete=models.PROTECT, related_name="case_attachments")
    name = EncryptedTextField(_("file name"))
    description = EncryptedTextField(_("description"), blank=True)
    size = models.BigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]


class EventType(models.TextChoices):
    """The timeline's typed events: one function each in himaya.cases.events, one
    sentence each in himaya.cases.presentation."""

    CASE_OPENED = "case_opened", pgettext_lazy("EventType", "Case opened")
    STATUS_CHANGED = "status_changed", pgettext_lazy("EventType", "Status changed")
    ASSIGNED = "assigned", pgettext_lazy("EventType", "Assignees changed")
    REPORTS_ADDED = "reports_added", pgettext_lazy("EventType", "Reports added")
    MERGED_IN = "merged_in", pgettext_lazy("EventType", "Case merged in")
    MERGED_INTO = "merged_into", pgettext_lazy("EventType", "Merged into another case")
    NOTE_ADDED = "note_added", pgettext_lazy("EventType", "Note added")
    DEADLINE_SET = "deadline_set", pgettext_lazy("EventType", "Deadline set")
    TASK_CREATED = "task_created", pgettext_lazy("EventType", "Task created")
    TASK_STATUS_CHANGED = "task_status_changed", pgettext_lazy("EventType", "Task status changed")
    VICTIM_ADDED = "victim_added", pgettext_lazy("EventType", "Victim added")
    VICTIM_IDENTIFICATION = "victim_identification", pgettext_lazy("EventType", "Victim identification changed")
    VICTIM_UPDATED = "victim_updated", pgettext_lazy("EventType", "Victim record changed")
    REFERRAL_CREATED = "referral_created", pgettext_lazy("EventType", "Referral requested")
    REFERRAL_MOVED = "referral_moved", pgettext_lazy("EventType", "Referral state changed")
    SUSPECT_ADDED = "suspect_added", pgettext_lazy("EventType", "Suspect added")
    SUSPECT_STATUS = "suspect_status", pgettext_lazy("EventType", "Suspect status changed")
    SUSPECT_UPDATED = "suspect_updated", pgettext_lazy("EventType", "Suspect record changed")
    LEGAL_REQUEST_CREATED = "legal_request_created", pgettext_lazy("EventType", "Legal request recorded")
    LEGAL_REQUEST_ANSWERED = "legal_request_answered", pgettext_lazy("EventType", "Legal request answered")
    ATTACHMENT_ADDED = "attachment_added", pgettext_lazy("EventType", "Attachment added")
    PARTNER_REFERRAL_SENT = "partner_referral_sent", pgettext_lazy("EventType", "Referred to a partner unit")
    PARTNER_REFERRAL_ACKNOWLEDGED = "partner_referral_acknowledged", pgettext_lazy("EventType", "Partner acknowledged the referral")
    PARTNER_OUTCOME = "partner_outcome", pgettext_lazy("EventType", "Partner reported an outcome")


class TimelineEvent(models.Model):
    PERMISSION_KIND = Kind.CASE
    UNIT_PATH = "case__unit"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(default=timezone.now)
    type = models.CharField(max_length=40, choices=EventType.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Ids, codes and dates only (never a victim's name): the sentence is rendered
    # from them through gettext (himaya.cases.presentation).
    fields = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="cases_timeline_case_at")]

