"""Signing in and out, changing one's password, choosing the language."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _

from apps.ui.access import signed_in


class LoginView(auth_views.LoginView):
    template_name = "ui/auth/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("ui:dashboard")


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
