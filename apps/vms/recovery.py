"""Recovering a VM whose host is lost (docs/outages.md, "Recovery of a lost host's VMs"): the
one door for staff, `recover_vm(vm, confirm_host_down=True, actor=staff)`.

Staff confirm the host is really down (nobody can check it for them: a host cut off from
the panel may still run the guest), then the VM is re-created from its image on another
online host with room, keeping its row (name, owner, UUID, MAC, plan) and its pool
addresses. The old host is given up in the same transaction: the VM moves to the new host
(which reserves the room there) and a clean-up of the old domain and disk is owed to the
old host, so that if it ever comes back the host watcher destroys and removes them before
anything else (apps.vms.cleanup settles a debt whose VM now lives elsewhere), and the old
copy never runs beside the new one. The job `vm_recover` then runs the deploy steps.

Refused (ValidationError, keyed by field): no confirmation (`confirm_host_down`), a host
that is not unreachable (`vm`: use the normal actions, or maintenance), a VM with no image,
one that is being created or deleted, and no other online host with room (`host`). Not
staff: PermissionDenied (the owner may see the VM, not do this); not visible: Http404."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for, is_staff_user
from apps.hosts.models import Host, HostStatus
from apps.ipam.allocation import addresses_of
from apps.jobs import runner
from apps.vms import placement, validators
from apps.vms.cleanup import vm_volumes
from apps.vms.models import OwedCleanup, Snapshot, VirtualMachine, VmStatus


def may_recover(user, vm):
    """Whether to show the Recover button: staff, on a VM whose host is unreachable."""
    return is_staff_user(user) and vm.host_unreachable and vm.status in (VmStatus.ACTIVE, VmStatus.FAILED)


def recover_vm(vm, *, confirm_host_down=False, actor=None, request_id=None):
    """Re-create `vm` from its image on another host (module docstring). Returns the job."""
    if actor is not None and not acts_for(actor, vm.owner):
        raise Http404("No such VM.")
    if actor is not None and not is_staff_user(actor):
        raise PermissionDenied(_("Only staff may recover a VM on another host."))
    if not vm.host_unreachable:
        message = _("The host of this VM is not unreachable: only a VM on a lost host is recovered elsewhere.")
        raise ValidationError({"vm": ValidationError(message, code="host_not_lost")})
    if vm.status not in (VmStatus.ACTIVE, VmStatus.FAILED):
        raise ValidationError({"vm": _("Only an active or failed VM can be recovered.")})
    if vm.image_id is None:
        raise ValidationError({"vm": _("This VM has no image to re-create it from.")})
    if confirm_host_down is not True:
        message = _("Confirm that the host is really down: a host cut off from the panel may still run the VM.")
        raise ValidationError({"confirm_host_down": ValidationError(message, code="required")})
    lost = vm.host
    with transaction.atomic():
        new_host = _place(vm, lost)
        VirtualMachine.objects.filter(pk=vm.pk).update(host=new_host)
        vm.host = new_host
        job = runner.submit(
            "vm_recover",
            vm,
            actor=actor,
            params={"lost_host_id": lost.pk, "hostname": _hostname(vm)},
            request_id=request_id,
        )
        OwedCleanup.objects.create(
            host=lost,
            vm=vm,
            domain_name=vm.domain_name,
            volumes=vm_volumes(vm),  # with its snapshots' overlays, which stay on the lost host
            job=job,
            reason=f"VM recovered on {new_host.name} while {lost.name} was unreachable: {lost.status_reason}",
        )
        Snapshot.objects.filter(vm=vm).delete()  # their layers are on the lost host's disk: gone with it
    return job


def _hostname(vm):
    if vm.hostname:
        return vm.hostname
    return vm.name if validators.HOSTNAME_RE.match(vm.name) else f"vm-{vm.pk}"


def _place(vm, lost):
    """An online host with room other than `lost`: one carrying the network of the VM's pool
    addresses first (they keep reaching the guest), else any (the job says so)."""
    carrying = {
        host.pk
        for address in addresses_of(vm)
        for host in address.pool.network.hosts.filter(status=HostStatus.ONLINE).exclude(pk=lost.pk)
    }
    for pk in sorted(carrying):
        try:
            return placement.choose_host(
                vm.vcpus, vm.memory_mb, vm.disk_gb, host=Host.objects.get(pk=pk), lost_ok=False
            )
        except placement.NoCapacity:
            continue
    try:
        return placement.choose_host(vm.vcpus, vm.memory_mb, vm.disk_gb, lost_ok=False)
    except placement.NoCapacity as exc:
        raise ValidationError({"host": ValidationError(str(exc), code="no_capacity")}) from exc
