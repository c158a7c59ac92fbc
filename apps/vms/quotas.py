"""Quota enforcement: what a user holds in VMs, and the check that an order fits.

`check_and_reserve()` is the one enforcement point, called by the VM services
(apps.vms.create, apps.vms.changes) inside the transaction that creates (or grows) the VM:
it locks the quota rows that apply (in user-id order, so concurrent orders queue instead of
deadlocking), counts what is in use and raises ValidationError({"quota": ...}) when the
order would exceed a limit. The VM row created in the same transaction is the reservation:
the next order waiting on the lock counts it once this transaction commits.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from apps.accounts.models import Role
from apps.accounts.quotas import LIMITS, OWNED, OWNED_BYTES, Quota
from apps.ipam.models import Address
from apps.vms.models import Snapshot, VirtualMachine


def usage(user):
    """What `user` holds now: {"vms", "vcpus", "memory_mb", "disk_gb", "addresses", "snapshots",
    "backups"} (a reseller: with its customers; the last counted by owner, apps.accounts.quotas.OWNED)."""
    scope = Q(owner=user) | Q(owner__reseller=user) if user.role == Role.RESELLER else Q(owner=user)
    held = VirtualMachine.objects.filter(scope).aggregate(
        vms=Count("pk"),
        vcpus=Coalesce(Sum("vcpus"), 0),
        memory_mb=Coalesce(Sum("memory_mb"), 0),
        disk_gb=Coalesce(Sum("disk_gb"), 0),
    )
    held["addresses"] = Address.objects.filter(vm__in=VirtualMachine.objects.filter(scope)).count()
    held["snapshots"] = Snapshot.objects.filter(vm__in=VirtualMachine.objects.filter(scope)).count()
    for counted, rows in OWNED.items():
        held[counted] = rows().filter(scope).count()
    for counted, (rows, field) in OWNED_BYTES.items():
        held[counted] = _gib(rows().filter(scope).aggregate(total=Coalesce(Sum(field), 0))["total"])
    return held


def _gib(size):
    """Bytes as GiB, rounded up (more than the limit in GiB: more than its bytes)."""
    return -(-size // 2**30)


def check_and_reserve(owner, vcpus, memory_mb, disk_gb, *, vms=1, addresses=0, snapshots=0, backups=0):
    """Lock the quotas that apply to `owner` and refuse an order that would exceed one.

    Must run inside transaction.atomic() with the VM row created (or grown) in the same
    transaction. `vms` is how many VMs the order adds (0 for a resize, with the growth as
    the sizes). `addresses`: public addresses the order takes, already assigned to the VM in
    this transaction (so counted in use: the check is used > limit); `snapshots` and
    `backups` likewise (the snapshot's or backup's row made in this transaction).
    Raises ValidationError({"quota": message}) with code "quota_exceeded"."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_and_reserve() must run inside transaction.atomic()")
    user_ids = [owner.pk] + ([owner.reseller_id] if owner.reseller_id else [])
    quotas = list(
        Quota.objects.select_for_update().filter(user_id__in=user_ids).select_related("user").order_by("user_id")
    )
    wanted = {
        "vms": vms,
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "disk_gb": disk_gb,
        "addresses": addresses,
        "snapshots": snapshots,
        "backups": backups,
    }
    for quota in quotas:
        used = usage(quota.user)
        used["addresses"] -= addresses  # the order's own, assigned before this check
        used["snapshots"] -= snapshots  # likewise
        used["backups"] -= backups
        for field, counted, unit in LIMITS:
            limit = getattr(quota, field)
            if counted in OWNED_BYTES:
                if limit is not None and backups > 0 and used[counted] > limit:
                    _refuse_stored(quota, owner, field, limit, used[counted])
                continue
            if limit is not None and wanted[counted] > 0 and used[counted] + wanted[counted] > limit:
                numbers = {
                    "field": field,
                    "limit": limit,
                    "unit": unit,
                    "used": used[counted],
                    "asked": wanted[counted],
                }
                if quota.user_id == owner.pk:
                    text = _(
                        "The order exceeds your quota %(field)s: at most %(limit)s %(unit)s, "
                        "%(used)s in use, %(asked)s asked."
                    )
                else:
                    numbers["reseller"] = quota.user.username
                    text = _(
                        "The order exceeds your reseller's (%(reseller)s) quota %(field)s: at most %(limit)s %(unit)s, "
                        "%(used)s in use, %(asked)s asked."
                    )
                raise ValidationError({"quota": ValidationError(text % numbers, code="quota_exceeded")})


def _refuse_stored(quota, owner, field, limit, used):
    """A new backup while the backups already hold more than `field` allows."""
    numbers = {"field": field, "limit": limit, "used": used}
    if quota.user_id == owner.pk:
        text = _("The order exceeds your quota %(field)s: at most %(limit)s GiB of backups, %(used)s GiB held.")
    else:
        numbers["reseller"] = quota.user.username
        text = _(
            "The order exceeds your reseller's (%(reseller)s) quota %(field)s: at most %(limit)s GiB of backups, "
            "%(used)s GiB held."
        )
    raise ValidationError({"quota": ValidationError(text % numbers, code="quota_exceeded")})


def room(owner):
    """What `owner` may still order under the quotas that apply (its own and, for a customer,
    its reseller's): {"vms", ..., "snapshots", "backups"} (LIMITS), each a number (never below 0)
    or None where no limit applies. For showing on the order form; orders are decided by
    check_and_reserve()."""
    left = {counted: None for _field, counted, _unit in LIMITS}
    user_ids = [owner.pk] + ([owner.reseller_id] if owner.reseller_id else [])
    for quota in Quota.objects.filter(user_id__in=user_ids).select_related("user"):
        used = usage(quota.user)
        for field, counted, _unit in LIMITS:
            limit = getattr(quota, field)
            if limit is not None:
                free = max(0, limit - used[counted])
                left[counted] = free if left[counted] is None else min(left[counted], free)
    return left


def fits(left, vcpus, memory_mb, disk_gb):
    """Whether one more VM of this size fits in `left` (what room() returned)."""
    wanted = {"vms": 1, "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}
    return all(left[counted] is None or wanted[counted] <= left[counted] for counted in wanted)


def usages(users):
    """{user id: usage(user)} for many users in six grouped queries (and two for each of OWNED:
    backups), whatever their number (for list pages): each user's own VMs, their public
    addresses and snapshots, its backups, plus its customers' for a reseller."""
    users = list(users)
    empty = {"vms": 0, "vcpus": 0, "memory_mb": 0, "disk_gb": 0, "addresses": 0, "snapshots": 0}
    empty.update(dict.fromkeys(OWNED, 0))
    empty.update(dict.fromkeys(OWNED_BYTES, 0))
    totals = {user.pk: dict(empty) for user in users}
    sums = {"vms": Count("pk"), "vcpus": Sum("vcpus"), "memory_mb": Sum("memory_mb"), "disk_gb": Sum("disk_gb")}
    resellers = [user.pk for user in users if user.role == Role.RESELLER]
    for key, scope in (("owner", Q(owner__in=users)), ("owner__reseller", Q(owner__reseller__in=resellers))):
        for row in VirtualMachine.objects.filter(scope).values(key).annotate(**sums).order_by():
            for counted in ("vms", "vcpus", "memory_mb", "disk_gb"):
                totals[row[key]][counted] += row[counted] or 0
        held = Address.objects.filter(vm__in=VirtualMachine.objects.filter(scope)).values(f"vm__{key}")
        for row in held.annotate(addresses=Count("pk")).order_by():
            totals[row[f"vm__{key}"]]["addresses"] += row["addresses"]
        taken = Snapshot.objects.filter(vm__in=VirtualMachine.objects.filter(scope)).values(f"vm__{key}")
        for row in taken.annotate(snapshots=Count("pk")).order_by():
            totals[row[f"vm__{key}"]]["snapshots"] += row["snapshots"]
        for counted, rows in OWNED.items():
            for row in rows().filter(scope).values(key).annotate(held=Count("pk")).order_by():
                totals[row[key]][counted] += row["held"]
        for counted, (rows, field) in OWNED_BYTES.items():
            for row in rows().filter(scope).values(key).annotate(held=Sum(field)).order_by():
                totals[row[key]][counted] += row["held"] or 0
    for total in totals.values():
        for counted in OWNED_BYTES:
            total[counted] = _gib(total[counted])
    return totals
