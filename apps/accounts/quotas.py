"""Quotas: how many VMs, vCPUs, MiB of RAM, GiB of disk, public addresses, snapshots and backups a
reseller or a customer may hold.

A reseller's quota covers its own VMs and all its customers'; a customer's covers its own.
An empty limit means no limit; a user without a quota row has no limits of its own.

This module holds the limits and the rule for setting them (`validate_within`); they are
enforced by the VM services (apps.vms.quotas), which count VMs, when a VM is ordered or grown
(and snapshots when one is taken, backups when one is taken).

Things counted that live in apps above the VMs (backups: they outlive their VM and keep their
owner) are registered here by their app (`register_owned`): a callable returning the rows'
queryset, each row with an `owner`; apps.vms.quotas counts them with the VMs.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

# (limit field, what it counts, unit for messages)
LIMITS = (
    ("max_vms", "vms", "VMs"),
    ("max_vcpus", "vcpus", "vCPUs"),
    ("max_memory_mb", "memory_mb", "MiB of memory"),
    ("max_disk_gb", "disk_gb", "GiB of disk"),
    ("max_addresses", "addresses", "public addresses"),
    ("max_snapshots", "snapshots", "snapshots"),
    ("max_backups", "backups", "backups"),
    ("max_backup_gb", "backup_gb", "GiB of backups"),
)

# what it counts -> a callable returning the queryset of the rows counted (each with an `owner`)
OWNED = {}
# what it sums -> (a callable returning the rows' queryset, the field summed in bytes): shown
# and limited in GiB, rounded up (backup_gb: what the owner's backups added to their
# repositories)
OWNED_BYTES = {}


def register_owned(counted, rows):
    """Count the rows of `rows()` by their `owner` as `counted` (apps.vms.quotas)."""
    OWNED[counted] = rows


def register_owned_bytes(counted, rows, field):
    """Sum `field` (bytes) of the rows of `rows()` by their `owner` as `counted`, in GiB
    rounded up (apps.vms.quotas)."""
    OWNED_BYTES[counted] = (rows, field)


class Quota(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    max_vms = models.PositiveIntegerField(null=True, blank=True)
    max_vcpus = models.PositiveIntegerField(null=True, blank=True)
    max_memory_mb = models.PositiveBigIntegerField(null=True, blank=True)
    max_disk_gb = models.PositiveBigIntegerField(null=True, blank=True)
    max_addresses = models.PositiveIntegerField(null=True, blank=True)
    max_snapshots = models.PositiveIntegerField(null=True, blank=True)
    max_backups = models.PositiveIntegerField(null=True, blank=True)
    # GiB the owner's backups may hold in their repositories (the sum of what each added when
    # taken); a backup is refused once they hold more (docs/backups.md).
    max_backup_gb = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user"]

    def __str__(self):
        return f"quota of {self.user}"

    def limits(self):
        return {field: getattr(self, field) for field, _, _ in LIMITS}


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
