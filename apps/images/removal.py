"""Deleting an image: refused while a VM was made from it (linked clones need the host
copies; every VM row points at its image); otherwise the `image_delete` job removes the
copies on the hosts, the file in the store and the image. Only the image's owner or staff
may delete it (apps.images.sharing); both the web UI and the API call `delete_image`."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.images.models import ImageStatus
from apps.images.sharing import check_may_change


def check_deletable(image):
    """Raise ValidationError({"image": reason}) if `image` cannot be deleted now."""
    if image.status == ImageStatus.PENDING:
        raise ValidationError({"image": _("The image is still being imported.")})
    used = image.vms.count()
    if used:
        raise ValidationError(
            {
                "image": ngettext(
                    "%(count)d VM was made from this image: delete or reinstall it first.",
                    "%(count)d VMs were made from this image: delete or reinstall them first.",
                    used,
                )
                % {"count": used}
            }
        )


def delete_image(image, *, actor=None, request_id=None):
    """Queue the deletion of `image` for `actor` (None: the panel itself, e.g. a console
    command); returns the Job. Raises PermissionDenied if `actor` is neither the image's
    owner nor staff, ValidationError (see check_deletable), or the runner's TargetBusy /
    UnknownOperation."""
    from apps.jobs import runner

    if actor is not None:
        check_may_change(actor, image)
    check_deletable(image)
    return runner.submit("image_delete", image, actor=actor, request_id=request_id)
