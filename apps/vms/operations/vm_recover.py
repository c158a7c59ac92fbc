"""Recover a VM from a lost host (apps/vms/recovery.py, docs/outages.md): a fresh system from
the VM's image on the host the service placed it on, through the deploy steps, with the
same row, name, UUID, MAC and pool addresses. The lost host's copy is already owed as a
clean-up (the service recorded it); the first step says so, and says whether the VM's
addresses reach it on the new host."""

from apps.hosts.models import Host
from apps.ipam.allocation import addresses_of
from apps.vms import cleanup
from apps.vms.deploy import steps
from apps.vms.models import OwedCleanup, PowerState, VirtualMachine, VmStatus
from apps.vms.signals import notify_vm_changed

STEPS = ["Give up the lost host", *steps.CREATE_STEPS]


def run(ctx, vm, lost_host_id, hostname):
    VirtualMachine.objects.filter(pk=vm.pk).update(
        status=VmStatus.CREATING, power_state=PowerState.UNKNOWN, ip_addresses=[], rescue_since=None
    )
    notify_vm_changed(VirtualMachine.objects.select_related("host").get(pk=vm.pk))
    with ctx.step("Give up the lost host"):
        lost = Host.objects.get(pk=lost_host_id)
        owed = OwedCleanup.objects.filter(host=lost, vm=vm, done_at__isnull=True).exists()
        ctx.note(
            f"{vm.domain_name} and its disk on {lost.name}: "
            + ("clean-up owed, removed if the host comes back" if owed else "nothing owed")
        )
        for note in address_notes(vm):
            ctx.note(note)
        ctx.note("a fresh system from the image: root password login is locked until the password is reset")
    steps.deploy(ctx, vm, {"hostname": hostname, "timezone": "UTC", "host_pinned": True})


def address_notes(vm):
    """Whether each pool address of `vm` is on a network its new host carries."""
    notes = []
    for address in addresses_of(vm):
        network = address.pool.network
        if network.hosts.filter(pk=vm.host_id).exists():
            notes.append(f"{address.address} kept (network {network.name} is on {vm.host.name})")
        else:
            notes.append(
                f"{address.address} kept, but network {network.name} is not on {vm.host.name}: "
                "it will not reach the guest until the network is added there"
            )
    return notes


def on_failure(ctx, vm):
    steps.mark_failed(vm)
    steps.remove_work_dir(ctx)
    cleanup.remove_or_owe(ctx, vm)
