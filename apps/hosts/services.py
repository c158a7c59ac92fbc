import logging

from django.utils import timezone

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.virt.errors import VirtError

logger = logging.getLogger("vmmanager.hosts")


def refresh_host(host):
    """Connect to `host`, make sure its storage pool exists, read its capacity and set
    its status. A host in maintenance keeps that status. Returns the host; never raises
    for the host's own trouble (that becomes status `unreachable` with the reason)."""
    try:
        driver = hypervisor_for(host)
        info = driver.host_info()
        pool = driver.ensure_pool(host.storage_pool, host.storage_path)
    except VirtError as exc:
        logger.warning("host %s unreachable: %s", host.name, exc)
        fields = {"status_reason": str(exc)}
        if host.status != HostStatus.MAINTENANCE:
            fields["status"] = HostStatus.UNREACHABLE
        Host.objects.filter(pk=host.pk).update(**fields)
        host.refresh_from_db()
        return host
    fields = {
        "cpus": info.cpus,
        "memory_mb": info.memory_mb,
        "disk_bytes": pool.capacity_bytes,
        "disk_free_bytes": pool.available_bytes,
        "hostname": info.hostname,
        "libvirt_version": info.libvirt_version,
        "last_seen_at": timezone.now(),
        "status_reason": "",
    }
    if host.status != HostStatus.MAINTENANCE:
        fields["status"] = HostStatus.ONLINE
    Host.objects.filter(pk=host.pk).update(**fields)
    host.refresh_from_db()
    return host
