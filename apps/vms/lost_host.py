"""VMs on a lost host (docs/outages.md, "VMs on a lost host"): the one door's refusal rule.

While a VM's host is unreachable nothing the panel would do to the VM can happen there, and
what the panel shows of it is only the last state it knew. `check_host_reachable(vm)`
refuses every change but delete with the reason (apps.vms.changes and apps.vms.addresses
call it); a deleted VM's clean-up is owed to the host (apps/vms/operations/vm_delete.py).
Staff bring such a VM back elsewhere with apps.vms.recovery."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def check_host_reachable(vm):
    """Refuse a change to `vm` while its host is unreachable."""
    if vm.host_unreachable:
        message = _(
            "The host of this VM is unreachable, so the VM cannot be changed now. "
            "Try again when the host is back, or ask your provider."
        )
        raise ValidationError({"vm": ValidationError(message, code="host_unreachable")})
