"""Permissions beside tenancy (which lives in apps.accounts.tenancy and scopes querysets)."""

from rest_framework import permissions

from apps.accounts.tenancy import is_staff_user


class ReadOnlyTokenPermission(permissions.BasePermission):
    """A read-only token may only read."""

    message = "This token is read-only."

    def has_permission(self, request, view):
        token = getattr(request, "auth", None)
        return not getattr(token, "read_only", False) or request.method in permissions.SAFE_METHODS


class IsStaff(permissions.BasePermission):
    message = "Only the provider's staff may do this."

    def has_permission(self, request, view):
        return is_staff_user(request.user)


class StaffWritesOthersRead(permissions.BasePermission):
    """Everyone signed in reads; only staff change."""

    message = "Only the provider's staff may change this."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or is_staff_user(request.user)
