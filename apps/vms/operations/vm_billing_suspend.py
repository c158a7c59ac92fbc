"""Suspend one VM for non-payment (apps.vms.suspension.suspend_vm marked it): record its
power state, then stop it (graceful, then forced) or pause it."""

from apps.vms.suspension_work import TAKE_DOWN, take_down

STEPS = [TAKE_DOWN]


def run(ctx, vm, mode="stop"):
    with ctx.step(TAKE_DOWN):
        take_down(ctx, vm, mode)
