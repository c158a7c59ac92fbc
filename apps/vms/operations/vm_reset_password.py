"""Set a new root password through the guest agent, from its hash. A stopped VM is started
for it and stopped again afterwards."""

from apps.hosts.hypervisor import hypervisor_for
from apps.virt.types import DomainState
from apps.vms.deploy.power import start_and_wait_for_agent

STEPS = ["Reach the guest agent", "Set the root password"]


def run(ctx, vm, root_password_hash):
    driver = hypervisor_for(vm.host)
    was_running = driver.get_domain(vm.domain_name).state == DomainState.RUNNING
    with ctx.step("Reach the guest agent"):
        if not was_running:
            ctx.note("the VM was stopped: starting it for the change")
        start_and_wait_for_agent(ctx, vm)
    with ctx.step("Set the root password"):
        driver.set_user_password(vm.domain_name, "root", root_password_hash)
        if not was_running:
            driver.stop(vm.domain_name, timeout=60)
            ctx.note("stopped again, as it was")
