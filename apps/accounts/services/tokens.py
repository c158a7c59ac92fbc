"""API tokens: each user issues and revokes its own. Raises as apps.accounts.services says."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.tokens import ApiToken
from apps.core.uniques import unique_or_error

NAME_MAX_LENGTH = 64


def name_taken() -> str:
    return _("You already have a token with this name.")


def issue_token(*, actor: User, name: str, read_only: bool = False) -> tuple[ApiToken, str]:
    """A new token of `actor`'s; returns (token, secret). The secret is never stored."""
    if not name or len(name) > NAME_MAX_LENGTH:
        message = _("Use 1 to %(high)d characters.") % {"high": NAME_MAX_LENGTH}
        raise ValidationError({"name": ValidationError(message, "invalid")})
    if ApiToken.objects.filter(user=actor, name=name).exists():
        raise ValidationError({"name": ValidationError(name_taken(), "unique")})
    with unique_or_error(ApiToken, {"api_token_name_unique_per_user": ("name", name_taken())}):
        return ApiToken.objects.issue(actor, name, read_only=bool(read_only))


def revoke_token(*, actor: User, token: ApiToken) -> None:
    """Delete `token`: the next request with its secret is 401. Only its user revokes it."""
    if token.user_id != actor.pk:
        raise PermissionDenied(_("Only the token's user may revoke it."))
    token.delete()
