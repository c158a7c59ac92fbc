"""Bind an address already given to the VM (apps.vms.addresses.add_address) to its interface
filter, then to the running guest. Failing before the filter changed gives the address back."""

from apps.ipam.models import Address
from apps.jobs.runner import OperationError
from apps.vms.address_change import FILTER_STEP, GUEST_STEP, configure_guest, give_back, step_done, update_filter

STEPS = [FILTER_STEP, GUEST_STEP]


def run(ctx, vm, address_id):
    address = Address.objects.filter(pk=address_id, vm=vm).select_related("pool").first()
    if address is None:
        raise OperationError("the address is no longer the VM's")
    with ctx.step(FILTER_STEP):
        update_filter(ctx, vm)
    with ctx.step(GUEST_STEP):
        configure_guest(ctx, vm, address, "replace")


def on_failure(ctx, vm):
    if not step_done(ctx, FILTER_STEP):
        give_back(vm, ctx.params["address_id"])
