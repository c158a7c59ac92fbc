"""Take a VM out of rescue mode: the rescue system shut down, its own system booted again
(apps.vms.rescue_work)."""

from apps.vms import rescue_work

STEPS = [rescue_work.SHUT_DOWN_RESCUE, rescue_work.BOOT_OWN]


def run(ctx, vm):
    with ctx.step(rescue_work.SHUT_DOWN_RESCUE):
        rescue_work.shut_down(ctx, vm)
    with ctx.step(rescue_work.BOOT_OWN):
        rescue_work.boot_own(ctx, vm)
