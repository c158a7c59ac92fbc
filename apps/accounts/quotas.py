"""Quotas: how many VMs, vCPUs, MiB of RAM and GiB of disk a reseller or a customer may hold.

A reseller's quota covers its own VMs and all its customers'; a customer's covers its own.
An empty limit means no limit; a user without a quota row has no limits of its own.

`check_and_reserve()` is the one enforcement point, called inside the transaction that
creates (or grows) the VM: it locks the quota rows that apply (reseller's first, then the
owner's, in user-id order, so concurrent orders queue instead of deadlocking), counts what
is in use and raises ValidationError({"quota": ...}) when the order would exceed a limit.
The VM row created in the same transaction is the reservation: the next order waiting on
the lock counts it once this transaction commits.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

# (limit field, what it counts, unit for messages)
LIMITS = (
    ("max_vms", "vms", "VMs"),
    ("max_vcpus", "vcpus", "vCPUs"),
    ("max_memory_mb", "memory_mb", "MiB of memory"),
    ("max_disk_gb", "disk_gb", "GiB of disk"),
)


class Quota(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    max_vms = models.PositiveIntegerField(null=True, blank=True)
    max_vcpus = models.PositiveIntegerField(null=True, blank=True)
    max_memory_mb = models.PositiveBigIntegerField(null=True, blank=True)
    max_disk_gb = models.PositiveBigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user"]

    def __str__(self):
        return f"quota of {self.user}"

    def limits(self):
        return {field: getattr(self, field) for field, _, _ in LIMITS}


def usage(user):
    """What `user` holds now: {"vms", "vcpus", "memory_mb", "disk_gb"} (a reseller: with its customers)."""
    from apps.accounts.models import Role
    from apps.vms.models import VirtualMachine

    scope = Q(owner=user) | Q(owner__reseller=user) if user.role == Role.RESELLER else Q(owner=user)
    return VirtualMachine.objects.filter(scope).aggregate(
        vms=Count("pk"),
        vcpus=Coalesce(Sum("vcpus"), 0),
        memory_mb=Coalesce(Sum("memory_mb"), 0),
        disk_gb=Coalesce(Sum("disk_gb"), 0),
    )


def check_and_reserve(owner, vcpus, memory_mb, disk_gb, *, vms=1):
    """Lock the quotas that apply to `owner` and refuse an order that would exceed one.

    Must run inside transaction.atomic() with the VM row created (or grown) in the same
    transaction. `vms` is how many VMs the order adds (0 for a resize, with the growth as
    the sizes). Raises ValidationError({"quota": message}) with code "quota_exceeded"."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_and_reserve() must run inside transaction.atomic()")
    user_ids = [owner.pk] + ([owner.reseller_id] if owner.reseller_id else [])
    quotas = list(
        Quota.objects.select_for_update().filter(user_id__in=user_ids).select_related("user").order_by("user_id")
    )
    wanted = {"vms": vms, "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}
    for quota in quotas:
        used = usage(quota.user)
        for field, counted, unit in LIMITS:
            limit = getattr(quota, field)
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


def validate_within(limits, parent):
    """Refuse customer limits above the reseller's own (`parent`: its Quota or None).

    `limits` maps limit fields to values (None = unlimited). Raises ValidationError per field."""
    if parent is None:
        return
    errors = {}
    for field, _counted, unit in LIMITS:
        cap = getattr(parent, field)
        value = limits.get(field)
        if cap is not None and (value is None or value > cap):
            errors[field] = _("At most your own limit of %(cap)s %(unit)s.") % {"cap": cap, "unit": unit}
    if errors:
        raise ValidationError(errors)
