"""Helpers for operations that need the guest stopped, or running with its agent."""

import time

from django.conf import settings

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.runner import OperationError
from apps.virt.errors import InvalidState
from apps.virt.types import INACTIVE_STATES, DomainState


def stop_if_running(ctx, vm):
    """Stop the VM gracefully if it runs; return True if it was running."""
    driver = hypervisor_for(vm.host)
    if driver.get_domain(vm.domain_name).state in INACTIVE_STATES:
        return False
    how = driver.stop(vm.domain_name, timeout=settings.VMM_STOP_TIMEOUT)
    ctx.note("the guest shut down" if how == "acpi" else "the guest did not shut down in time: powered off")
    return True


def start_and_wait_for_agent(ctx, vm, timeout=None):
    """Start the VM if needed and wait until its guest agent answers."""
    driver = hypervisor_for(vm.host)
    if driver.get_domain(vm.domain_name).state != DomainState.RUNNING:
        driver.start(vm.domain_name)
    timeout = timeout or settings.VMM_BOOT_TIMEOUT
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.agent_ready(vm.domain_name):
            return
        time.sleep(1)
    raise OperationError(f"The guest agent did not answer within {timeout} s (is qemu-guest-agent installed?).")


def wait_for_boot_to_finish(vm, timeout=None):
    """Wait (through the guest agent) until the guest's init says its boot is over; what it
    says ("running", "degraded", ...), or why it could not tell. A guest still booting
    (first-boot units, SSH host keys being made) would make whatever runs in it next slow."""
    driver = hypervisor_for(vm.host)
    argv = ["/bin/systemctl", "is-system-running", "--wait"]
    try:
        _code, output = driver.agent_exec(vm.domain_name, argv, timeout=timeout or settings.VMM_BOOT_TIMEOUT)
    except InvalidState as exc:  # no systemd, or still booting at the deadline: it serves as it is
        return f"not known ({exc})"
    return output.strip() or "not known"
