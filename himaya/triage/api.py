"""Triage fields and filters for the reports API (SPEC §4.3)."""
from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from himaya.core.openapi import BooleanFilter, IntegerFilter
from himaya.reports.api.serializers import ReportListSerializer
from himaya.triage.rules import TIERS


class TriageListSerializer(ReportListSerializer):
    """The list rows with what the queue orders and filters on."""

    priority = serializers.SerializerMethodField()
    score = serializers.SerializerMethodField()
    cluster = serializers.SerializerMethodField()
    jurisdiction = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta(ReportListSerializer.Meta):
        fields = ReportListSerializer.Meta.fields + ["priority", "score", "cluster", "jurisdiction", "overdue"]

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
