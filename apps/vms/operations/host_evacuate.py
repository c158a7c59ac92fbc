"""Empty a host in maintenance (apps/vms/evacuation.py decided it may; docs/migration.md):
its VMs moved one by one (apps/vms/migrate_work.py: cold when stopped, live when running;
each VM's claim held while it moves), the others listed with the reason they stay. The job fails at the end
if any VM stays, naming each; a VM whose move failed stays on this host as it was."""

from contextlib import nullcontext

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.jobs.runner import OperationError, reason
from apps.vms import migrate_work, placement
from apps.vms.migration import check_movable, choose_target
from apps.vms.models import VirtualMachine
from apps.vms.services import refresh_vm_state
from apps.vms.suspension_work import claimed

STEPS = ["List the VMs on the host", "Move the VMs", "Check that the host is empty"]


def run(ctx, host):
    with ctx.step("List the VMs on the host"):
        vms = list(VirtualMachine.objects.filter(host=host).select_related("host").order_by("name"))
        for vm in vms:
            refresh_vm_state(vm)  # the power state as the host says now, not as last known
        ctx.note(
            f"{len(vms)} VM(s) on {host.name}: " + (", ".join(f"{vm.name} ({vm.power_state})" for vm in vms) or "none")
        )
    stays = {}
    with ctx.step("Move the VMs"):
        for vm in vms:
            why = _move(ctx, vm)
            if why:
                stays[vm.name] = why
                ctx.note(f"{vm.name} stays: {why}")
    with ctx.step("Check that the host is empty"):
        left = list(VirtualMachine.objects.filter(host=host).order_by("name").values_list("name", flat=True))
        if left:
            listed = "; ".join(f"{name} ({stays.get(name, 'placed here meanwhile')})" for name in left)
            raise OperationError(f"{len(left)} VM(s) stay on {host.name}: {listed}.")
        ctx.note(f"no VM left on {host.name}")


def _move(ctx, vm):
    """Move `vm` away; returns why it stays (None when it moved)."""
    vm = VirtualMachine.objects.select_related("host").get(pk=vm.pk)
    try:
        # claimed() re-reads the VM's power state on the way out, from the host it is on then.
        with claimed(vm, ctx.job):
            vm.refresh_from_db()
            try:
                check_movable(vm)
                with transaction.atomic():
                    placement.hold_room(vm, None)  # a hold an earlier, killed move left is not this one's
                    target = choose_target(vm)
                    placement.hold_room(vm, target)  # while this job moves it: no order takes it
            except ValidationError as exc:
                return " ".join(exc.messages)
            try:
                migrate_work.move(ctx, vm, target, lambda name: nullcontext())
            except Exception as exc:  # noqa: BLE001 - the VM stays, said in the step; the others go on
                migrate_work.undo(ctx, vm, target)
                return f"the move to {target.name} failed: {reason(exc)}"
            finally:
                vm.refresh_from_db()  # its host now (refresh_from_db drops the cached old one)
            ctx.note(f"{vm.name} moved to {target.name}")
            return None
    except OperationError as exc:  # busy with another operation all along
        return str(exc)
