"""Self-service forms: API tokens and saved SSH keys. Input only: names taken, keys that are
no SSH public keys and the like are refused by apps.accounts.services (tokens, sshkeys)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.services.sshkeys import PUBLIC_KEY_MAX_LENGTH
from apps.accounts.services.tokens import NAME_MAX_LENGTH


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH, help_text=_("What uses it, e.g. billing."))
    read_only = forms.BooleanField(label=_("Read only (GET requests only)"), required=False)


class SshKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    public_key = forms.CharField(
        label=_("Public key"),
        max_length=PUBLIC_KEY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "placeholder": "ssh-ed25519 AAAA… user@laptop"}),
        help_text=_("One OpenSSH public key line: ssh-ed25519, ssh-rsa or ecdsa-sha2-…, with an optional comment."),
    )
