"""LDAP for the provider's staff (django-auth-ldap; docs/configuration.md#ldap-for-staff).

A directory user of the staff group (VMM_LDAP_STAFF_GROUP) signs in with the directory
password and is staff (role admin) in the panel; the role follows the group at every
sign-in: a user no longer in the group is turned into a customer and refused. Directory
users outside the group never get an account. Only accounts the directory made
(DirectoryAccount) follow it: an account the panel made itself is never taken over by a
directory user of the same name, and a blocked user stays blocked.

When the directory does not answer (or times out, VMM_LDAP_TIMEOUT), the request is marked
so that the sign-in form can say so (`directory_unreachable`); local accounts are tried
first and sign in as usual."""

import ldap
from django.conf import settings
from django_auth_ldap.backend import LDAPBackend, ldap_error, populate_user
from django_auth_ldap.config import LDAPGroupQuery

from apps.accounts.models import DirectoryAccount, Role, User

UNREACHABLE_FLAG = "_vmm_directory_unreachable"
NOT_STAFF_FLAG = "_vmm_directory_not_staff"


def directory_unreachable(request) -> bool:
    """Whether a sign-in during this request found the directory down."""
    return bool(getattr(request, UNREACHABLE_FLAG, False))


def directory_not_staff(request) -> bool:
    """Whether a sign-in during this request had the right directory password but is not
    (or no longer) in the staff group."""
    return bool(getattr(request, NOT_STAFF_FLAG, False))


def _in_staff_group(ldap_user) -> bool:
    return bool(LDAPGroupQuery(settings.VMM_LDAP_STAFF_GROUP).resolve(ldap_user))


class StaffDirectoryBackend(LDAPBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not getattr(settings, "VMM_LDAP_URI", None):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and not DirectoryAccount.objects.filter(user=user).exists():
            raise ldap_user.AuthenticationFailed("an account the panel made itself")
        if built and not _in_staff_group(ldap_user):
            _flag(ldap_user, NOT_STAFF_FLAG)
            raise ldap_user.AuthenticationFailed("not in the staff group")
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        DirectoryAccount.objects.update_or_create(user=user, defaults={"dn": ldap_user.dn})
        if user.is_blocked:
            return None
        if user.role != Role.ADMIN:
            _flag(ldap_user, NOT_STAFF_FLAG)
            return None
        return user

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and not user.is_blocked else None

    # Permissions come from the panel's roles, not from directory groups.
    def get_all_permissions(self, user, obj=None):
        return set()

    def get_group_permissions(self, user, obj=None):
        return set()


def _flag(ldap_user, flag):
    request = getattr(ldap_user, "_request", None)
    if request is not None:
        setattr(request, flag, True)


def _follow_staff_group(sender, user: User, ldap_user, **kwargs):
    """At each directory sign-in: staff while in the group, a customer once out of it."""
    staff = _in_staff_group(ldap_user)
    user.role = Role.ADMIN if staff else Role.CUSTOMER
    user.is_staff = staff
    if not staff:
        user.is_superuser = False  # no way around the group
    user.reseller = None


def _note_unreachable(sender, context, user, request, exception, **kwargs):
    if request is not None and isinstance(exception, (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR)):
        setattr(request, UNREACHABLE_FLAG, True)


populate_user.connect(_follow_staff_group, sender=StaffDirectoryBackend, dispatch_uid="vmm-ldap-role")
ldap_error.connect(_note_unreachable, sender=StaffDirectoryBackend, dispatch_uid="vmm-ldap-down")
