"""Make a host carry one of the panel's networks (apps.ipam.host_networks): define the
libvirt network from the network's kind and pools unless the host has one of that name
(kept as it is), start it unless it runs, and have libvirt start it at boot. Safe to run
again. The runner checks the host afterwards (apps.hosts: a network it should carry and does
not run is named in its status)."""

from apps.hosts.hypervisor import hypervisor_for
from apps.ipam.host_networks import check_setup
from apps.ipam.models import Network
from apps.jobs.runner import OperationError
from apps.virt.network_xml import build_network_xml

DEFINE = "Define the network"
START = "Start it, and at every boot"
STEPS = [DEFINE, START]


def run(ctx, host, network_id):
    network = Network.objects.filter(pk=network_id).first()
    if network is None:
        raise OperationError("the network was deleted")
    driver = hypervisor_for(host)
    with ctx.step(DEFINE):
        # Again: the network may have changed since the job was asked for (the runner
        # reports a ValidationError's messages).
        network, host, spec = check_setup(network, host)
        if driver.define_network(spec):
            ctx.note(f"defined {spec.name}: {build_network_xml(spec)}")
        else:
            ctx.note(f"{spec.name} is there already: kept as it is")
    with ctx.step(START):
        started = driver.start_network(spec.name)
        state = driver.network_state(spec.name)
        bridge = f" on bridge {state.bridge}" if state.bridge else ""
        ctx.note(f"{spec.name} {'started' if started else 'was running'}{bridge}; libvirt starts it at boot")
