"""The signed-in user's e-mail notice settings: their language and whether the optional
notices (VM ready, password reset) are sent. apps.accounts.services.users.update_user
decides, as for PATCH /api/v1/users/{id}/."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.services.users import update_user
from apps.ui.access import signed_in
from apps.ui.forms.vms import apply_errors


class NoticeForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language of e-mails"),
        required=False,
        choices=[("", gettext_lazy("The panel's default")), ("en", "English"), ("ru", "Русский")],
    )
    email_notices = forms.BooleanField(
        label=gettext_lazy(
            "E-mail me when a VM is ready, when a root password is reset and when a VM nears its monthly traffic "
            "limit (80 %)"
        ),
        required=False,
        help_text=gettext_lazy("Notices about suspension and a reached traffic limit are always sent."),
    )


@signed_in
def notice_settings(request):
    user = request.user
    form = NoticeForm(request.POST or None, initial={"language": user.language, "email_notices": user.email_notices})
    if request.method == "POST" and form.is_valid():
        try:
            update_user(actor=user, user=user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Notice settings saved."))
            return redirect("ui:notice_settings")
    return render(request, "ui/auth/notices.html", {"form": form})
