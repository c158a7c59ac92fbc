"""Who may change an image, and whom it may be shown to: the one place for these rules.
The web UI and the API both call `share_image`; they use the predicates only to show or
hide what a user may not do.

- An image is changed (shared, deleted) by its owner or by staff; the provider's own
  images (no owner) by staff only. Anyone else gets PermissionDenied.
- Staff may make an image public; everyone else keeps it private or shares it with users
  they see (apps.accounts.tenancy.visible_users).
- Refused input raises ValidationError keyed by the field (`visibility`, `shared_with`).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.tenancy import is_staff_user, visible_users
from apps.images.models import Visibility


def may_change_image(actor, image):
    """Is `actor` the image's owner, or staff?"""
    return is_staff_user(actor) or (image.owner_id is not None and image.owner_id == actor.pk)


def check_may_change(actor, image):
    """Raise PermissionDenied unless `actor` may change (share, delete) `image`."""
    if not may_change_image(actor, image):
        raise PermissionDenied(_("Only the image's owner (or staff) may change or delete it."))


def visibilities_for(actor):
    """The visibilities `actor` may give an image, in the order a form offers them."""
    if is_staff_user(actor):
        return [Visibility.PRIVATE, Visibility.SHARED, Visibility.PUBLIC]
    return [Visibility.PRIVATE, Visibility.SHARED]


def default_visibility(actor):
    """What an image `actor` brings in is unless told otherwise: the provider's staff
    publish their images, everyone else keeps theirs private."""
    return Visibility.PUBLIC if is_staff_user(actor) else Visibility.PRIVATE


def check_visibility(actor, visibility):
    """Raise ValidationError({"visibility": ...}) if `actor` may not give an image `visibility`."""
    if visibility not in Visibility.values:
        raise ValidationError(
            {"visibility": ValidationError(_("One of: %(values)s.") % {"values": ", ".join(Visibility.values)})}
        )
    if visibility not in visibilities_for(actor):
        raise ValidationError(
            {"visibility": ValidationError(_("Only staff can make an image public."), code="forbidden")}
        )


def share_candidates(actor, image):
    """The users `actor` may share `image` with (those it sees, but the image's owner)."""
    return visible_users(actor).exclude(pk=image.owner_id).order_by("username")


def share_image(actor, image, *, visibility=None, shared_with=None):
    """Set `image`'s visibility and the users (ids) it is shared with; None leaves either
    as it is. The owner in `shared_with` is left out (it sees its image anyway).
    Returns the image. Raises PermissionDenied if `actor` may not change the image,
    ValidationError naming `visibility` or `shared_with` (a user `actor` does not see)."""
    check_may_change(actor, image)
    if visibility is not None:
        check_visibility(actor, visibility)
    users = None
    if shared_with is not None:
        wanted = {int(pk) for pk in shared_with} - {image.owner_id}
        users = list(visible_users(actor).filter(pk__in=wanted))
        unknown = sorted(wanted - {user.pk for user in users})
        if unknown:
            message = _("No such user: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}
            raise ValidationError({"shared_with": ValidationError(message, code="does_not_exist")})
    with transaction.atomic():
        if visibility is not None and visibility != image.visibility:
            image.visibility = visibility
            image.save(update_fields=["visibility", "updated_at"])
        if users is not None:
            image.shared_with.set(users)
    return image
