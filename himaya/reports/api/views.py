from __future__ import annotations

import django_filters
from rest_framework import mixins, viewsets

from himaya.core.openapi import BooleanFilter, DateTimeFilter
from himaya.reports.api.serializers import ReportDetailSerializer, ReportListSerializer
from himaya.reports.models import Report, ReportSource, ReportStatus
from himaya.reports.selectors import report_get_for_user, report_queryset_for_user
from himaya.triage.api import TriageFilterMixin, TriageListSerializer


class ReportFilter(TriageFilterMixin, django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices)
    source = django_filters.ChoiceFilter(choices=ReportSource.choices)
    incident_type = django_filters.CharFilter()
    platform = django_filters.CharFilter(lookup_expr="iexact")
    received_after = DateTimeFilter(field_name="finished_at", lookup_expr="gte")
    received_before = DateTimeFilter(field_name="finished_at", lookup_expr="lt")
    escalated = BooleanFilter(method="filter_escalated")
    identifier = django_filters.CharFilter(method="filter_identifier", help_text="reports naming this email, phone, IP, screen name, ... (exact, case-insensitive)")
    ordering = django_filters.ChoiceFilter(choices=[("priority", "priority")], method="filter_ordering",
                                           help_text="priority: the queue's order (tier, service target, age); newest first without it")

    class Meta:
        model = Report
        fields = ["status", "source", "incident_type", "platform", "priority", "cluster", "jurisdiction", "overdue"]

    def filter_escalated(self, qs, name, value):  # type: ignore[no-untyped-def]
        return qs.exclude(escalation="") if value else qs.filter(escalation="")

    def filter_identifier(self, qs, name, value):  # type: ignore[no-untyped-def]
        return qs.filter(identifiers__value__iexact=value.strip()).distinct()

    def filter_ordering(self, qs, name, value):  # type: ignore[no-untyped-def]
        return qs.order_by("triage__effective_priority", "triage__due_at", "finished_at", "id")


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reports of the caller's unit. Another unit's report answers 404."""

    filterset_class = ReportFilter
    lookup_value_regex = r"\d{1,18}"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        # Newest first; ordering=priority (ReportFilter) orders as the queue does.
        return report_queryset_for_user(self.request.user).select_related("triage", "linkage").order_by("-id")

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return ReportDetailSerializer if self.action == "retrieve" else TriageListSerializer

    def get_object(self) -> Report:
        return report_get_for_user(user=self.request.user, report_id=int(self.kwargs["pk"]))
