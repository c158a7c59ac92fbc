"""/api/v1/hosts/: hypervisor hosts, for staff only. Adding, changing and re-checking a host
go through apps.hosts.services (the web UI's pages call the same functions): adding one
starts a `host_refresh` job to read its capacity, as `refresh/` does for an existing one."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.api.base import ApiViewSet, JobLinkSerializer, JobStartedSerializer, accepted, job_link
from apps.api.fields import StrictBooleanField, StrictCharField, StrictIntegerField, StrictModelSerializer
from apps.api.idempotency import idempotent
from apps.api.permissions import IsStaff
from apps.api.resources.vm_inputs import MAX_ID
from apps.hosts import services
from apps.hosts.filtersets import HostFilterSet
from apps.hosts.models import URI_PATTERN, Host
from apps.vms.evacuation import evacuate_host
from apps.vms.placement import RESOURCES, allocations, capacity

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
    "strays",
]


class StraySerializer(serializers.Serializer):
    """What the last reconciliation found on the host and did not remove (apps.vms.strays)."""

    kind = serializers.ChoiceField(choices=["domain", "volume"])
    name = serializers.CharField()
    state = serializers.CharField(allow_blank=True, allow_null=True)
    why = serializers.CharField()
    action = serializers.CharField()


@extend_schema_field({"type": "string", "pattern": URI_PATTERN.pattern, "maxLength": 255})
class UriField(StrictCharField):
    """The schema states the form of a libvirt URI; the model's clean() checks it."""


@extend_schema_field({"type": "string", "pattern": "^/", "maxLength": 255})
class AbsolutePathField(StrictCharField):
    """The schema states that the path is absolute; the model's clean() checks it."""


class ClusterIdField(StrictIntegerField):
    """A cluster's id (the service says whether there is one); read from the host's own
    column, not by fetching its cluster (one query per host in a list)."""

    def get_attribute(self, instance):
        return instance.cluster_id


class ResourcesSerializer(serializers.Serializer):
    vcpus = serializers.IntegerField()
    memory_mb = serializers.IntegerField()
    disk_gb = serializers.IntegerField()


class HostListSerializer(serializers.ListSerializer):
    """A page of hosts: their allocations read for the whole page at once."""

    def to_representation(self, data):
        hosts = list(data.all() if hasattr(data, "all") else data)
        self.child.allocations = allocations(hosts)
        return super().to_representation(hosts)


class HostSerializer(StrictModelSerializer):
    """Parses a host's settings (JSON types exactly as the schema says); whether they are
    acceptable (URI, storage path, a name or URI already taken, the setup of its cluster) is
    for apps.hosts.services."""

    uri = UriField(max_length=255)
    cluster = ClusterIdField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Its cluster's id (left out when adding: the default cluster). Its hosts share "
        "virtualization type, network and storage path.",
    )
    storage_path = AbsolutePathField(max_length=255, required=False)
    strays = StraySerializer(many=True, read_only=True)
    capacity = serializers.SerializerMethodField(
        help_text="What placement may hand out: what the host reported times the overcommit ratios."
    )
    allocation = serializers.SerializerMethodField(
        help_text="What the VMs placed on the host take, and those a migration or an evacuation is moving there."
    )
    vms = serializers.SerializerMethodField(help_text="VMs placed on the host.")
    incoming_vms = serializers.SerializerMethodField(help_text="VMs on their way to the host (counted in allocation).")
    standby_vms = serializers.SerializerMethodField(
        help_text="Warm pool standbys placed on the host, held for orders (counted in vms and allocation)."
    )

    class Meta:
        model = Host
        fields = ["id", "name", "uri", "domain_type", "storage_pool", "storage_path", "network", "vnc_listen"]
        fields += ["cluster"]
        fields += READ_ONLY + ["capacity", "allocation", "vms", "incoming_vms", "standby_vms"]
        read_only_fields = READ_ONLY
        list_serializer_class = HostListSerializer
        # No unique validators here: the service reports a taken name or URI, the same
        # way to both doors, and also when two adds race.
        extra_kwargs = {"name": {"min_length": 1, "validators": []}}

    def _totals(self, host):
        known = getattr(self, "allocations", None)
        if known is None or host.pk not in known:
            known = self.allocations = allocations([host])
        return known[host.pk]

    @extend_schema_field(ResourcesSerializer)
    def get_capacity(self, host):
        return capacity(host)

    @extend_schema_field(ResourcesSerializer)
    def get_allocation(self, host):
        totals = self._totals(host)
        return {name: totals[name] for name in RESOURCES}

    @extend_schema_field(OpenApiTypes.INT)
    def get_vms(self, host):
        return self._totals(host)["vms"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_incoming_vms(self, host):
        return self._totals(host)["incoming"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_standby_vms(self, host):
        return self._totals(host)["standbys"]


HostWithJob = inline_serializer("HostWithJob", {"host": HostSerializer(), "job": JobLinkSerializer()})
HostMaybeJob = inline_serializer("HostMaybeJob", {"host": HostSerializer(), "job": JobLinkSerializer(allow_null=True)})


class MaintenanceSerializer(serializers.Serializer):
    """Maintenance on or off (docs/migration.md)."""

    on = StrictBooleanField(help_text="true: the host takes no new VMs; false: back in service (checked again).")


class HostViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    ApiViewSet,
):
    """Hosts: list, read, add (starts host_refresh), change settings, check again."""

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
        host, job = services.add_host(request.user, request_id=self.request_id, **serializer.validated_data)
        body = {"host": HostSerializer(host, context=self.get_serializer_context()).data, "job": job_link(request, job)}
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        host = self.get_object()
        serializer = self.get_serializer(host, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        host = services.update_host(request.user, host, **serializer.validated_data)
        return Response(HostSerializer(host, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={202: JobStartedSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def refresh(self, request, pk=None):
        """Check the host again (connection, guest type, network, storage pool, capacity):
        202 with the host_refresh job."""
        job = services.refresh_host_now(request.user, self.get_object(), request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=MaintenanceSerializer, responses={200: HostMaybeJob, 202: HostMaybeJob})
    @action(detail=True, methods=["post"])
    @idempotent
    def maintenance(self, request, pk=None):
        """Put the host into maintenance (`on: true`: it takes no new VMs, be it orders,
        recoveries or migrations) or take it out (`on: false`: 202 with the host_refresh job
        that checks it again). docs/migration.md."""
        serializer = MaintenanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        host, job = services.set_maintenance(
            request.user, self.get_object(), serializer.validated_data["on"], request_id=self.request_id
        )
        body = {"host": HostSerializer(host, context=self.get_serializer_context()).data, "job": None}
        if job is None:
            return Response(body)
        return accepted(request, job, host=body["host"])

    @extend_schema(request=None, responses={202: JobStartedSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def evacuate(self, request, pk=None):
        """Empty the host (it must be in maintenance): 202 with the host_evacuate job, which
        moves its stopped VMs to other hosts one by one and lists those that stay, with the
        reason (docs/migration.md)."""
        job = evacuate_host(request.user, self.get_object(), request_id=self.request_id)
        return accepted(request, job)
