"""Saved SSH keys: a user adds its own; it, and whoever manages it, rename, replace and
delete them. Raises as apps.accounts.services says."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.services.access import manages
from apps.accounts.sshkeys import SshKey
from apps.core.uniques import unique_or_error
from apps.core.unset import UNSET, Unset

PUBLIC_KEY_MAX_LENGTH = 16384


def name_taken() -> str:
    return _("You already have a key with this name.")


def key_taken() -> str:
    return _("You already saved this key.")


def add_ssh_key(*, actor: User, name: str, public_key: str) -> SshKey:
    return _save(SshKey(owner=actor, name=name, public_key=public_key))


def update_ssh_key(*, actor: User, key: SshKey, name: str | Unset = UNSET, public_key: str | Unset = UNSET) -> SshKey:
    """Rename `key` or replace its public key (UNSET: leave as is)."""
    _may_change(actor, key)
    if name is not UNSET:
        key.name = name
    if public_key is not UNSET:
        key.public_key = public_key
    return _save(key)


def delete_ssh_key(*, actor: User, key: SshKey) -> None:
    _may_change(actor, key)
    key.delete()


def _may_change(actor: User, key: SshKey) -> None:
    if key.owner_id != actor.pk and not manages(actor, key.owner):
        raise PermissionDenied(_("You may not change this key."))


def _save(key: SshKey) -> SshKey:
    """Check the name and the key (SshKey.clean fingerprints it), then write it; each is
    unique per owner, checked before and, against a concurrent twin, by the write itself."""
    errors = {}
    if not key.name or len(key.name) > SshKey._meta.get_field("name").max_length:
        errors["name"] = [ValidationError(_("Use 1 to 64 characters."), "invalid")]
    if len(key.public_key or "") > PUBLIC_KEY_MAX_LENGTH:
        errors["public_key"] = [ValidationError(_("The key is too long."), "invalid")]
    else:
        try:
            key.clean()
        except ValidationError as exc:
            errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    _check_free(key)
    uniques = {
        "ssh_key_name_unique_per_owner": ("name", name_taken()),
        "ssh_key_unique_per_owner": ("public_key", key_taken()),
    }
    with unique_or_error(SshKey, uniques, recheck=lambda: _check_free(key)):
        key.save()
    return key


def _check_free(key: SshKey) -> None:
    others = SshKey.objects.filter(owner_id=key.owner_id).exclude(pk=key.pk)
    if others.filter(name=key.name).exists():
        raise ValidationError({"name": ValidationError(name_taken(), "unique")})
    if others.filter(fingerprint=key.fingerprint).exists():
        raise ValidationError({"public_key": ValidationError(key_taken(), "unique")})
