from apps.hosts.hypervisor import hypervisor_for
from apps.virt.domain_xml import with_console_devices, with_cpu
from apps.virt.types import DomainState
from apps.vms.consoles import vnc_password

STEPS = ["Start the VM"]


def run(ctx, vm):
    with ctx.step("Start the VM"):
        driver = hypervisor_for(vm.host)
        if driver.get_domain(vm.domain_name).state == DomainState.RUNNING:
            ctx.note("already running")
            return
        # A domain defined before the web consoles existed gains them now, and one whose host's
        # VNC listen address changed follows it (docs/console.md).
        persistent = driver.domain_xml(vm.domain_name, inactive=True)
        upgraded = with_console_devices(persistent, vnc_password(vm), vm.host.vnc_listen)
        if upgraded is not None:
            driver.define(upgraded)
            ctx.note("consoles brought up to date")
            persistent = upgraded
        # A VM defined before its cluster's baseline CPU was computed (or changed) takes it
        # now, so it can move to every host of the cluster (docs/clusters.md).
        baseline = vm.host.cluster.cpu_xml
        upgraded = with_cpu(persistent, baseline) if baseline else None
        if upgraded is not None:
            driver.define(upgraded)
            ctx.note(f"CPU set to the cluster's baseline ({vm.host.cluster.cpu_model})")
        driver.start(vm.domain_name)
