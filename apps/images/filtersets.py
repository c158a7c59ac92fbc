"""The image list's filters (API and UI): visibility, status, OS family, owner id. The
queryset given is already what the caller may see."""

from apps.core.filtersets import BaseFilterSet
from apps.images.models import Image


class ImageFilterSet(BaseFilterSet):
    class Meta:
        model = Image
        fields = ["visibility", "status", "os_family", "owner"]
