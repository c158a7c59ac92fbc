"""What a user may see of public addresses: staff everything (pools, free and reserved
rows); everyone else the addresses of the VMs it sees (apps.accounts.tenancy.owners_q)."""

from apps.accounts.tenancy import is_staff_user, owners_q
from apps.ipam.models import Address, Pool


def visible_addresses(user):
    rows = Address.objects.select_related("pool", "vm")
    if is_staff_user(user):
        return rows
    return rows.filter(owners_q(user, "vm__owner"), vm__isnull=False)


def visible_pools(user):
    return Pool.objects.select_related("network") if is_staff_user(user) else Pool.objects.none()


def search(rows, text):
    """Rows whose address starts with `text` (an address or its beginning, any case)."""
    text = (text or "").strip().lower()
    return rows.filter(address__istartswith=text) if text else rows
