"""/api/v1/addresses/ and /api/v1/pools/: public addresses (docs/addresses.md).

Everyone lists the addresses of the VMs it sees (staff: every row of every pool) and sets
their reverse DNS name with PATCH; staff read the pools with their usage (403 for others). Search by address:
`?search=198.51.100.`. The rules: apps.ipam.selectors and apps.ipam.reverse_dns."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers

from apps.api.base import ApiViewSet
from apps.api.fields import StrictModelSerializer
from apps.api.permissions import IsStaff
from apps.ipam.filtersets import AddressFilterSet, PoolFilterSet
from apps.ipam.models import Address, Pool
from apps.ipam.pools import usage
from apps.ipam.reverse_dns import set_reverse_name
from apps.ipam.selectors import visible_addresses, visible_pools


class AddressSerializer(StrictModelSerializer):
    pool_name = serializers.CharField(source="pool.name", read_only=True)

    class Meta:
        model = Address
        fields = ["id", "address", "prefixlen", "pool", "pool_name", "vm", "reserved", "assigned_at", "reverse_name"]
        read_only_fields = ["address", "prefixlen", "pool", "vm", "reserved", "assigned_at"]
        extra_kwargs = {"reverse_name": {"allow_blank": True, "max_length": 254}}

    def update(self, instance, validated_data):
        return set_reverse_name(
            instance, validated_data.get("reverse_name", instance.reverse_name), actor=self.context["request"].user
        )


class PoolUsageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    used = serializers.IntegerField()
    reserved = serializers.IntegerField()
    cooling = serializers.IntegerField()
    free = serializers.IntegerField()


class PoolSerializer(StrictModelSerializer):
    network_name = serializers.CharField(source="network.name", read_only=True)
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Pool
        fields = ["id", "name", "network", "network_name", "subnet", "gateway", "dns_servers", "ranges"]
        fields += ["ipv6_mode", "usage"]
        read_only_fields = fields

    @extend_schema_field(PoolUsageSerializer)
    def get_usage(self, pool):
        return usage(pool)


class AddressViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ApiViewSet):
    """Public addresses; PATCH sets the reverse DNS name (empty: none)."""

    serializer_class = AddressSerializer
    filterset_class = AddressFilterSet
    search_fields = ["address", "reverse_name"]
    ordering_fields = ["address", "assigned_at"]
    ordering = "pk"  # the pools' order, then each pool's allocation order
    http_method_names = ["get", "patch", "head", "options"]

    queryset = Address.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return visible_addresses(self.request.user)


class PoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Address pools with their usage (staff only)."""

    serializer_class = PoolSerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    filterset_class = PoolFilterSet
    search_fields = ["name", "subnet"]
    ordering_fields = ["name"]
    ordering = "name"

    queryset = Pool.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return visible_pools(self.request.user)
