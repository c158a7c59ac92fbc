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


class AddAddressForm(forms.Form):
    """Which pool of the VM's network; apps.vms.addresses.add_address decides."""

    pool = forms.ChoiceField(label=_("Pool"), required=False)

    def __init__(self, *args, pools=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].choices = [("", _("The network's first pool"))] + [
            (pool.name, f"{pool.name} ({pool.subnet})") for pool in pools
        ]


class RemoveAddressForm(forms.Form):
    """Nothing to fill: the address is in the URL."""
