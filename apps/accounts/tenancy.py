"""Who may see what: the tenancy scope every query for a user is built on.

Admins (and superusers) see everything. A reseller sees itself, its customers and their
objects. A customer sees its own. Everything that lists or fetches objects for a user (UI,
API, websockets, management commands) goes through `visible_users` here or the owning app's
selector built on `owners_q` (apps.vms.selectors.visible_vms, apps.images.selectors,
apps.jobs.selectors); an object outside the scope is "not found", never "forbidden", so its
existence does not leak. This module names no app above accounts.
"""

from django.db.models import Q

from apps.accounts.models import Role, User


def is_staff_user(user):
    return bool(user and user.is_authenticated and (user.is_superuser or user.role == Role.ADMIN))


def sees_other_users(user):
    """Whether `user` sees other users' objects (staff: everyone's; a reseller: its customers')."""
    return is_staff_user(user) or (user.is_authenticated and user.role == Role.RESELLER)


def visible_users(user):
    if is_staff_user(user):
        return User.objects.all()
    if user.role == Role.RESELLER:
        return User.objects.filter(Q(pk=user.pk) | Q(reseller=user))
    return User.objects.filter(pk=user.pk)


def owners_q(user, field="owner"):
    """A Q() matching objects whose `field` is a user `user` may see (None for staff)."""
    if is_staff_user(user):
        return Q()
    if user.role == Role.RESELLER:
        return Q(**{field: user}) | Q(**{f"{field}__reseller": user})
    return Q(**{field: user})


def acts_for(user, owner):
    """Whether `user` may see and act on what `owner` owns: owners_q's rule for one object."""
    if is_staff_user(user):
        return True
    if owner is None or not user.is_authenticated:
        return False
    return owner.pk == user.pk or (user.role == Role.RESELLER and owner.reseller_id == user.pk)
