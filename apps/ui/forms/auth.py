"""Sign-in forms: the password step (saying when the staff directory is down) and the code step."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.accounts.directory import directory_not_staff, directory_unreachable


class SignInForm(AuthenticationForm):
    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if self.request is not None and directory_unreachable(self.request):
                raise ValidationError(
                    _(
                        "The staff directory does not answer, so directory accounts cannot sign in "
                        "right now. Local accounts still can. Try again later or ask your administrator."
                    ),
                    code="directory_unreachable",
                ) from None
            if self.request is not None and directory_not_staff(self.request):
                raise ValidationError(
                    _("Your directory account is not in the panel's staff group. Ask your administrator."),
                    code="directory_not_staff",
                ) from None
            raise


class CodeForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    token = forms.CharField(
        label=_("Code from the app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
