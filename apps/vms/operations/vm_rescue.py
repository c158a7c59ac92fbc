"""Boot a VM into the panel's rescue system, its disk attached (apps.vms.rescue_work)."""

from apps.vms import rescue_work

STEPS = [rescue_work.COPY, rescue_work.SHUT_DOWN, rescue_work.BOOT_RESCUE]


def run(ctx, vm):
    with ctx.step(rescue_work.COPY):
        kernel, initrd = rescue_work.copy_to_host(ctx, vm)
    with ctx.step(rescue_work.SHUT_DOWN):
        rescue_work.shut_down(ctx, vm)
    with ctx.step(rescue_work.BOOT_RESCUE):
        rescue_work.boot_rescue(ctx, vm, kernel, initrd)
