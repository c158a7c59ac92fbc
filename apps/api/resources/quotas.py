"""/api/v1/quotas/: limits per user, addressed by the user's id. Staff set anyone's
(resellers' included); a reseller sets its customers' within its own limits; everyone
reads the quotas of the users it sees. The rules: apps.accounts.services.quotas;
enforcement: apps.accounts.quotas."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.filtersets import QuotaFilterSet
from apps.accounts.quotas import Quota
from apps.accounts.services.quotas import LIMIT_MAX, check_may_set_quota, set_quota
from apps.accounts.tenancy import visible_users
from apps.api.base import ApiViewSet
from apps.api.fields import StrictModelSerializer
from apps.vms.quotas import usage

LIMIT_FIELDS = [
    "max_vms", "max_vcpus", "max_memory_mb", "max_disk_gb", "max_addresses", "max_snapshots", "max_backups",
    "max_backup_gb",
]  # fmt: skip


class QuotaSerializer(StrictModelSerializer):
    class Meta:
        model = Quota
        fields = ["user"] + LIMIT_FIELDS + ["updated_at"]
        read_only_fields = ["user", "updated_at"]
        extra_kwargs = {field: {"min_value": 0, "max_value": LIMIT_MAX} for field in LIMIT_FIELDS}
        # A user without a quota row has never had its limits set.
        extra_kwargs["updated_at"] = {"allow_null": True}


class UsageSerializer(serializers.Serializer):
    vms = serializers.IntegerField()
    vcpus = serializers.IntegerField()
    memory_mb = serializers.IntegerField()
    disk_gb = serializers.IntegerField()
    addresses = serializers.IntegerField()
    snapshots = serializers.IntegerField()
    backups = serializers.IntegerField()
    backup_gb = serializers.IntegerField(help_text="GiB the backups added to their repositories, rounded up.")


class QuotaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Quotas (empty limit: none). PUT sets all seven limits of a user, creating the row."""

    serializer_class = QuotaSerializer
    lookup_field = "user"
    lookup_value_regex = r"[0-9]+"
    filterset_class = QuotaFilterSet
    ordering_fields = ["user"]
    ordering = "user"

    queryset = Quota.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return Quota.objects.filter(user__in=visible_users(self.request.user))

    @extend_schema(request=QuotaSerializer, responses={200: QuotaSerializer})
    def update(self, request, user=None):
        target = get_object_or_404(visible_users(request.user), pk=user)
        check_may_set_quota(request.user, target)
        serializer = QuotaSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        limits = {field: serializer.validated_data.get(field) for field in LIMIT_FIELDS}
        return Response(QuotaSerializer(set_quota(actor=request.user, user=target, **limits)).data)

    def retrieve(self, request, user=None):
        """A user's quota; a user without one has no limits (all empty)."""
        target = get_object_or_404(visible_users(request.user), pk=user)
        quota = Quota.objects.filter(user=target).first() or Quota(user=target)
        return Response(QuotaSerializer(quota).data)

    @extend_schema(responses={200: UsageSerializer})
    @action(detail=True, methods=["get"])
    def usage(self, request, user=None):
        """What the user holds now (a reseller: with its customers)."""
        target = get_object_or_404(visible_users(request.user), pk=user)
        return Response(UsageSerializer(usage(target)).data)
