"""The one door from Django code to a host's hypervisor driver.

Inside a job (the job runner sets the outage reporter of `apps.virt.outage`), driver calls
wait out a lost connection for `VMM_HOST_OUTAGE_WINDOW` seconds (docs/outages.md).
Everywhere else (web requests, the watcher, the statistics collector) they fail at once:
those must say what is true now, not hang for a minute."""

from django.conf import settings

from apps.virt import outage
from apps.virt.driver import Hypervisor


def hypervisor_for(host, *, outage_window=None):
    """The driver for `host` (its connection is shared within this process)."""
    if outage_window is None:
        outage_window = settings.VMM_HOST_OUTAGE_WINDOW if outage.reporting() else 0
    return Hypervisor(host.uri, outage_window=outage_window, host_name=host.name)
