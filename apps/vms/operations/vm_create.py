"""Deploy a new VM from an OS image, step by step (docs/deploy.md).

Every step can run again safely: what a step makes is named after the VM, and a step
replaces what an earlier, interrupted try left. If any step fails, `on_failure` removes
everything made on the host, so the VM is left `failed` with nothing behind it."""

from apps.vms import cleanup
from apps.vms.deploy import steps

STEPS = steps.CREATE_STEPS


def run(ctx, vm, **params):
    steps.deploy(ctx, vm, params)


def on_failure(ctx, vm):
    # Failed first: if the host cannot be reached for the clean-up, the VM still says so,
    # and the clean-up is recorded as owed, done once the host is back (apps.vms.cleanup).
    steps.mark_failed(vm)
    steps.remove_work_dir(ctx)
    cleanup.remove_or_owe(ctx, vm)
