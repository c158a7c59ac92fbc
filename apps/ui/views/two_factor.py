"""The signed-in user's two-factor page: enrol an authenticator from a QR code, get backup
codes, turn it off. Rules: apps.accounts.services.two_factor."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from apps.accounts.services import two_factor
from apps.ui.access import signed_in
from apps.ui.forms.auth import EnrolForm
from apps.ui.qr import qr_svg


@signed_in
def two_factor_page(request):
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    form = EnrolForm(request.POST if action else None)
    codes = None
    if action and form.is_valid():
        token = form.cleaned_data["token"]
        try:
            if action == "enrol":
                codes = two_factor.confirm_enrolment(actor=user, token=token)
                otp_login(request, two_factor.authenticator(user))
                messages.success(request, _("Two-factor sign-in is on."))
            elif action == "backup":
                codes = two_factor.new_backup_codes(actor=user, token=token)
                messages.success(request, _("New backup codes were made; the old ones no longer work."))
            elif action == "disable":
                two_factor.disable_two_factor(actor=user, token=token)
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("ui:two_factor")
        except ValidationError as error:
            form.add_error("token", error.message_dict.get("token", error.messages))
        except PermissionDenied as error:
            form.add_error(None, str(error))
    context = {
        "form": form,
        "codes": codes,
        "enabled": two_factor.has_two_factor(user),
        "required": two_factor.is_required(user),
        "codes_left": two_factor.backup_codes_left(user),
    }
    if not context["enabled"]:
        device = two_factor.start_enrolment(actor=user)
        context["secret"] = _base32(device.bin_key)
        context["qr"] = qr_svg(device.config_url, _("QR code for your authenticator app"))
    return render(request, "ui/auth/two_factor.html", context)


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode("ascii").rstrip("=")
