from apps.hosts.hypervisor import hypervisor_for

STEPS = ["Resume the VM"]


def run(ctx, vm):
    with ctx.step("Resume the VM"):
        hypervisor_for(vm.host).resume(vm.domain_name)
