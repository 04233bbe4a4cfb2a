from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from himaya.accounts.permissions import Action, Kind, allowed
from himaya.media.selectors import file_media_summary
from himaya.reports.models import Party, Report, ReportFile
from himaya.triage.selectors import report_triage_summary


class ReportFileSerializer(serializers.ModelSerializer):
    pdq = serializers.SerializerMethodField()
    pdq_quality = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    matches = serializers.SerializerMethodField()

    class Meta:
        model = ReportFile
        fields = [
            "file_id", "md5", "sha1", "sha256", "size", "pdq", "pdq_quality", "status", "matches",
            "uploaded_at", "original_file_name", "file_viewed_by_esp", "exif_viewed_by_esp", "publicly_available",
            "relevance", "industry_classification", "annotations",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_pdq(self, obj: ReportFile) -> str | None:
        return file_media_summary(obj)["pdq"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_pdq_quality(self, obj: ReportFile) -> int | None:
        return file_media_summary(obj)["pdq_quality"]

    @extend_schema_field(serializers.ChoiceField(choices=["known", "new", "viral", "benign", "pending"]))
    def get_status(self, obj: ReportFile) -> str:
        return file_media_summary(obj)["status"]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_matches(self, obj: ReportFile) -> list[dict[str, Any]]:
        return file_media_summary(obj)["matches"]


class PartySerializer(serializers.ModelSerializer):
    identifiers = serializers.SerializerMethodField()

    class Meta:
        model = Party
        fields = ["role", "position", "first_name", "middle_name", "last_name", "age", "date_of_birth", "esp_identifier",
                  "esp_service", "screen_name", "platform", "account_type", "identifiers"]

    # Who the person is: only for roles the one table allows (Action.VIEW_IDENTITY; never the auditor).
    IDENTITY_FIELDS = ("first_name", "middle_name", "last_name", "date_of_birth")

    def to_representation(self, instance: Party) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not allowed(request.user, Action.VIEW_IDENTITY, Kind.REPORT):
            from himaya.reports.presentation import IDENTITY_HIDDEN

            for name in self.IDENTITY_FIELDS:
                if data.get(name):
                    data[name] = str(IDENTITY_HIDDEN)
        return data

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_identifiers(self, obj: Party) -> list[dict[str, str]]:
        return [{"kind": i.kind, "value": i.value, "qualifier": i.qualifier} for i in obj.identifiers.all()]


class ReportListSerializer(serializers.ModelSerializer):
    source = serializers.CharField()

    class Meta:
        model = Report
        fields = ["id", "status", "source", "incident_type", "incident_at", "platform", "escalation", "annotations",
                  "batched_reason", "opened_at", "finished_at"]


class ReportDetailSerializer(ReportListSerializer):
    files = ReportFileSerializer(many=True, read_only=True)
    parties = PartySerializer(many=True, read_only=True)
    raw_sha256 = serializers.CharField()
    reporter = serializers.SerializerMethodField()
    incident_details = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField()

    class Meta(ReportListSerializer.Meta):
        fields = ReportListSerializer.Meta.fields + ["reporter", "raw_sha256", "incident_details", "parties", "files", "case"]

    def to_representation(self, instance: Report) -> dict[str, Any]:
        data = super().to_representation(instance)
        data.update(report_triage_summary(instance))  # priority, score, reasons, classification, jurisdiction, cluster, linked_reports
        return data

    @extend_schema_field(serializers.IntegerField(allow_null=True, help_text="the id of the case the report is in"))
    def get_case(self, obj: Report) -> int | None:
        link = getattr(obj, "case_link", None)  # himaya.cases.CaseReport; a report is in at most one case
        return link.case_id if link is not None else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_reporter(self, obj: Report) -> str | None:
        return obj.reporter.username if obj.reporter_id else None

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_incident_details(self, obj: Report) -> list[dict[str, Any]]:
        return [{"kind": d.kind, "content": d.content, "additional_info": d.additional_info, "fields": d.fields} for d in obj.incident_details.all()]
