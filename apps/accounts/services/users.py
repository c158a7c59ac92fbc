"""Users: created by staff (anyone, any role) and by resellers (their own customers);
changed by themselves (name, e-mail, password) and by whoever manages them (also the
user name; role and reseller: staff only); blocked, unblocked and deleted by whoever
manages them (apps.accounts.services.access.manages).

A user name is how a reseller's billing system finds the account, so nobody renames
itself. Raises as apps.accounts.services says."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from apps.accounts.models import Role, User
from apps.accounts.services.access import manages
from apps.accounts.tenancy import is_staff_user
from apps.core.uniques import unique_or_error
from apps.core.unset import UNSET, Unset

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


def username_taken() -> str:
    return _("A user with that username already exists.")


def password_length_message() -> str:
    return _("Use %(low)d to %(high)d characters.") % {"low": PASSWORD_MIN_LENGTH, "high": PASSWORD_MAX_LENGTH}


def create_user(
    *,
    actor: User,
    username: str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    role: str | Unset = UNSET,
    reseller: User | None | Unset = UNSET,
    language: str = "",
    email_notices: bool = True,
    suspend_mode: str = "",
) -> User:
    """A new user. A reseller's new users are its customers: it may leave out role and
    reseller or give exactly those. Without a password the user cannot sign in until
    one is set. `language` and `email_notices`: its e-mail notices (apps/notices);
    `suspend_mode`: a reseller's choice of how its customers are suspended."""
    check_may_create_users(actor)
    if not is_staff_user(actor):
        _refuse_changes(role, reseller, role_now=Role.CUSTOMER, reseller_now=actor)
        role, reseller = Role.CUSTOMER, actor
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=Role.CUSTOMER if role is UNSET else role,
        reseller=None if reseller is UNSET else reseller,
        language=language or "",
        email_notices=email_notices,
        suspend_mode=suspend_mode or "",
    )
    if user.suspend_mode and user.role != Role.RESELLER:
        raise ValidationError({"suspend_mode": _("Only a reseller chooses how its customers are suspended.")})
    _set_password(user, password)
    return _save(user)


def check_may_create_users(actor: User) -> None:
    """Refuse (PermissionDenied) an actor who may create no users at all: a door asks
    this before it reads the new user's details."""
    if not (is_staff_user(actor) or actor.role == Role.RESELLER):
        raise PermissionDenied(_("Only staff and resellers create users."))


def update_user(
    *,
    actor: User,
    user: User,
    username: str | Unset = UNSET,
    email: str | Unset = UNSET,
    first_name: str | Unset = UNSET,
    last_name: str | Unset = UNSET,
    password: str | Unset = UNSET,
    role: str | Unset = UNSET,
    reseller: User | None | Unset = UNSET,
    suspend_mode: str | Unset = UNSET,
    language: str | Unset = UNSET,
    email_notices: bool | Unset = UNSET,
) -> User:
    """Change what is given (UNSET: leave as is). Giving the current value is no change.
    `suspend_mode` is a reseller's choice of how its customers' VMs are suspended."""
    own = user.pk == actor.pk
    if not (own or manages(actor, user)):
        raise PermissionDenied(_("You may not change this user."))
    if not is_staff_user(actor):
        _refuse_changes(role, reseller, role_now=user.role, reseller_now=user.reseller)
    if own and username is not UNSET and username != user.username:
        raise ValidationError(
            {"username": ValidationError(_("Only whoever manages this account may change its user name."), "forbidden")}
        )
    if own and is_staff_user(actor) and role is not UNSET and role != user.role:
        raise ValidationError({"role": ValidationError(_("Nobody changes its own role."), "forbidden")})
    if suspend_mode not in (UNSET, "") and user.role != Role.RESELLER:
        raise ValidationError({"suspend_mode": _("Only a reseller chooses how its customers are suspended.")})
    if language not in (UNSET, "", "en", "ru"):
        raise ValidationError({"language": _("One of: %(values)s.") % {"values": "en, ru"}})
    for field, value in (
        ("language", language),
        ("email_notices", email_notices),
        ("suspend_mode", suspend_mode),
        ("username", username),
        ("email", email),
        ("first_name", first_name),
        ("last_name", last_name),
        ("role", role),
        ("reseller", reseller),
    ):
        if value is not UNSET:
            setattr(user, field, value)
    if password is not UNSET:
        _check_password(user, password)
        user.set_password(password)
    return _save(user)


def reset_password(*, actor: User, user: User, password: str) -> User:
    """Set a new password for a user `actor` manages, without its old one (one's own is
    changed with the old password, or through update_user)."""
    if not manages(actor, user):
        raise PermissionDenied(_("You may not change this user."))
    return update_user(actor=actor, user=user, password=password)


def block_user(*, actor: User, user: User) -> User:
    """Block `user`: its sessions and tokens stop working at their next request."""
    return _set_active(actor, user, False)


def unblock_user(*, actor: User, user: User) -> User:
    return _set_active(actor, user, True)


def delete_user(*, actor: User, user: User) -> None:
    """Delete `user`; refused (ProtectedError) while it still has VMs, images or customers."""
    if not manages(actor, user):
        raise PermissionDenied(_("You may not change this user."))
    user.delete()


def _set_active(actor: User, user: User, active: bool) -> User:
    if not manages(actor, user):
        raise PermissionDenied(_("You may not change this user."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def _refuse_changes(role, reseller, *, role_now, reseller_now):
    """Only staff pick a role or a reseller: anyone else may only repeat what is (or will be)."""
    reseller_now_pk = getattr(reseller_now, "pk", None)
    for field, value, now in (("role", role, role_now), ("reseller", reseller, reseller_now_pk)):
        if value is not UNSET and getattr(value, "pk", value) != now:
            raise ValidationError({field: ValidationError(_("Only staff may set this."), "forbidden")})


def _set_password(user: User, password: str | None) -> None:
    """A new user's password; none (or empty): it cannot sign in until one is set."""
    if password:
        _check_password(user, password)
        user.set_password(password)
    else:
        user.set_unusable_password()


def _check_password(user: User, password: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise ValidationError({"password": ValidationError(password_length_message(), "invalid")})
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc


def _save(user: User) -> User:
    """Validate the whole row (field rules, reseller and role agreeing) and write it; the
    user name is checked before and, against a concurrent twin, by the insert itself."""
    user.full_clean(validate_unique=False, validate_constraints=False)
    if User.objects.filter(username=user.username).exclude(pk=user.pk).exists():
        raise ValidationError({"username": ValidationError(username_taken(), "unique")})
    with unique_or_error(User, {("username",): ("username", username_taken())}):
        user.save()
    return user
