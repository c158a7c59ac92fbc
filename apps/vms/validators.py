"""Checks on what users ask for when creating or changing a VM. Each raises
ValidationError with a message for the field it is about."""

import re
import warnings

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# The SSH key check lives with the saved keys (accounts); VM inputs use the same one.
from apps.accounts.ssh_key_format import validate_ssh_key  # noqa: F401
from apps.vms.models import HOSTNAME_RE

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # stdlib on 3.11; glibc's SHA-512 crypt is what guests' /etc/shadow uses

MIN_PASSWORD_LENGTH = 10


def validate_hostname(value):
    if not HOSTNAME_RE.match(value):
        raise ValidationError(
            _("Use letters, digits and hyphens in dot-separated labels (RFC 1123), at most 253 characters.")
        )


def validate_root_password(value):
    """At least 10 characters from at least three of: lower case, upper case, digits, others;
    not a common password."""
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValidationError(_("The password must have at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH})
    classes = sum(bool(re.search(pattern, value)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))
    if classes < 3:
        raise ValidationError(_("The password must mix at least three of: lower case, upper case, digits, symbols."))
    try:
        CommonPasswordValidator().validate(value)
    except ValidationError as exc:
        raise ValidationError(_("This password is too common.")) from exc
    if any(ch in value for ch in "\n\r:"):
        raise ValidationError(_("The password cannot contain line breaks or colons."))


def hash_root_password(value):
    """The SHA-512 crypt hash stored for the guest: the plain password is never kept."""
    return crypt.crypt(value, crypt.mksalt(crypt.METHOD_SHA512))
