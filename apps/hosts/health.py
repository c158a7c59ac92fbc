"""Noticing a lost host: the driver calls `connection_lost` from its event-loop thread when a
host's libvirt connection closes (keepalive timeout, daemon gone); the host watcher calls
`mark_unreachable` when it finds out another way (a failed call). Bringing a host back
online is `apps.hosts.services.refresh_host` (the watcher retries it: docs/health.md)."""

import logging

from django.db import close_old_connections

from apps.hosts.models import Host, HostStatus

logger = logging.getLogger("vmmanager.hosts")


def connection_lost(uri, reason):
    """Mark the host at `uri` unreachable with the reason (maintenance stays maintenance)."""
    try:
        count = (
            Host.objects.filter(uri=uri)
            .exclude(status=HostStatus.MAINTENANCE)
            .update(status=HostStatus.UNREACHABLE, status_reason=f"Connection lost: {reason}")
        )
        if count:
            logger.warning("host %s: connection lost (%s)", uri, reason)
    finally:
        # This runs outside any request: do not keep the thread's database connection.
        close_old_connections()


def mark_unreachable(host_id, reason):
    """Mark host `host_id` unreachable with `reason`, the latest cause (maintenance stays
    maintenance)."""
    Host.objects.filter(pk=host_id).exclude(status=HostStatus.MAINTENANCE).update(
        status=HostStatus.UNREACHABLE, status_reason=reason
    )
