"""/api/v1/plans/: named VM sizes. Everyone reads (active ones); staff manage. The rules:
apps.accounts.services.plans."""

from rest_framework import viewsets

from apps.accounts.filtersets import PlanFilterSet
from apps.accounts.plans import BACKUP_TERMS, SIZES, TRAFFIC_LIMITS, Plan
from apps.accounts.services import plans as service
from apps.accounts.tenancy import is_staff_user
from apps.api.base import ApiViewMixin
from apps.api.fields import StrictModelSerializer
from apps.api.permissions import StaffWritesOthersRead


class PlanSerializer(StrictModelSerializer):
    class Meta:
        model = Plan
        fields = [
            "id", "name", "vcpus", "memory_mb", "disk_gb", "price_code", "is_active",
            "traffic_limit_gb", "traffic_action", "traffic_throttle_mbit", "backup_frequency", "backup_hour",
            "backup_weekday", "backup_keep_daily", "backup_keep_weekly", "created_at",
        ]  # fmt: skip
        extra_kwargs = {
            # The shape only: whether the name is free is the service's to say (by the insert).
            "name": {"min_length": 1, "validators": []},
            **{field: {"min_value": low, "max_value": high} for field, (low, high) in SIZES.items()},
            **{field: {"min_value": low, "max_value": high} for field, (low, high) in TRAFFIC_LIMITS.items()},
            **{field: {"min_value": low, "max_value": high} for field, (low, high) in BACKUP_TERMS.items()},
        }

    def create(self, validated_data):
        return service.create_plan(actor=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return service.update_plan(actor=self.context["request"].user, plan=instance, **validated_data)


class PlanViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Plans: staff create, change and delete; others see the active ones."""

    serializer_class = PlanSerializer
    permission_classes = viewsets.ModelViewSet.permission_classes + [StaffWritesOthersRead]
    filterset_class = PlanFilterSet
    search_fields = ["name", "price_code"]
    ordering_fields = ["name", "vcpus", "memory_mb", "disk_gb"]

    queryset = Plan.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        plans = Plan.objects.all()
        return plans if is_staff_user(self.request.user) else plans.filter(is_active=True)

    def perform_destroy(self, instance):
        service.delete_plan(actor=self.request.user, plan=instance)
