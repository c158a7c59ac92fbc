"""/api/v1/images/: the images the caller may use. The owner (or staff) changes who sees
an image: private, shared with chosen users it can see, or public (staff only). Deleting
an image that VMs were made from is refused (409)."""

from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied

from apps.accounts.models import User
from apps.accounts.tenancy import is_staff_user, visible_images, visible_users
from apps.api.base import ApiViewSet
from apps.images.filtersets import ImageFilterSet
from apps.images.models import Image, Visibility

READ_ONLY = [
    "name",
    "os_family",
    "os_version",
    "format",
    "virtual_size_bytes",
    "checksum_sha256",
    "owner",
    "status",
    "created_at",
]


class ImageSerializer(serializers.ModelSerializer):
    shared_with = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=User.objects.none())

    class Meta:
        model = Image
        fields = ["id"] + READ_ONLY + ["visibility", "shared_with"]
        read_only_fields = READ_ONLY

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["shared_with"].child_relation.queryset = visible_users(request.user)

    def validate_visibility(self, value):
        if value == Visibility.PUBLIC and not is_staff_user(self.context["request"].user):
            raise serializers.ValidationError("Only the provider's staff may make an image public.", code="forbidden")
        return value


class ImageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    serializer_class = ImageSerializer
    filterset_class = ImageFilterSet
    search_fields = ["name", "os_version"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    queryset = Image.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return visible_images(self.request.user).prefetch_related("shared_with")

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        if request.method not in ("GET", "HEAD", "OPTIONS") and not self._may_change(request.user, obj):
            raise PermissionDenied("Only the image's owner (or staff) may change or delete it.")

    @staticmethod
    def _may_change(user, image):
        return is_staff_user(user) or (image.owner_id is not None and image.owner_id == user.pk)
