"""The hypervisor side of suspension for non-payment (the rules are apps/vms/suspension.py):
take a VM down (stop: graceful then forced; or pause) after recording its power state, and
bring it back to that state. Used by the vm_billing_* and customer_* operations. Every
function is safe to repeat: a retried job finds the VM already down (or up) and says so."""

import time

from django.conf import settings
from django.utils.translation import gettext_noop

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import signals
from apps.jobs.runner import OperationError
from apps.vms.models import POWER_STATE_FROM_DRIVER, PowerState, VirtualMachine
from apps.vms.services import refresh_vm_state

STOP = "stop"
PAUSE = "pause"
TAKE_DOWN = gettext_noop("Take the VM down")
BRING_BACK = gettext_noop("Bring back the power state")


def _state(driver, vm):
    return POWER_STATE_FROM_DRIVER.get(driver.get_domain(vm.domain_name).state, PowerState.UNKNOWN)


def take_down(ctx, vm, mode):
    """Record `vm`'s power state (once: a retry must not record the stop it caused), then
    stop it (ACPI, then power off after VMM_STOP_TIMEOUT) or pause it (`mode`)."""
    driver = hypervisor_for(vm.host)
    state = _state(driver, vm)
    VirtualMachine.objects.filter(pk=vm.pk, power_before_suspension="").update(power_before_suspension=state)
    if state == PowerState.STOPPED:
        ctx.note("already stopped")
    elif mode == PAUSE and state == PowerState.RUNNING:
        driver.suspend(vm.domain_name)
        ctx.note("paused")
    elif mode == PAUSE and state == PowerState.PAUSED:
        ctx.note("already paused")
    elif state == PowerState.RUNNING:
        how = driver.stop(vm.domain_name, timeout=settings.VMM_STOP_TIMEOUT)
        forced = "the guest did not shut down in time: powered off"
        ctx.note({"acpi": "the guest shut down", "forced": forced}.get(how, how))
    else:  # paused or crashed: the guest cannot answer ACPI
        driver.destroy(vm.domain_name)
        ctx.note("powered off")


def bring_back(ctx, vm, previous):
    """Bring `vm` back to the power state `previous` it had before it was suspended."""
    driver = hypervisor_for(vm.host)
    state = _state(driver, vm)
    if previous == PowerState.RUNNING:
        if state == PowerState.PAUSED:
            driver.resume(vm.domain_name)
        elif state != PowerState.RUNNING:
            driver.start(vm.domain_name)
        ctx.note("running again")
    elif previous == PowerState.PAUSED:
        if state == PowerState.STOPPED:
            driver.start(vm.domain_name)
        if state != PowerState.PAUSED:
            driver.suspend(vm.domain_name)
        ctx.note("paused again")
    else:
        ctx.note(f"left {state} (it was {previous or 'unknown'} before)")


class claimed:
    """Hold `vm` for `job` (the VM's claim, as runner.submit takes it) while a job on its
    customer works on it: waits up to VMM_SUSPEND_CLAIM_WAIT seconds for a running
    operation to end. Re-reads the VM's state and releases the claim on the way out."""

    def __init__(self, vm, job):
        self.vm, self.job = vm, job

    def __enter__(self):
        deadline = time.monotonic() + settings.VMM_SUSPEND_CLAIM_WAIT
        while not VirtualMachine.objects.filter(pk=self.vm.pk, current_job__isnull=True).update(current_job=self.job):
            if time.monotonic() > deadline:
                raise OperationError(f"{self.vm.name} stayed busy with another operation.")
            time.sleep(0.5)
        self.vm.current_job = self.job
        signals.claim_changed.send(sender=VirtualMachine, target=self.vm)
        return self.vm

    def __exit__(self, *exc):
        if not VirtualMachine.objects.filter(pk=self.vm.pk).exists():
            return False  # deleted (termination)
        try:
            refresh_vm_state(self.vm)
        finally:
            VirtualMachine.objects.filter(pk=self.vm.pk, current_job=self.job).update(current_job=None)
            self.vm.refresh_from_db()
            signals.claim_changed.send(sender=VirtualMachine, target=self.vm)
        return False


def each_vm(ctx, vm_ids, step_name, work):
    """Run `work(vm)` on each of the customer's VMs `vm_ids` in a step of its own, holding
    its claim; one VM's failure does not stop the others, the job fails at the end."""
    failed = []
    for vm in VirtualMachine.objects.filter(pk__in=vm_ids).select_related("host").order_by("name"):
        try:
            with ctx.step(f"{step_name}: {vm.name}"), claimed(vm, ctx.job):
                work(vm)
        except Exception:  # noqa: BLE001 - recorded on the step; the other VMs go on
            failed.append(vm.name)
    if failed:
        raise OperationError(f"Not done for: {', '.join(failed)}.")
