"""Who may open a page. Pages outside a user's reach answer 404, never 403, so that the
existence of other tenants' objects (and of staff pages) does not leak."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.accounts.tenancy import is_staff_user


def signed_in(view):
    """Let signed-in users that are not blocked through; send the others to the login page.

    A user blocked while signed in (or whose reseller was blocked) is signed out at once."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("ui:login"))
        if user.is_blocked:
            logout(request)
            messages.error(request, _("Your account is blocked. Please contact your provider."))
            return redirect("ui:login")
        return view(request, *args, **kwargs)

    return wrapper


def staff_only(view):
    """Like signed_in, and 404 for anyone but the provider's staff."""

    @signed_in
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_user(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
