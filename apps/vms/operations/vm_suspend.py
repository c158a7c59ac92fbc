from apps.hosts.hypervisor import hypervisor_for

STEPS = ["Pause the VM"]


def run(ctx, vm):
    with ctx.step("Pause the VM"):
        hypervisor_for(vm.host).suspend(vm.domain_name)
