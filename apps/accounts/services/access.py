"""Who administers whom. Seeing a user (apps.accounts.tenancy) is not administering it."""

from apps.accounts.models import Role, User
from apps.accounts.tenancy import is_staff_user


def manages(user: User, other: User) -> bool:
    """May `user` administer `other` (rename, change role, block, delete, set quotas)?
    Staff: anyone but themselves; a reseller: its own customers. Never oneself."""
    if other.pk == user.pk:
        return False
    if is_staff_user(user):
        return True
    return user.role == Role.RESELLER and other.reseller_id == user.pk
