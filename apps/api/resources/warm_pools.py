"""/api/v1/warm-pools/: warm pools (docs/warm-pool.md), for staff only: standby VMs of an
image kept running on a host ahead of orders. The rules: apps.vms.warm_pool (the UI's warm
pools page calls the same)."""

from rest_framework import mixins, serializers

from apps.api.base import ApiViewSet
from apps.api.fields import MAX_ID, StrictIntegerField, StrictModelSerializer
from apps.api.permissions import IsStaff
from apps.vms import warm_pool
from apps.vms.models import WarmPool

SIZES = {field: {"min_value": low, "max_value": high} for field, (low, high) in warm_pool.FIELDS.items()}


class WarmPoolSerializer(StrictModelSerializer):
    image = StrictIntegerField(source="image_id", min_value=1, max_value=MAX_ID, help_text="The image, by id.")
    host = StrictIntegerField(source="host_id", min_value=1, max_value=MAX_ID, help_text="The host, by id.")
    ready = serializers.SerializerMethodField(help_text="Standbys running and ready for an order.")
    deploying = serializers.SerializerMethodField(help_text="Standbys being deployed.")

    class Meta:
        model = WarmPool
        fields = ["id", "image", "host", "size", "max_vcpus", "max_memory_mb", "disk_gb", "ready", "deploying",
                  "created_at"]  # fmt: skip
        extra_kwargs = {field: {**limits, "required": False} for field, limits in SIZES.items()}

    def get_ready(self, pool) -> int:
        return warm_pool.ready_standbys(pool).count()

    def get_deploying(self, pool) -> int:
        return pool.standbys.filter(status="creating").count()

    def validate(self, attrs):
        if self.instance is not None and ({"image_id", "host_id"} & set(attrs)):
            field = "image" if "image_id" in attrs else "host"
            raise serializers.ValidationError({field: "A pool's image and host stay: delete it and make another."})
        return attrs

    def create(self, validated_data):
        image, host = validated_data.pop("image_id"), validated_data.pop("host_id")
        return warm_pool.save_pool(self.context["request"].user, image=image, host=host, **validated_data)

    def update(self, instance, validated_data):
        return warm_pool.save_pool(self.context["request"].user, pool=instance, **validated_data)


class WarmPoolViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """Warm pools: staff list, create, change (size and sizes) and delete them."""

    queryset = WarmPool.objects.select_related("image", "host").order_by("pk")
    serializer_class = WarmPoolSerializer
    permission_classes = ApiViewSet.permission_classes + [IsStaff]
    ordering_fields = ["created_at"]

    def perform_destroy(self, instance):
        warm_pool.delete_pool(self.request.user, instance)
