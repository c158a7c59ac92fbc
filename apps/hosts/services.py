import logging

from django.utils import timezone

from apps.hosts.checks import check_host, summary
from apps.hosts.models import Host, HostStatus

logger = logging.getLogger("vmmanager.hosts")


def refresh_host(host):
    """Check `host` (apps/hosts/checks.py: connect, guest type, network, storage pool, which
    is created if missing), read its capacity and set its status: online when nothing is
    missing, else unreachable with what is missing as the reason. A host in maintenance
    keeps that status. Returns the host; never raises for the host's own trouble."""
    result = check_host(host)
    reason = summary(result.findings)
    if result.error is not None:
        reason += f" (libvirt: {result.error})"
    fields = {"status_reason": reason}
    if result.info is not None:
        info = result.info
        fields.update(
            cpus=info.cpus,
            memory_mb=info.memory_mb,
            hostname=info.hostname,
            libvirt_version=info.libvirt_version,
            last_seen_at=timezone.now(),
        )
    if result.pool is not None:
        fields.update(disk_bytes=result.pool.capacity_bytes, disk_free_bytes=result.pool.available_bytes)
    if result.findings:
        logger.warning("host %s not usable: %s", host.name, fields["status_reason"])
    if host.status != HostStatus.MAINTENANCE:
        fields["status"] = HostStatus.UNREACHABLE if result.findings else HostStatus.ONLINE
    Host.objects.filter(pk=host.pk).update(**fields)
    host.refresh_from_db()
    return host
