"""Signing in (password, then the second factor for users who have one) and out, changing
one's password, choosing the language. The rules of the second factor are in
apps.accounts.services.two_factor."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login

from apps.accounts.services import two_factor
from apps.ui.access import signed_in
from apps.ui.forms.auth import CodeForm, SignInForm

PENDING = "vmm_2fa_pending"


class LoginView(auth_views.LoginView):
    template_name = "ui/auth/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("ui:dashboard")

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.has_two_factor(user):
            return super().form_valid(form)
        # The password is right; the session is not signed in until the code is.
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("ui:login_code")


def login_code(request):
    """The second step of signing in: a code from the authenticator or a backup code."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > settings.VMM_2FA_PENDING_SECONDS:
        request.session.pop(PENDING, None)
        if pending:
            messages.error(request, _("The sign-in took too long. Please sign in again."))
        return redirect("ui:login")
    user = get_user_model().objects.filter(pk=pending["user"]).first()
    if user is None or user.is_blocked:
        request.session.pop(PENDING, None)
        return redirect("ui:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.verify_second_factor(request=request, user=user, token=form.cleaned_data["token"])
        except ValidationError as error:
            form.add_error("token", error.message_dict["token"])
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            del request.session[PENDING]
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            return redirect(pending["next"])
    return render(request, "ui/auth/login_code.html", {"form": form, "username": user.get_username()})


class LogoutView(auth_views.LogoutView):
    """POST only (Django refuses GET): a link cannot sign anyone out."""

    next_page = reverse_lazy("ui:login")


@method_decorator(signed_in, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "ui/auth/password_change.html"
    success_url = reverse_lazy("ui:dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response
