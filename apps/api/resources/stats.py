"""/api/v1/vms/{id}/stats/ (whoever may see the VM) and /api/v1/hosts/{id}/stats/ (staff):
CPU, memory, disk and network series over ``range`` = 1h | 24h | 7d | 30d | 1y.

Only the statistics tables are read (plus the VM or host, for tenancy). With no
collector running the answer is the same shape with empty columns; with the statistics
database unreachable it is 503, and nothing else in the API is affected.
"""

from django.db import DatabaseError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.base import ApiViewMixin
from apps.api.fields import QueryChoiceField
from apps.api.permissions import IsStaff
from apps.hosts.models import Host
from apps.stats.models import METRICS
from apps.stats.series import RANGES, series
from apps.vms.selectors import visible_vms


class RangeQuery(serializers.Serializer):
    range = QueryChoiceField(choices=list(RANGES), default="1h", help_text="How far back the series reach.")


def _numbers(help_text):
    return serializers.ListField(child=serializers.FloatField(allow_null=True), help_text=help_text)


HELP = {
    "cpu_pct": "CPU use in percent (of the VM's vCPUs; of all the host's CPUs)",
    "memory_used_bytes": "memory in use, bytes",
    "memory_total_bytes": "memory available to the VM (or host), bytes",
    "disk_read_bps": "disk read, bytes per second",
    "disk_write_bps": "disk write, bytes per second",
    "disk_read_iops": "disk read requests per second",
    "disk_write_iops": "disk write requests per second",
    "net_rx_bps": "network received, bytes per second",
    "net_tx_bps": "network sent, bytes per second",
    "net_rx_pps": "network packets received per second",
    "net_tx_pps": "network packets sent per second",
}
Columns = inline_serializer(
    "StatsColumns",
    {
        "t": serializers.ListField(child=serializers.IntegerField(), help_text="sample times, seconds since the epoch"),
        **{metric: _numbers(HELP[metric]) for metric in METRICS},
    },
)
StatsSeries = inline_serializer(
    "StatsSeries",
    {
        "range": serializers.CharField(),
        "tier": serializers.CharField(help_text="resolution read: raw, minute, hour or day"),
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "points": serializers.IntegerField(),
        "series": Columns,
    },
)


ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)


class _StatsView(ApiViewMixin, APIView):
    kind = ""

    def target_id(self, request, pk):  # pragma: no cover - overridden
        raise NotImplementedError

    def get(self, request, pk):
        target = self.target_id(request, pk)
        query = RangeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            body = series(self.kind, target, query.validated_data["range"], timezone.now())
        except DatabaseError:
            message = "Statistics are unavailable right now (their database does not answer)."
            body = {"errors": [{"field": None, "code": "stats_unavailable", "message": message}]}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(body)


def _pk(pk):
    return int(pk) if str(pk).isdigit() else None


class VmStatsView(_StatsView):
    """Series of one VM the caller may see (another tenant's VM is 404)."""

    kind = "vm"

    def target_id(self, request, pk):
        return get_object_or_404(visible_vms(request.user).only("id"), pk=_pk(pk)).pk

    @extend_schema(parameters=[ID, RangeQuery], responses={200: StatsSeries}, operation_id="vms_stats")
    def get(self, request, pk):
        return super().get(request, pk)


class HostStatsView(_StatsView):
    """Series of one host: its CPU and memory, and its VMs' disk and network summed. Staff only."""

    kind = "host"
    permission_classes = APIView.permission_classes + [IsStaff]

    def target_id(self, request, pk):
        return get_object_or_404(Host.objects.only("id"), pk=_pk(pk)).pk

    @extend_schema(parameters=[ID, RangeQuery], responses={200: StatsSeries}, operation_id="hosts_stats")
    def get(self, request, pk):
        return super().get(request, pk)
