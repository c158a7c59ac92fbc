"""Delete a VM: power it off, remove its domain and volumes from the host, then the row.
Whatever is already gone (a domain removed behind the panel's back) is fine."""

from apps.vms.cleanup import remove_from_host
from apps.vms.models import VirtualMachine, VmStatus

STEPS = ["Remove the VM from the host", "Forget the VM"]


def run(ctx, vm):
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.DELETING)
    with ctx.step("Remove the VM from the host"):
        if vm.host is not None:
            remove_from_host(vm)
            ctx.note(f"domain and disks removed from {vm.host.name}")
    with ctx.step("Forget the VM"):
        vm.delete()
