"""Setting a user's quota. Staff set anyone's but their own (resellers' included); a
reseller sets its customers' within its own limits. Enforcing quotas on orders is
apps.accounts.quotas.check_and_reserve, not this. Raises as apps.accounts.services says."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.quotas import Quota, validate_within
from apps.accounts.services.access import manages
from apps.accounts.tenancy import is_staff_user

# Limits are stored in 32-bit columns on every database; an empty limit is no limit.
LIMIT_MAX = 2**31 - 1


def check_may_set_quota(actor: User, user: User) -> None:
    """Refuse (PermissionDenied) an actor who does not manage `user`: a door may ask this
    before it reads the limits."""
    if not manages(actor, user):
        raise PermissionDenied(_("You may not set this user's quota."))


def set_quota(
    *,
    actor: User,
    user: User,
    max_vms: int | None = None,
    max_vcpus: int | None = None,
    max_memory_mb: int | None = None,
    max_disk_gb: int | None = None,
    max_addresses: int | None = None,
    max_snapshots: int | None = None,
    max_backups: int | None = None,
    max_backup_gb: int | None = None,
) -> Quota:
    """Set all eight limits of `user` (None: no limit), creating its quota row if needed."""
    check_may_set_quota(actor, user)
    limits = {
        "max_vms": max_vms,
        "max_vcpus": max_vcpus,
        "max_memory_mb": max_memory_mb,
        "max_disk_gb": max_disk_gb,
        "max_addresses": max_addresses,
        "max_snapshots": max_snapshots,
        "max_backups": max_backups,
        "max_backup_gb": max_backup_gb,
    }
    errors = {
        field: _("Give a whole number from 0 to %(high)d, or nothing for no limit.") % {"high": LIMIT_MAX}
        for field, value in limits.items()
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LIMIT_MAX)
    }
    if errors:
        raise ValidationError(errors)
    if not is_staff_user(actor):
        validate_within(limits, Quota.objects.filter(user=actor).first())
    # update_or_create locks the row; two first settings at once meet on the unique user
    # column, and get_or_create then takes the row the other one made.
    quota, _created = Quota.objects.update_or_create(user=user, defaults=limits)
    return quota
