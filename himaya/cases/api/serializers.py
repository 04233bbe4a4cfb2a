"""Input and output shapes of the case API (SPEC §4.3: the names and values are the contract)."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from himaya.cases.api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictDateField, StrictIntegerField
from himaya.cases.models import (
    AgeRange, Attachment, Case, CaseOutcome, CaseStatus, Identification, LegalRequest, LegalRequestKind, LegalRequestResult, Referral,
    ReferralKind, ReferralState, Sex, Suspect, SuspectIdentifierKind, SuspectStatus, Task, TaskKind, TaskStatus,
    TimelineEvent, Victim,
)
from himaya.cases.presentation import actor_name, event_summary
from himaya.cases.selectors import MAX_ID


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(required=False, help_text="field → messages, for invalid input")


# --- output -------------------------------------------------------------------------------------------------------

class TaskOut(serializers.ModelSerializer):
    done = serializers.BooleanField()
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = ["id", "kind", "title", "due", "due_at", "done", "status", "assignee", "done_at", "case"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_assignee(self, obj: Task) -> str | None:
        return obj.assignee.get_username() if obj.assignee_id else None


class TimelineOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta:
        model = TimelineEvent
        fields = ["at", "type", "actor", "summary"]

    @extend_schema_field(serializers.CharField())
    def get_actor(self, obj: TimelineEvent) -> str:
        return actor_name(obj)

    @extend_schema_field(serializers.CharField())
    def get_summary(self, obj: TimelineEvent) -> str:
        return event_summary(obj)


class CaseOut(serializers.ModelSerializer):
    outcome = serializers.SerializerMethodField()
    assignees = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()
    victims = serializers.SerializerMethodField()
    suspects = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()
    timeline = TimelineOut(many=True, read_only=True)
    merged_into = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = ["id", "reference", "title", "status", "outcome", "assignees", "reports", "victims", "suspects", "tasks",
                  "timeline", "deadline", "created_at", "closed_at", "merged_into"]

    @extend_schema_field(serializers.ChoiceField(choices=CaseOutcome.choices, allow_null=True))
    def get_outcome(self, obj: Case) -> str | None:
        return obj.outcome or None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_assignees(self, obj: Case) -> list[str]:
        return sorted(u.get_username() for u in obj.assignees.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_reports(self, obj: Case) -> list[int]:
        return sorted(cr.report_id for cr in obj.case_reports.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_victims(self, obj: Case) -> list[int]:
        return [v.pk for v in obj.victims.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_suspects(self, obj: Case) -> list[int]:
        return [s.pk for s in obj.suspects.all()]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_tasks(self, obj: Case) -> list[dict[str, Any]]:
        return [{"id": t.pk, "kind": t.kind, "title": t.title, "due": t.due.isoformat() if t.due else None, "done": t.done}
                for t in obj.tasks.all()]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_merged_into(self, obj: Case) -> int | None:
        return obj.merged_into_id


class ReferralOut(serializers.ModelSerializer):
    officer = serializers.SerializerMethodField()
    requested = serializers.DateTimeField(source="requested_at")
    accepted = serializers.DateTimeField(source="accepted_at", allow_null=True)
    declined = serializers.DateTimeField(source="declined_at", allow_null=True)
    started = serializers.DateTimeField(source="started_at", allow_null=True)
    completed = serializers.DateTimeField(source="completed_at", allow_null=True)
    withdrawn = serializers.DateTimeField(source="withdrawn_at", allow_null=True)

    class Meta:
        model = Referral
        fields = ["id", "kind", "service", "state", "officer", "requested", "accepted", "declined", "started", "completed",
                  "withdrawn", "outcome", "reason", "victim"]

    @extend_schema_field(serializers.CharField())
    def get_officer(self, obj: Referral) -> str:
        return obj.officer.get_username()


class VictimOut(serializers.ModelSerializer):
    """Identity fields are null unless the reader may see them (the view says so
    through the context: `identity` is the dict from victim_identity, or None)."""

    first_name = serializers.SerializerMethodField()
    last_name = serializers.SerializerMethodField()
    date_of_birth = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    identity_shown = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()
    referrals = ReferralOut(many=True, read_only=True)

    class Meta:
        model = Victim
        fields = ["id", "case", "identification", "first_name", "last_name", "date_of_birth", "address", "contact",
                  "identity_shown", "age", "age_range", "sex", "reports", "child_consents_disclosure", "child_consents_services",
                  "guardian_consents_disclosure", "guardian_consents_services", "referrals"]

    def _identity(self, name: str) -> str | None:
        identity = self.context.get("identity")
        return identity[name] if identity is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_first_name(self, obj: Victim) -> str | None:
        return self._identity("first_name")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_last_name(self, obj: Victim) -> str | None:
        return self._identity("last_name")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="YYYY-MM-DD, or empty when unknown"))
    def get_date_of_birth(self, obj: Victim) -> str | None:
        return self._identity("date_of_birth")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_address(self, obj: Victim) -> str | None:
        return self._identity("address")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_contact(self, obj: Victim) -> str | None:
        return self._identity("contact")

    @extend_schema_field(serializers.BooleanField())
    def get_identity_shown(self, obj: Victim) -> bool:
        return self.context.get("identity") is not None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_reports(self, obj: Victim) -> list[int]:
        return sorted(r.pk for r in obj.reports.all())


class IdentifierSerializer(serializers.Serializer):
    kind = StrictChoiceField(choices=SuspectIdentifierKind.choices)
    value = StrictCharField(max_length=500)
    platform = StrictCharField(max_length=256, required=False, allow_blank=True,
                                     help_text="the platform of a screen name or platform user ID")


class SuspectStepOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=SuspectStatus.choices)
    on = serializers.DateField()
    legal_basis = serializers.CharField()
    by = serializers.CharField(source="by.username")


class SuspectOut(serializers.ModelSerializer):
    identifiers = serializers.SerializerMethodField()
    reports = serializers.SerializerMethodField()
    clusters = serializers.SerializerMethodField()
    other_cases = serializers.SerializerMethodField()
    steps = SuspectStepOut(many=True, read_only=True)

    class Meta:
        model = Suspect
        fields = ["id", "case", "label", "status", "status_date", "identifiers", "reports", "clusters", "other_cases", "steps"]

    @extend_schema_field(IdentifierSerializer(many=True))
    def get_identifiers(self, obj: Suspect) -> list[dict[str, str]]:
        return [{"kind": i.kind, "value": i.value, **({"platform": i.platform} if i.platform else {})} for i in obj.identifiers.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_reports(self, obj: Suspect) -> list[int]:
        return self.context["appearances"]["reports"]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_clusters(self, obj: Suspect) -> list[int]:
        return self.context["appearances"]["clusters"]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_other_cases(self, obj: Suspect) -> list[int]:
        return [c.pk for c in self.context["appearances"]["cases"]]


class OfferedOut(serializers.Serializer):
    reports = serializers.ListField(child=serializers.IntegerField(), help_text="report ids offered to the case")


class LegalRequestOut(serializers.ModelSerializer):
    overdue = serializers.BooleanField()
    answer_days = serializers.IntegerField(allow_null=True)

    class Meta:
        model = LegalRequest
        fields = ["id", "case", "report", "provider", "kind", "account", "legal_basis", "sent_on", "due_on", "answered_on", "answer",
                  "result", "overdue", "answer_days"]


class AttachmentOut(serializers.ModelSerializer):
    uploaded_by = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "case", "name", "description", "size", "sha256", "uploaded_by", "uploaded_at"]

    def get_uploaded_by(self, obj: Attachment) -> str:
        return obj.uploaded_by.get_username()


# --- input --------------------------------------------------------------------------------------------------------

class CaseCreateIn(serializers.Serializer):
    title = StrictCharField(max_length=300)
    reports = serializers.ListField(child=StrictIntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=10_000)
    cluster = StrictIntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="open the case from this cluster of the queue instead")
    deadline = StrictDateField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("reports")) == ("cluster" in attrs):
            raise serializers.ValidationError("give either reports (a non-empty list) or a cluster")
        return attrs


class CaseStatusIn(serializers.Serializer):
    status = StrictChoiceField(choices=CaseStatus.choices)
    outcome = StrictChoiceField(choices=CaseOutcome.choices, required=False, allow_blank=True, allow_null=True)


class CaseAssignIn(serializers.Serializer):
    users = serializers.ListField(child=StrictCharField(max_length=150), max_length=100)


class CaseMergeIn(serializers.Serializer):
    into = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="the case that remains")


class CaseReportsIn(serializers.Serializer):
    reports = serializers.ListField(child=StrictIntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=10_000)


class NoteIn(serializers.Serializer):
    text = StrictCharField(max_length=20_000)


class TaskCreateIn(serializers.Serializer):
    kind = StrictChoiceField(choices=TaskKind.choices)
    title = StrictCharField(max_length=300)
    due = StrictDateField(required=False, allow_null=True)
    assignee = StrictCharField(max_length=150, required=False, allow_null=True, allow_blank=True)


class TaskUpdateIn(serializers.Serializer):
    done = StrictBooleanField(required=False)
    status = StrictChoiceField(choices=TaskStatus.choices, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("done" in attrs) == ("status" in attrs):
            raise serializers.ValidationError("give either done or status")
        return attrs


class _VictimFieldsIn(serializers.Serializer):
    identification = StrictChoiceField(choices=Identification.choices, required=False)
    first_name = StrictCharField(max_length=200, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=200, required=False, allow_blank=True)
    date_of_birth = StrictDateField(required=False, allow_null=True)
    address = StrictCharField(max_length=1000, required=False, allow_blank=True)
    contact = StrictCharField(max_length=1000, required=False, allow_blank=True)
    age = StrictIntegerField(min_value=0, max_value=120, required=False, allow_null=True)
    age_range = StrictChoiceField(choices=AgeRange.choices, required=False, allow_blank=True)
    sex = StrictChoiceField(choices=Sex.choices, required=False)
    reports = serializers.ListField(child=StrictIntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=10_000)
    child_consents_disclosure = StrictBooleanField(required=False, allow_null=True)
    child_consents_services = StrictBooleanField(required=False, allow_null=True)
    guardian_consents_disclosure = StrictBooleanField(required=False, allow_null=True)
    guardian_consents_services = StrictBooleanField(required=False, allow_null=True)


class VictimCreateIn(_VictimFieldsIn):
    case = StrictIntegerField(min_value=1, max_value=MAX_ID)


class VictimPatchIn(_VictimFieldsIn):
    pass


class ReferralCreateIn(serializers.Serializer):
    kind = StrictChoiceField(choices=ReferralKind.choices)
    service = StrictCharField(max_length=300)
    officer = StrictCharField(max_length=150, required=False, allow_blank=True, allow_null=True,
                                    help_text="user name of the responsible officer (default: the caller)")


class ReferralMoveIn(serializers.Serializer):
    state = StrictChoiceField(choices=ReferralState.choices)
    outcome = StrictCharField(max_length=5000, required=False, allow_blank=True)
    reason = StrictCharField(max_length=5000, required=False, allow_blank=True)


class SuspectCreateIn(serializers.Serializer):
    case = StrictIntegerField(min_value=1, max_value=MAX_ID)
    label = StrictCharField(max_length=200, required=False, allow_blank=True)
    status = StrictChoiceField(choices=[(s, lbl) for s, lbl in SuspectStatus.choices if s in ("unidentified", "identified")],
                                     required=False)
    status_date = StrictDateField(required=False, allow_null=True)
    identifiers = IdentifierSerializer(many=True, required=False)


class SuspectPatchIn(serializers.Serializer):
    label = StrictCharField(max_length=200, required=False, allow_blank=True)
    status = StrictChoiceField(choices=SuspectStatus.choices, required=False)
    status_date = StrictDateField(required=False, allow_null=True)
    legal_basis = StrictCharField(max_length=2000, required=False, allow_blank=True)
    identifiers = IdentifierSerializer(many=True, required=False, help_text="replaces the suspect's identifiers")


class LegalRequestCreateIn(serializers.Serializer):
    provider = StrictCharField(max_length=200)
    kind = StrictChoiceField(choices=LegalRequestKind.choices)
    legal_basis = StrictCharField(max_length=5000)
    account = StrictCharField(max_length=500, required=False, allow_blank=True)
    sent_on = StrictDateField(required=False, allow_null=True)
    due_on = StrictDateField(required=False, allow_null=True)
    report = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                help_text="the report of the case whose accounts and IPs the request's document quotes")


class CaseDeadlineIn(serializers.Serializer):
    deadline = StrictDateField(allow_null=True)


class AttachmentIn(serializers.Serializer):
    file = serializers.FileField()
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)


class LegalRequestAnswerIn(serializers.Serializer):
    result = StrictChoiceField(choices=[(r, lbl) for r, lbl in LegalRequestResult.choices if r != "pending"])
    answer = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    answered_on = StrictDateField(required=False, allow_null=True)
