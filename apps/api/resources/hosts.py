"""/api/v1/hosts/: hypervisor hosts, for staff only. Creating one validates it like the
admin does (model full_clean) and starts a `host_refresh` job to read its capacity."""

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.api.base import ApiViewSet, job_link
from apps.api.idempotency import idempotent
from apps.api.permissions import IsStaff
from apps.hosts.filtersets import HostFilterSet
from apps.hosts.models import Host
from apps.jobs import runner

READ_ONLY = [
    "status",
    "status_reason",
    "cpus",
    "memory_mb",
    "disk_bytes",
    "disk_free_bytes",
    "hostname",
    "libvirt_version",
    "last_seen_at",
    "created_at",
    "updated_at",
]


class HostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Host
        fields = ["id", "name", "uri", "domain_type", "storage_pool", "storage_path", "network"] + READ_ONLY
        read_only_fields = READ_ONLY
        extra_kwargs = {"name": {"min_length": 1}, "uri": {"min_length": 1}}

    def validate(self, attrs):
        host = Host(**{**self._current(), **attrs})
        host.full_clean(validate_unique=False)
        return attrs

    def _current(self):
        if self.instance is None:
            return {}
        return {field.name: getattr(self.instance, field.name) for field in Host._meta.concrete_fields}


HostWithJob = inline_serializer("HostWithJob", {"host": HostSerializer(), "job": serializers.DictField()})


class HostViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    ApiViewSet,
):
    """Hosts: list, read, add (starts host_refresh), change settings."""

    queryset = Host.objects.all()
    serializer_class = HostSerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    filterset_class = HostFilterSet
    search_fields = ["name", "uri", "hostname"]
    ordering_fields = ["name", "created_at", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(responses={201: HostWithJob})
    @idempotent
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            host = serializer.save()
            job = runner.submit("host_refresh", host, actor=request.user, request_id=self.request_id)
        body = {"host": HostSerializer(host, context=self.get_serializer_context()).data, "job": job_link(request, job)}
        return Response(body, status=status.HTTP_201_CREATED)
