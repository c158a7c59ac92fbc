"""/api/v1/hosts/: hypervisor hosts, for staff only. Creating one validates it
(apps.hosts.services.add_host) and starts a `host_refresh` job to read its capacity."""

from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from apps.api.base import ApiViewSet, job_link
from apps.api.fields import StrictCharField, StrictModelSerializer
from apps.api.idempotency import idempotent
from apps.api.permissions import IsStaff
from apps.hosts.models import URI_PATTERN, Host
from apps.hosts.services import add_host, update_host
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


@extend_schema_field({"type": "string", "pattern": URI_PATTERN.pattern, "maxLength": 255})
class UriField(StrictCharField):
    """The schema states the form of a libvirt URI; the model's clean() checks it."""


@extend_schema_field({"type": "string", "pattern": "^/", "maxLength": 255})
class AbsolutePathField(StrictCharField):
    """The schema states that the path is absolute; the model's clean() checks it."""


class HostSerializer(StrictModelSerializer):
    uri = UriField(max_length=255)
    storage_path = AbsolutePathField(max_length=255, required=False)

    class Meta:
        model = Host
        fields = ["id", "name", "uri", "domain_type", "storage_pool", "storage_path", "network"] + READ_ONLY
        read_only_fields = READ_ONLY
        # The shape only: whether a name or URI is free is the service's to say (by the write).
        extra_kwargs = {"name": {"min_length": 1, "validators": []}}

    def create(self, validated_data):
        return add_host(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return update_host(actor=self.context["request"].user, host=instance, **validated_data)


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
    filterset_fields = ["status", "domain_type"]
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
