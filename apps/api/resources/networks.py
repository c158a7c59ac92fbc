"""/api/v1/networks/: the panel's networks (docs/addresses.md), for staff only: list, read,
and `setup/` to make a host that carries one have its libvirt network defined, running and
started at boot (apps.ipam.host_networks, the host page's Networks card calls the same)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action

from apps.api.base import ApiViewSet, JobStartedSerializer, accepted
from apps.api.fields import IdOrNameField, StrictModelSerializer
from apps.api.idempotency import idempotent
from apps.api.permissions import IsStaff
from apps.ipam import host_networks
from apps.ipam.models import Network


class NetworkSerializer(StrictModelSerializer):
    class Meta:
        model = Network
        fields = ["id", "name", "kind", "libvirt_network", "bridge", "hosts", "created_at"]
        read_only_fields = fields


class NetworkSetupSerializer(serializers.Serializer):
    host = IdOrNameField(help_text="A host that carries the network, by id or name.")


class NetworkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Networks guests are plugged into, with the hosts that carry them."""

    queryset = Network.objects.prefetch_related("hosts").order_by("name")
    serializer_class = NetworkSerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    search_fields = ["name", "libvirt_network", "bridge"]
    ordering_fields = ["name", "created_at"]

    @extend_schema(request=NetworkSetupSerializer, responses={202: JobStartedSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def setup(self, request, pk=None):
        """Make `host` carry the network: 202 with the host_network_setup job (defines the
        libvirt network unless the host has it, starts it, starts it at boot)."""
        network = self.get_object()
        data = NetworkSetupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = host_networks.set_up_on_host(
            request.user, network, data.validated_data["host"], request_id=self.request_id
        )
        return accepted(request, job)
