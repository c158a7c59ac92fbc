"""Reading images for a user: the tenancy scope (apps.accounts.tenancy) applied to images,
which may also be public or shared. An image outside the scope is "not found"."""

from django.db.models import Q

from apps.accounts.tenancy import is_staff_user, owners_q
from apps.images.models import Image, Visibility


def visible_images(user):
    """Public images, the provider's shared ones shared with the user, and the user's own
    (for a reseller: its customers' too). Staff see all."""
    if is_staff_user(user):
        return Image.objects.all()
    return Image.objects.filter(
        owners_q(user) | Q(visibility=Visibility.PUBLIC) | Q(visibility=Visibility.SHARED, shared_with=user)
    ).distinct()


def can_use_image(user, image):
    """True if `user` may order a VM (or reinstall one) from `image`."""
    return visible_images(user).filter(pk=image.pk).exists()
