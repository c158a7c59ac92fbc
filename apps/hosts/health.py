"""Noticing a lost host: the driver calls `connection_lost` from its event-loop thread when a
host's libvirt connection closes (keepalive timeout, daemon gone)."""

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
