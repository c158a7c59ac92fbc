from django import forms
from django.utils.translation import gettext_lazy as _


class ReverseNameForm(forms.Form):
    """The shape only; apps.ipam.reverse_dns.set_reverse_name decides."""

    reverse_name = forms.CharField(
        label=_("Reverse DNS name"),
        max_length=254,
        required=False,
        help_text=_("A fully qualified host name, such as mail.example.com; empty for none."),
    )
