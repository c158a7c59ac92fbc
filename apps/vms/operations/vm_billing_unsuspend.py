"""Lift a VM's suspension (apps.vms.suspension.unsuspend_vm cleared the mark): bring back
the power state it had before."""

from apps.vms.suspension_work import BRING_BACK, bring_back

STEPS = [BRING_BACK]


def run(ctx, vm, previous=""):
    with ctx.step(BRING_BACK):
        bring_back(ctx, vm, previous)
