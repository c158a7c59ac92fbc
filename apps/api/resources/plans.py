"""/api/v1/plans/: named VM sizes. Everyone reads (active ones); staff manage."""

from rest_framework import serializers, viewsets

from apps.accounts.filtersets import PlanFilterSet
from apps.accounts.plans import Plan
from apps.accounts.tenancy import is_staff_user
from apps.api.base import ApiViewMixin
from apps.api.permissions import StaffWritesOthersRead
from apps.vms.create import LIMITS


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "name", "vcpus", "memory_mb", "disk_gb", "price_code", "is_active", "created_at"]
        extra_kwargs = {
            "name": {"min_length": 1},
            **{field: {"min_value": low, "max_value": high} for field, (low, high) in LIMITS.items()},
        }


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
