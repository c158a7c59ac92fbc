"""The format of an OpenSSH public key line, checked for saved keys (apps.accounts.sshkeys)
and for keys given with a VM order (apps.vms.validators). `validate_ssh_key` raises
ValidationError with a message for the field."""

import base64
import binascii

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def validate_ssh_key(value):
    """An OpenSSH public key line: type, base64 blob whose embedded type matches, optional comment."""
    parts = value.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise ValidationError(
            _("Not an SSH public key: it must start with one of %(types)s, ...")
            % {"types": ", ".join(SSH_KEY_TYPES[:3])}
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(_("The SSH key's data is not valid base64.")) from exc
    if len(blob) < 4:
        raise ValidationError(_("The SSH key's data is truncated."))
    length = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + length].decode("ascii", "replace") != parts[0]:
        raise ValidationError(_("The SSH key's data does not match its type (damaged or truncated key)."))
    if "\n" in value.strip():
        raise ValidationError(_("One key per line."))
