"""The host list's filters (API and UI): status and domain type."""

from apps.core.filtersets import BaseFilterSet
from apps.hosts.models import Host


class HostFilterSet(BaseFilterSet):
    class Meta:
        model = Host
        fields = ["status", "domain_type"]
