"""Hold a VM's network to its plan's rate after it passed its monthly traffic limit
(apps.traffic.enforcement started it): libvirt <bandwidth> on its interface, both ways,
live and in its definition (docs/traffic.md)."""

from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.hosts.hypervisor import hypervisor_for
from apps.traffic.models import TrafficPeriod

LIMIT = gettext_noop("Limit the network bandwidth")
STEPS = [LIMIT]


def kib_per_s(mbit):
    """libvirt's unit (KiB/s) for `mbit` Mbit/s."""
    return max(1, round(mbit * 1_000_000 / 8 / 1024))


def run(ctx, vm, mbit=10):
    with ctx.step(LIMIT):
        live = hypervisor_for(vm.host).set_interface_bandwidth(vm.domain_name, vm.mac_address, kib_per_s(mbit))
        ctx.note(f"{mbit} Mbit/s each way" + ("" if live else " (from its next start)"))


def on_failure(ctx, vm):
    """The host could not do it (e.g. its kernel lacks tc's modules): the VM's limit says so
    (state "failed") and is not tried again this month; lifting it needs no job."""
    TrafficPeriod.objects.filter(
        vm=vm, action="throttle", applied_at__isnull=False, lifted_at__isnull=True, failed_at__isnull=True
    ).update(failed_at=timezone.now())
