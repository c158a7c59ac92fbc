"""Free a throttled VM's network again (a new month, or staff lifted the limit:
apps.traffic.services.lift_traffic_limit)."""

from django.utils.translation import gettext_noop

from apps.hosts.hypervisor import hypervisor_for

FREE = gettext_noop("Remove the network bandwidth limit")
STEPS = [FREE]


def run(ctx, vm):
    with ctx.step(FREE):
        hypervisor_for(vm.host).set_interface_bandwidth(vm.domain_name, vm.mac_address, 0)
        ctx.note("no limit")
