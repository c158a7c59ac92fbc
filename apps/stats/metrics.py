"""``GET /metrics``: current values in Prometheus' text format, for providers who already
run Prometheus. Reads only the database (the newest raw rows, see ``series.latest``).

Protected by a bearer token: ``Authorization: Bearer $VMM_METRICS_TOKEN``. With the
variable unset the endpoint is off (404): per-VM figures of every customer are not
something to publish by default. A missing or wrong token is 401.

Series (gauges; labels ``vm`` = VM UUID, ``vm_id``, ``host`` = host name):
``vmm_vm_<metric>`` and ``vmm_host_<metric>`` for every metric column, plus
``vmm_host_sample_timestamp_seconds`` (when the host was last swept).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from apps.hosts.models import Host
from apps.stats.models import METRICS
from apps.stats.series import latest
from apps.vms.models import VirtualMachine

# metric column -> (Prometheus name suffix, help)
NAMES = {
    "cpu_pct": ("cpu_percent", "CPU use in percent (VM: of its vCPUs; host: of all CPUs)"),
    "memory_used_bytes": ("memory_used_bytes", "Memory in use"),
    "memory_total_bytes": ("memory_total_bytes", "Memory available"),
    "disk_read_bps": ("disk_read_bytes_per_second", "Disk read rate"),
    "disk_write_bps": ("disk_write_bytes_per_second", "Disk write rate"),
    "disk_read_iops": ("disk_read_requests_per_second", "Disk read requests per second"),
    "disk_write_iops": ("disk_write_requests_per_second", "Disk write requests per second"),
    "net_rx_bps": ("network_receive_bytes_per_second", "Network receive rate"),
    "net_tx_bps": ("network_transmit_bytes_per_second", "Network transmit rate"),
    "net_rx_pps": ("network_receive_packets_per_second", "Network packets received per second"),
    "net_tx_pps": ("network_transmit_packets_per_second", "Network packets sent per second"),
}
assert set(NAMES) == set(METRICS)


class _Current:
    """A prometheus_client collector over one snapshot of the newest rows."""

    def __init__(self, vms: dict, hosts: dict) -> None:
        self.vms, self.hosts = vms, hosts
        self.host_names = dict(Host.objects.values_list("id", "name"))
        self.vm_uuids = {
            pk: str(uuid) for pk, uuid in VirtualMachine.objects.filter(pk__in=list(vms)).values_list("id", "uuid")
        }

    def collect(self):
        for metric in METRICS:
            suffix, text = NAMES[metric]
            vm_family = GaugeMetricFamily(f"vmm_vm_{suffix}", text, labels=["vm", "vm_id", "host"])
            for vm_id, row in sorted(self.vms.items()):
                if row[metric] is not None and vm_id in self.vm_uuids:
                    host = self.host_names.get(row["host_id"], str(row["host_id"]))
                    vm_family.add_metric([self.vm_uuids[vm_id], str(vm_id), host], row[metric])
            yield vm_family
            host_family = GaugeMetricFamily(f"vmm_host_{suffix}", text, labels=["host"])
            for host_id, row in sorted(self.hosts.items()):
                if row[metric] is not None:
                    host_family.add_metric([self.host_names.get(host_id, str(host_id))], row[metric])
            yield host_family
        stamp = GaugeMetricFamily(
            "vmm_host_sample_timestamp_seconds", "When the host's newest sample was taken", labels=["host"]
        )
        for host_id, row in sorted(self.hosts.items()):
            stamp.add_metric([self.host_names.get(host_id, str(host_id))], row["at"].timestamp())
        yield stamp


def _authorized(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = settings.VMM_METRICS_TOKEN.encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


@require_GET
def metrics(request):
    if not settings.VMM_METRICS_TOKEN:
        body = "Not found (set VMM_METRICS_TOKEN to turn /metrics on).\n"
        return HttpResponse(body, status=404, content_type="text/plain")
    if not _authorized(request):
        response = HttpResponse("A valid bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # Rows older than two intervals (plus slack for a slow sweep) are no longer current.
    vms, hosts = latest(2.5 * settings.VMM_STATS_INTERVAL, timezone.now())
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Current(vms, hosts))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
