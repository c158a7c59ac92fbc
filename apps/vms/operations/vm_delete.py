"""Delete a VM: power it off, remove its domain and volumes from the host, then the row
(its public addresses are released, to be handed out again after the cool-down).
Whatever is already gone (a domain removed behind the panel's back) is fine. Unless its
backups are kept (`keep_backups`, the default), they are forgotten first (apps.vms.deletion:
registered by apps.backups), so a repository that fails leaves the VM as it was.

A VM whose host is unreachable (lost) is deleted at once: what is on the host is recorded as
a clean-up owed to it (apps.vms.cleanup, OwedCleanup), which the host watcher carries out
if the host ever comes back (docs/outages.md, "VMs on a lost host")."""

from django.db import transaction

from apps.hosts.models import HostStatus
from apps.ipam.allocation import release
from apps.vms.cleanup import owe, remove_from_host
from apps.vms.deletion import forget_left_behind
from apps.vms.models import VirtualMachine, VmStatus

STEPS = ["Forget its backups", "Remove the VM from the host", "Forget the VM"]


def run(ctx, vm, keep_backups=True):
    with ctx.step("Forget its backups"):
        if keep_backups:
            ctx.note("kept: they stay the owner's, listed as backups of deleted VMs")
        else:
            forget_left_behind(ctx, vm)
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.DELETING)
    with ctx.step("Remove the VM from the host"):
        if vm.host is not None and vm.host.status == HostStatus.UNREACHABLE:
            debt = owe(ctx, vm, vm.host, f"host unreachable when the VM was deleted: {vm.host.status_reason}")
            ctx.note(f"{vm.host.name} is unreachable: clean-up owed (#{debt.pk}), done if the host comes back")
        elif vm.host is not None:
            remove_from_host(vm)
            ctx.note(f"domain and disks removed from {vm.host.name}")
    with ctx.step("Forget the VM"):
        with transaction.atomic():
            released = release(vm)  # handed out again after VMM_ADDRESS_COOLDOWN
            vm.delete()
        if released:
            ctx.note(f"{released} public address(es) released")
