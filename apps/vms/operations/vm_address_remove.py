"""Take an address from the VM: its interface filter first (the address is released, with
the cool-down, as soon as the filter no longer allows it), then the running guest. Failing
before the filter changed leaves the VM as it was."""

from apps.ipam.models import Address
from apps.jobs.runner import OperationError
from apps.vms.address_change import FILTER_STEP, GUEST_STEP, configure_guest, release_one, update_filter

STEPS = [FILTER_STEP, GUEST_STEP]


def run(ctx, vm, address_id):
    address = Address.objects.filter(pk=address_id, vm=vm).select_related("pool").first()
    if address is None:
        raise OperationError("the address is no longer the VM's")
    with ctx.step(FILTER_STEP):
        update_filter(ctx, vm, without=address.pk)
        release_one(vm, address.pk)
    with ctx.step(GUEST_STEP):
        configure_guest(ctx, vm, address, "del")
