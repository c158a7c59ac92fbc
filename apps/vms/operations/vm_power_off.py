from apps.hosts.hypervisor import hypervisor_for
from apps.virt.types import DomainState

STEPS = ["Power off"]


def run(ctx, vm):
    with ctx.step("Power off"):
        driver = hypervisor_for(vm.host)
        if driver.get_domain(vm.domain_name).state == DomainState.SHUTOFF:
            ctx.note("already stopped")
            return
        driver.destroy(vm.domain_name)
