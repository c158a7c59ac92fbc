"""/api/v1/audit/: the audit log (django-auditlog), for staff. Filter by actor, model,
object, action, request id (`cid`) and time; search the object's name and changes."""

import django_filters
from auditlog.models import LogEntry
from rest_framework import mixins, serializers

from apps.api.base import ApiViewSet
from apps.api.permissions import IsStaff
from apps.core.filtersets import BaseFilterSet, DateTimeFilter


class LogEntrySerializer(serializers.ModelSerializer):
    model = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()
    request_id = serializers.CharField(source="cid", allow_null=True)

    class Meta:
        model = LogEntry
        fields = [
            "id", "timestamp", "actor", "model", "object_pk", "object_repr", "action", "changes", "request_id",
            "remote_addr",
        ]  # fmt: skip
        read_only_fields = fields

    def get_model(self, entry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    def get_action(self, entry) -> str:
        return {0: "create", 1: "update", 2: "delete", 3: "access"}.get(entry.action, str(entry.action))


class LogEntryFilter(BaseFilterSet):
    model = django_filters.CharFilter(method="filter_model", label="app_label.model, e.g. vms.virtualmachine")
    request_id = django_filters.CharFilter(field_name="cid")
    since = DateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = DateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = LogEntry
        fields = ["actor", "action", "object_pk", "request_id", "model", "since", "until"]

    def filter_model(self, queryset, name, value):
        app_label, _, model = value.lower().partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = LogEntrySerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    filterset_class = LogEntryFilter
    search_fields = ["object_repr", "changes_text"]
    ordering_fields = ["timestamp", "id"]

    queryset = LogEntry.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return LogEntry.objects.select_related("content_type")
