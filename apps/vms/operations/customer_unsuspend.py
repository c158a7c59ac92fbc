"""Lift a customer's suspension (apps.vms.suspension.unsuspend_customer cleared the marks):
each VM brought back to the power state it had, in a step of its own."""

from apps.vms import suspension_work


def run(ctx, user, previous=None):
    previous = {int(pk): state for pk, state in (previous or {}).items()}
    suspension_work.each_vm(
        ctx, previous, "Bring back", lambda vm: suspension_work.bring_back(ctx, vm, previous[vm.pk])
    )
