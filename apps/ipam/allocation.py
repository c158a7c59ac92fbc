"""Handing addresses to VMs and taking them back.

`assign_for_order` runs inside the order's transaction (apps.vms.create): for the network
the chosen host carries it takes the first free row of each pool with
`SELECT ... FOR UPDATE SKIP LOCKED` (orders in parallel skip each other's rows instead of
queueing) and claims it with a conditional UPDATE (`vm IS NULL`), so no two VMs ever get
one address, on PostgreSQL and on SQLite alike. A pool with nothing free refuses the order,
naming the pool. `release` frees a VM's addresses after VMM_ADDRESS_COOLDOWN seconds."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.ipam.models import Address, Network

ATTEMPTS = 50


def cooled_before():
    """Addresses released after this moment are still cooling down."""
    return timezone.now() - timedelta(seconds=settings.VMM_ADDRESS_COOLDOWN)


def free_q():
    return Q(vm__isnull=True, reserved=False) & (Q(released_at__isnull=True) | Q(released_at__lte=cooled_before()))


def network_for_host(host):
    """The managed network a VM on `host` is plugged into (the first by name), or None."""
    if host is None:
        return None
    return Network.objects.filter(hosts=host).order_by("name").first()


def take_from_pool(pool, vm):
    """Claim the first free address of `pool` for `vm`; None when none is free."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_from_pool() must run inside transaction.atomic()")
    lock = connection.features.has_select_for_update_skip_locked
    for _attempt in range(ATTEMPTS):
        rows = Address.objects.filter(free_q(), pool=pool).order_by("position")
        if lock:
            rows = rows.select_for_update(skip_locked=True)
        row = rows.values_list("pk", flat=True).first()
        if row is None:
            return None
        now = timezone.now()
        # The conditional UPDATE is what decides: a row another order took in between is skipped.
        claimed = Address.objects.filter(free_q(), pk=row).update(vm=vm, assigned_at=now, released_at=None)
        if claimed:
            return Address.objects.get(pk=row)
    return None


def assign_for_order(vm, host):
    """Give `vm` one address from each pool of the network `host` carries. Must run inside
    the order's transaction. Returns the addresses ([] when the host carries no managed
    network). Raises ValidationError({"network": ...}) naming a pool with nothing free."""
    network = network_for_host(host)
    if network is None:
        return []
    taken = []
    for pool in network.pools.order_by("name"):
        address = take_from_pool(pool, vm)
        if address is None:
            raise ValidationError(
                {
                    "network": ValidationError(
                        _("Pool %(pool)s has no free address.") % {"pool": pool.name}, code="pool_exhausted"
                    )
                }
            )
        taken.append(address)
    return taken


def release(vm):
    """Take `vm`'s addresses back; they are handed out again after the cool-down. Returns how
    many were released. The reverse DNS name goes with them."""
    return Address.objects.filter(vm=vm).update(vm=None, assigned_at=None, released_at=timezone.now(), reverse_name="")


def addresses_of(vm):
    return list(Address.objects.filter(vm=vm).select_related("pool__network").order_by("pool__name"))
