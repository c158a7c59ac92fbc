"""Noticing a lost host: the driver calls `connection_lost` from its event-loop thread when a
host's libvirt connection closes (keepalive timeout, daemon gone); the host watcher calls
`mark_unreachable` when it finds out another way (a failed call). Bringing a host back
online is `apps.hosts.services.refresh_host` (the watcher retries it: docs/health.md)."""

import logging

from django.db import close_old_connections
from django.utils import timezone

from apps.hosts.models import Host, HostStatus
from apps.hosts.signals import host_status_changed

logger = logging.getLogger("vmmanager.hosts")


def connection_lost(uri, reason):
    """Mark the host at `uri` unreachable with the reason (maintenance stays maintenance)."""
    try:
        count = _mark(Host.objects.filter(uri=uri), f"Connection lost: {reason}")
        if count:
            logger.warning("host %s: connection lost (%s)", uri, reason)
    finally:
        # This runs outside any request: do not keep the thread's database connection.
        close_old_connections()


def mark_unreachable(host_id, reason):
    """Mark host `host_id` unreachable with `reason`, the latest cause (maintenance stays
    maintenance)."""
    _mark(Host.objects.filter(pk=host_id), reason)


def _mark(hosts, reason):
    """Set `hosts` (but those in maintenance) unreachable with `reason`. `updated_at` says
    when a host was lost: it is stamped when an online host goes, not again while it stays
    lost, so placement can tell a host lost a moment ago (a libvirtd restart) from one
    lost for long (apps.vms.placement). Returns how many hosts changed."""
    hosts = hosts.exclude(status=HostStatus.MAINTENANCE)
    still_lost = hosts.filter(status=HostStatus.UNREACHABLE).update(status_reason=reason)
    going = list(hosts.exclude(status=HostStatus.UNREACHABLE).values_list("pk", flat=True))
    # The status checked again in the UPDATE: a host another process changed meanwhile is left.
    lost_now = (
        Host.objects.filter(pk__in=going)
        .exclude(status__in=(HostStatus.UNREACHABLE, HostStatus.MAINTENANCE))
        .update(status=HostStatus.UNREACHABLE, status_reason=reason, updated_at=timezone.now())
    )
    if lost_now:
        host_status_changed.send(sender=Host, host_ids=going)
    return still_lost + lost_now
