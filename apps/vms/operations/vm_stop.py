"""Graceful stop: ask the guest (ACPI), wait, then power off. Guests that ignore ACPI
exist, so the wait is bounded (VMM_STOP_TIMEOUT, or the `timeout` parameter)."""

from django.conf import settings

from apps.hosts.hypervisor import hypervisor_for

STEPS = ["Shut down the guest"]


def run(ctx, vm, timeout=None):
    timeout = settings.VMM_STOP_TIMEOUT if timeout is None else float(timeout)
    with ctx.step("Shut down the guest"):
        how = hypervisor_for(vm.host).stop(vm.domain_name, timeout=timeout)
        ctx.note(
            {
                "acpi": "the guest shut down",
                "forced": f"the guest ignored the request for {timeout:g} s: powered off",
                "already-stopped": "already stopped",
            }.get(how, how)
        )
