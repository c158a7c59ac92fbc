from apps.hosts.hypervisor import hypervisor_for
from apps.virt.types import DomainState

STEPS = ["Start the VM"]


def run(ctx, vm):
    with ctx.step("Start the VM"):
        driver = hypervisor_for(vm.host)
        if driver.get_domain(vm.domain_name).state == DomainState.RUNNING:
            ctx.note("already running")
            return
        driver.start(vm.domain_name)
