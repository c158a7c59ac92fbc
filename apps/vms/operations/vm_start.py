from apps.hosts.hypervisor import hypervisor_for
from apps.virt.domain_xml import with_console_devices
from apps.virt.types import DomainState
from apps.vms.consoles import vnc_password

STEPS = ["Start the VM"]


def run(ctx, vm):
    with ctx.step("Start the VM"):
        driver = hypervisor_for(vm.host)
        if driver.get_domain(vm.domain_name).state == DomainState.RUNNING:
            ctx.note("already running")
            return
        # A domain defined before the web consoles existed gains them now (docs/console.md).
        upgraded = with_console_devices(driver.domain_xml(vm.domain_name, inactive=True), vnc_password(vm))
        if upgraded is not None:
            driver.define(upgraded)
            ctx.note("serial and graphical consoles added")
        driver.start(vm.domain_name)
