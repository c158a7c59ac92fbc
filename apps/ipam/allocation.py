"""Handing addresses to VMs and taking them back.

`assign_for_order` runs inside the order's transaction (apps.vms.create): for the network
the chosen host carries it takes the first free row of each pool with
`SELECT ... FOR UPDATE SKIP LOCKED` inside one UPDATE on PostgreSQL (orders in parallel skip
each other's rows instead of queueing); elsewhere (SQLite, whose writers take turns) the
first free row is claimed with a conditional UPDATE (`vm IS NULL`), tried again if another
order took it. No two VMs ever get one address. A pool with nothing free refuses the order,
naming the pool. `release` frees a VM's addresses after VMM_ADDRESS_COOLDOWN seconds."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.ipam.models import Address, Network, Pool

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
    if connection.vendor == "postgresql":
        return _take_skip_locked(pool, vm)
    for _attempt in range(ATTEMPTS):
        row = Address.objects.filter(free_q(), pool=pool).order_by("position").values_list("pk", flat=True).first()
        if row is None:
            return None
        # The conditional UPDATE is what decides: a row another order took in between is skipped.
        claimed = Address.objects.filter(free_q(), pk=row).update(vm=vm, assigned_at=timezone.now(), released_at=None)
        if claimed:
            return Address.objects.get(pk=row)
    return None


# One round trip: the first free row no other transaction holds, claimed and returned.
_TAKE = """
UPDATE ipam_address SET vm_id = %(vm)s, assigned_at = %(now)s, released_at = NULL
WHERE id = (
    SELECT id FROM ipam_address
    WHERE pool_id = %(pool)s AND vm_id IS NULL AND NOT reserved
      AND (released_at IS NULL OR released_at <= %(cooled)s)
    ORDER BY position LIMIT 1 FOR UPDATE SKIP LOCKED
)
RETURNING id, position, address, prefixlen, reverse_name
"""


def _take_skip_locked(pool, vm):
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, {"vm": vm.pk, "now": now, "pool": pool.pk, "cooled": cooled_before()})
        found = cursor.fetchone()
    if found is None:
        return None
    pk, position, address, prefixlen, reverse_name = found
    return Address(
        pk=pk,
        pool=pool,
        position=position,
        address=str(address),
        prefixlen=prefixlen,
        vm=vm,
        assigned_at=now,
        reverse_name=reverse_name,
    )


def assign_for_order(vm, host):
    """Give `vm` one address from each pool of the network `host` carries. Must run inside
    the order's transaction. Returns the addresses ([] when the host carries no managed
    network). Raises ValidationError({"network": ...}) naming a pool with nothing free."""
    pools = list(Pool.objects.filter(network__hosts=host).order_by("network__name", "name").select_related("network"))
    if not pools:
        return []
    taken = []
    for pool in pools:
        if pool.network_id != pools[0].network_id:
            break  # one network per VM: the first by name
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
    """The VM's addresses, by pool name, then in the pool's order (its rows are made in address
    order), so the guest's config and the filter's parameters come out the same every time."""
    return list(Address.objects.filter(vm=vm).select_related("pool__network").order_by("pool__name", "pk"))
