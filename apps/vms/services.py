import logging

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs import runner
from apps.virt.errors import NotFound, VirtError
from apps.vms.models import POWER_STATE_FROM_DRIVER, PowerState, VirtualMachine
from apps.vms.signals import notify_vm_changed

logger = logging.getLogger("vmmanager.vms")


def vm_operation(vm, kind, *, actor=None, params=None, request_id=None):
    """Start operation `kind` on `vm` as a job. Returns the Job.

    Raises runner.TargetBusy if the VM already runs an operation, ValidationError if
    the VM has no host yet."""
    if vm.host_id is None:
        raise ValidationError({"host": _("The VM is not placed on a host yet.")})
    return runner.submit(kind, vm, actor=actor, params=params, request_id=request_id)


def refresh_vm_state(vm):
    """Re-read the VM's power state (and addresses) from its host and store them.

    A domain that is gone from the host is `missing`; a host that cannot be reached
    leaves the state `unknown`. Never raises for the hypervisor's trouble."""
    if vm.host is None:
        return vm
    fields = {"state_synced_at": timezone.now()}
    try:
        driver = hypervisor_for(vm.host)
        info = driver.get_domain(vm.domain_name)
        fields["power_state"] = POWER_STATE_FROM_DRIVER.get(info.state, PowerState.UNKNOWN)
        if fields["power_state"] == PowerState.RUNNING:
            addresses = driver.interface_addresses(vm.domain_name)
            if addresses:
                fields["ip_addresses"] = addresses
    except NotFound:
        fields["power_state"] = PowerState.MISSING
    except VirtError as exc:
        logger.warning("could not read the state of %s: %s", vm.name, exc)
        fields["power_state"] = PowerState.UNKNOWN
    VirtualMachine.objects.filter(pk=vm.pk).update(**fields)
    vm.refresh_from_db()
    notify_vm_changed(vm)
    return vm
