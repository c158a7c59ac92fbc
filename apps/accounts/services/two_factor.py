"""Two-factor sign-in with TOTP (django-otp): enrolment, the second step of signing in,
backup codes, turning it off and staff resetting a lost device (docs/ui.md#two-factor-sign-in).

Every rule is here; the pages only call these. A user has at most one authenticator (a
confirmed TOTPDevice) and one set of backup codes (a StaticDevice). API tokens never ask for
a second factor. Raises as apps.accounts.services says; a second factor refused while the
sign-in is locked raises PermissionDenied."""

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import User
from apps.accounts.services.access import manages
from apps.accounts.tenancy import is_staff_user

AUTHENTICATOR = "authenticator"
BACKUP = "backup codes"
BACKUP_CODES = 10


def authenticator(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    return bool(user and user.is_authenticated and authenticator(user) is not None)


def is_required(user: User) -> bool:
    """Whether the provider requires `user` to sign in with a second factor."""
    return bool(settings.VMM_REQUIRE_2FA_FOR_STAFF and is_staff_user(user))


def must_enrol(user: User) -> bool:
    """A signed-in user who may do nothing but enrol: required to have a device, and has none."""
    return is_required(user) and not has_two_factor(user)


def start_enrolment(*, actor: User) -> TOTPDevice:
    """The authenticator being enrolled: a new secret, kept (unconfirmed) until a code from
    it is given. Refused when the actor already has one."""
    if has_two_factor(actor):
        raise ValidationError({"token": _("Two-factor sign-in is already on.")}, code="exists")
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=actor, name=AUTHENTICATOR, confirmed=False)
    return device


@transaction.atomic
def confirm_enrolment(*, actor: User, token: str) -> list[str]:
    """Turn the authenticator on with a code it shows; returns new backup codes (shown once)."""
    device = TOTPDevice.objects.select_for_update().filter(user=actor, confirmed=False).first()
    if device is None or has_two_factor(actor):
        raise ValidationError({"token": _("Start the enrolment again.")}, code="invalid")
    if not device.verify_token(_clean(token)):
        raise ValidationError(
            {"token": _("This code is not right. Enter the current code from the app.")}, code="invalid"
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return _new_backup_codes(actor)


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def new_backup_codes(*, actor: User, token: str) -> list[str]:
    """Replace the actor's backup codes (the old ones stop working); asks for a current code."""
    _verify_or_refuse(actor, token)
    return _new_backup_codes(actor)


def verify_second_factor(*, request, user: User, token: str):
    """The second step of signing in: a code from the authenticator or an unused backup
    code. A code already used is refused (the authenticator remembers the last time step it
    accepted). Failures count towards the same lock-out as wrong passwords (django-axes,
    per user name and address); while locked, even a right code is refused."""
    from axes.handlers.proxy import AxesProxyHandler

    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        raise PermissionDenied(_("Too many failed sign-in attempts. Try again later."))
    device = _matching_device(user, _clean(token))
    if device is None:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if not AxesProxyHandler.is_allowed(request, credentials):
            raise PermissionDenied(_("Too many failed sign-in attempts. Try again later."))
        raise ValidationError({"token": _("This code is not right, or it was used already.")}, code="invalid")
    return device


@transaction.atomic
def disable_two_factor(*, actor: User, token: str) -> None:
    """The actor turns two-factor sign-in off, with a current code; not when it is required."""
    if is_required(actor):
        raise PermissionDenied(_("Your provider requires two-factor sign-in for your account."))
    _verify_or_refuse(actor, token)
    _delete_devices(actor)


@transaction.atomic
def reset_two_factor(*, actor: User, user: User) -> bool:
    """Staff remove a user's lost authenticator and backup codes (the user enrols again at
    the next sign-in if required). Writes an audit entry. Returns whether there was any."""
    if not is_staff_user(actor) or not manages(actor, user):
        raise PermissionDenied(_("Only staff reset another user's two-factor sign-in."))
    had = _delete_devices(user)
    LogEntry.objects.log_create(
        user,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes={"two_factor": ["on" if had else "off", "reset"]},
        actor=actor,
    )
    return had


def _delete_devices(user: User) -> bool:
    had = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    return had


def _new_backup_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=BACKUP, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _matching_device(user: User, token: str):
    if not token:
        return None
    totp = authenticator(user)
    if totp is not None and token.isdigit() and totp.verify_token(token):
        return totp
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(token):
            return device
    return None


def _verify_or_refuse(user: User, token: str) -> None:
    totp = authenticator(user)
    if totp is None:
        raise ValidationError({"token": _("Two-factor sign-in is off.")}, code="invalid")
    if not totp.verify_token(_clean(token)):
        raise ValidationError({"token": _("This code is not right, or it was used already.")}, code="invalid")


def _clean(token) -> str:
    return "".join(str(token or "").split())
