"""Triage fields and filters for the reports API (SPEC §4.3)."""
from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from himaya.core.openapi import BooleanFilter, IntegerFilter
from himaya.core.report_extras import report_extras
from himaya.reports.api.serializers import ReportListSerializer
from himaya.triage.rules import TIERS


class _RowsWithExtras(serializers.ListSerializer):
    """Asks the later apps about the whole page at once (himaya.core.report_extras)."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if hasattr(data, "all") else data)
        self._context["report_extras"] = report_extras([obj.id for obj in items])
        return super().to_representation(items)


class TriageListSerializer(ReportListSerializer):
    """The list rows with what the queue orders and filters on, and the report's case
    (`case`: the case's id or null, as in the detail; `case_assignees`; `case_due`:
    the earliest open task's due time, else the case's deadline)."""

    priority = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()
    cluster = serializers.SerializerMethodField()
    jurisdiction = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    case = serializers.SerializerMethodField()
    case_assignees = serializers.SerializerMethodField()
    case_due = serializers.SerializerMethodField()

    class Meta(ReportListSerializer.Meta):
        fields = ReportListSerializer.Meta.fields + ["priority", "score", "cluster", "jurisdiction", "overdue", "case", "case_assignees",
                                                     "case_due"]
        list_serializer_class = _RowsWithExtras

    def _case(self, obj: Any) -> dict[str, Any] | None:
        extras = self.context.get("report_extras")
        if extras is None:  # one row serialised on its own
            extras = report_extras([obj.id])
        return (extras.get(obj.id) or {}).get("case")

    @extend_schema_field(serializers.IntegerField(allow_null=True, help_text="the id of the case the report is in"))
    def get_case(self, obj: Any) -> int | None:
        case = self._case(obj)
        return case["id"] if case else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_case_assignees(self, obj: Any) -> list[str]:
        case = self._case(obj)
        return case["assignees"] if case else []

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="YYYY-MM-DD, or YYYY-MM-DD HH:MM (local time) for a deadline to the minute"))
    def get_case_due(self, obj: Any) -> str | None:
        case = self._case(obj)
        return case["due"] if case else None

    @staticmethod
    def _t(obj: Any) -> Any:
        return getattr(obj, "triage", None) if hasattr(obj, "triage") else None

    @extend_schema_field(serializers.ChoiceField(choices=list(TIERS), allow_null=True))
    def get_priority(self, obj: Any) -> str | None:
        t = self._t(obj)
        return t.effective_priority if t else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_score(self, obj: Any) -> int | None:
        t = self._t(obj)
        return t.score if t else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_cluster(self, obj: Any) -> int | None:
        link = getattr(obj, "linkage", None) if hasattr(obj, "linkage") else None
        return link.unit_cluster_id if link else None

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_jurisdiction(self, obj: Any) -> dict[str, Any] | None:
        link = getattr(obj, "linkage", None) if hasattr(obj, "linkage") else None
        return {"country": link.country or None, "region": link.region or None, "decision": link.decision} if link else None

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, obj: Any) -> bool:
        t = self._t(obj)
        return bool(t and t.reviewed_at is None and t.due_at < timezone.now())


class TriageFilterMixin(django_filters.FilterSet):
    priority = django_filters.MultipleChoiceFilter(field_name="triage__effective_priority", choices=[(t, t) for t in TIERS])
    min_score = IntegerFilter(field_name="triage__score", lookup_expr="gte")
    cluster = IntegerFilter(field_name="linkage__unit_cluster_id")
    jurisdiction = django_filters.ChoiceFilter(field_name="linkage__decision", choices=[(d, d) for d in ("ours", "foreign", "unknown")])
    country = django_filters.CharFilter(field_name="linkage__country", lookup_expr="iexact")
    overdue = BooleanFilter(method="filter_overdue")
    reviewed = BooleanFilter(field_name="triage__reviewed_at", lookup_expr="isnull", exclude=True)
    linked_to = IntegerFilter(method="filter_linked_to", help_text="reports linked to this report id")

    def filter_overdue(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        late = {"triage__reviewed_at__isnull": True, "triage__due_at__lt": timezone.now()}
        return qs.filter(**late) if value else qs.exclude(**late)

    def filter_linked_to(self, qs: QuerySet, name: str, value: int) -> QuerySet:
        from django.db.models import Q

        from himaya.linking.models import ReportLink

        # Only from a report this user may see: another unit's report id must not
        # answer "which of my reports are linked to it".
        if not self.queryset.filter(id=value).exists():
            return qs.none()
        ids = set()
        for lo, hi in ReportLink.objects.filter(Q(low_id=value) | Q(high_id=value)).values_list("low_id", "high_id"):
            ids.add(hi if lo == value else lo)
        return qs.filter(id__in=ids)
