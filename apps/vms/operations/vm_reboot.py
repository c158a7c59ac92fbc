from apps.hosts.hypervisor import hypervisor_for

STEPS = ["Reboot the guest"]


def run(ctx, vm):
    with ctx.step("Reboot the guest"):
        hypervisor_for(vm.host).reboot(vm.domain_name)
