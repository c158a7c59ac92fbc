"""The host list's filters (API and UI): status, domain type and cluster."""

from apps.core.filtersets import BaseFilterSet
from apps.hosts.models import Host


class HostFilterSet(BaseFilterSet):
    class Meta:
        model = Host
        fields = ["status", "domain_type", "cluster"]
