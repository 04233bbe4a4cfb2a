"""`GET /api/v1/reports/{id}/partner-matches/`: the report's identifiers that
partner units also hold, with their evidence (SPEC §3.8, §4.3). A report of
another unit answers 404, as every report read does."""
from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from himaya.accounts.permissions import Action, get_for
from himaya.exchange.matching_selectors import partner_matches_of_report
from himaya.reports.models import Report


class PartnerMatchOut(serializers.Serializer):
    partner = serializers.CharField(source="partner.name", help_text="the partner unit's registered name")
    country = serializers.CharField(source="partner.country", help_text="ISO 3166-1 alpha-2")
    kind = serializers.CharField(help_text='as in linked_reports[].via: "email", "phone", "esp_id", "screen_name", "device", "file_hash"')
    value = serializers.CharField(source="display", help_text="the identifier as this unit holds it (normalised)")
    matched_at = serializers.DateTimeField(help_text="when the match session ended")
    session = serializers.IntegerField(source="session_id")


class _Error(serializers.Serializer):
    detail = serializers.CharField()


class ReportPartnerMatchesView(APIView):
    @extend_schema(operation_id="reports_partner_matches", responses={
        200: PartnerMatchOut(many=True),
        403: OpenApiResponse(_Error, description="the caller's role may not read reports"),
        404: OpenApiResponse(_Error, description="no such report for the caller (another unit's reports included)"),
    })
    def get(self, request: Request, report_id: int) -> Response:
        report = get_for(Report.objects.only("id", "unit_id"), request.user, Action.VIEW, id=report_id)
        return Response(PartnerMatchOut(partner_matches_of_report(user=request.user, report=report), many=True).data)


urlpatterns = [
    path("reports/<id:report_id>/partner-matches/", ReportPartnerMatchesView.as_view(), name="api-report-partner-matches"),
]
