"""The one door from Django code to a host's hypervisor driver."""

from apps.virt.driver import Hypervisor


def hypervisor_for(host):
    """The driver for `host` (its connection is shared within this process)."""
    return Hypervisor(host.uri)
