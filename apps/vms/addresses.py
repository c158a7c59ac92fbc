"""Extra public addresses on an existing VM (docs/addresses.md, "Extra addresses"): the one
place that decides whether an address may be added or removed.

Only staff and resellers (for their customers' VMs and their own) change a VM's addresses;
a customer gets PermissionDenied, a VM the actor may not see is Http404. Adding takes a free
address of a pool of the VM's network (the order's allocation code, within `max_addresses`)
in the transaction that starts the `vm_address_add` job; removing starts `vm_address_remove`,
which releases the address (with the cool-down) once the interface filter no longer allows
it. A VM keeps at least one address of each pool it holds: the last one is not removed."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for, sees_other_users
from apps.ipam.allocation import addresses_of, take_from_pool
from apps.ipam.models import Address, Pool
from apps.vms import quotas
from apps.vms.lost_host import check_host_reachable
from apps.vms.models import VmStatus
from apps.vms.rescue import check_not_in_rescue
from apps.vms.services import vm_operation


def check_may_change(vm, actor):
    """Http404 for a VM `actor` may not see, PermissionDenied for a customer."""
    if actor is None:
        return
    if not acts_for(actor, vm.owner):
        raise Http404(_("No such VM."))
    if not sees_other_users(actor):
        raise PermissionDenied(_("Only staff and resellers add or remove public addresses."))


def may_change(user, vm):
    """Whether `user` may add and remove `vm`'s addresses (for showing the buttons)."""
    return acts_for(user, vm.owner) and sees_other_users(user)


def network_of(vm):
    """The network of the VM's public addresses (None: it has none from pools)."""
    held = addresses_of(vm)
    return held[0].pool.network if held else None


def _pick_pool(vm, pool):
    network = network_of(vm)
    if network is None:
        raise ValidationError({"pool": _("This VM has no public addresses from pools.")})
    pools = Pool.objects.filter(network=network).order_by("name")
    if pool in (None, ""):
        found = pools.first()
    else:
        key = getattr(pool, "pk", pool)
        found = pools.filter(pk=key).first() if str(key).isdigit() else pools.filter(name=key).first()
    if found is None:
        raise ValidationError(
            {"pool": _("No pool %(pool)s on the VM's network %(network)s.") % {"pool": pool, "network": network.name}}
        )
    return found


def add_address(vm, *, pool=None, actor=None, request_id=None):
    """Give `vm` one more address from `pool` (a Pool, its id or name; default: the first pool
    of its network by name) and start the job binding it to the VM's interface and guest.
    Returns the job. The address is the VM's from now on; the job gives it back if it fails
    before the interface filter changed."""
    check_may_change(vm, actor)
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM gets or loses addresses.")})
    check_host_reachable(vm)
    check_not_in_rescue(vm)  # its own system is what takes the address, and it is not running
    chosen = _pick_pool(vm, pool)
    with transaction.atomic():
        address = take_from_pool(chosen, vm)
        if address is None:
            raise ValidationError(
                {
                    "pool": ValidationError(
                        _("Pool %(pool)s has no free address.") % {"pool": chosen.name}, code="pool_exhausted"
                    )
                }
            )
        quotas.check_and_reserve(vm.owner, 0, 0, 0, vms=0, addresses=1)
        return vm_operation(vm, "vm_address_add", actor=actor, params={"address_id": address.pk}, request_id=request_id)


def remove_address(vm, address, *, actor=None, request_id=None):
    """Start the job taking `address` (an Address or its id) from `vm`. The VM's last address
    of a pool stays (ValidationError on `address`). Returns the job."""
    check_may_change(vm, actor)
    key = getattr(address, "pk", address)
    row = Address.objects.filter(pk=key, vm=vm).select_related("pool").first() if str(key).isdigit() else None
    if row is None:
        raise Http404(_("No such address."))
    if vm.status != VmStatus.ACTIVE:
        raise ValidationError({"vm": _("Only an active VM gets or loses addresses.")})
    check_host_reachable(vm)
    check_not_in_rescue(vm)  # its own system is what takes the address, and it is not running
    if not Address.objects.filter(vm=vm, pool=row.pool).exclude(pk=row.pk).exists():
        raise ValidationError(
            {
                "address": _("%(address)s is the VM's last address of pool %(pool)s: it stays.")
                % {"address": row.address, "pool": row.pool.name}
            }
        )
    return vm_operation(vm, "vm_address_remove", actor=actor, params={"address_id": row.pk}, request_id=request_id)
