"""/api/v1/images/: the images the caller may use, and the image actions the web UI offers
too, through the same services (apps.images.services, .sharing, .removal), which decide
who may do what:

- `PATCH` visibility and `shared_with` (the owner or staff; public: staff only);
- `DELETE`: 202 with the `image_delete` job (refused while VMs were made from the image);
- `POST` (staff): import a file on the panel machine; `POST upload/` (staff, resellers):
  a multipart upload, streamed into the image store. Both answer 202 with the image
  (pending) and its `image_import` job."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from apps.api.base import ApiViewSet, JobLinkSerializer, JobStartedSerializer, accepted
from apps.api.fields import StrictCharField, StrictChoiceField, StrictIntegerField
from apps.api.idempotency import idempotent
from apps.images.filtersets import ImageFilterSet
from apps.images.models import GuestConfig, Image, OsFamily, Visibility
from apps.images.removal import delete_image
from apps.images.selectors import visible_images
from apps.images.services import check_may_import, import_image
from apps.images.sharing import share_image
from apps.images.uploads import IncomingUploadHandler

MAX_ID = 2**63 - 1


class ImageSerializer(serializers.ModelSerializer):
    shared_with = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Image
        fields = [
            "id", "name", "os_family", "os_version", "format", "virtual_size_bytes", "checksum_sha256", "owner",
            "status", "created_at", "visibility", "shared_with",
        ]  # fmt: skip
        read_only_fields = fields


class ImageShareSerializer(serializers.Serializer):
    visibility = StrictChoiceField(choices=Visibility.choices, required=False)
    shared_with = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=1000
    )


class ImageFieldsSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    os_family = StrictChoiceField(choices=OsFamily.choices)
    os_version = StrictCharField(max_length=32, required=False, allow_blank=True, default="")
    guest_config = StrictChoiceField(choices=GuestConfig.choices, default=GuestConfig.CUSTOMIZE)
    visibility = StrictChoiceField(
        choices=Visibility.choices, required=False, help_text="Default: public for staff, private for others."
    )


class ImageImportSerializer(ImageFieldsSerializer):
    path = StrictCharField(max_length=500, help_text="A qcow2 or raw file on the panel machine.")


class ImageUploadSerializer(ImageFieldsSerializer):
    file = serializers.FileField(help_text="A qcow2 or raw file.")


ImageAccepted = inline_serializer("ImageAccepted", {"image": ImageSerializer(), "job": JobLinkSerializer()})


class ImageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ImageSerializer
    filterset_class = ImageFilterSet
    search_fields = ["name", "os_version"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    queryset = Image.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return visible_images(self.request.user).prefetch_related("shared_with")

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if self.action == "upload":  # before anything (a CSRF check, the parser) reads the body
            request.upload_handlers = [IncomingUploadHandler(request)]
        return drf_request

    @extend_schema(request=ImageShareSerializer, responses=ImageSerializer)
    def partial_update(self, request, pk=None):
        """Change who sees the image (its owner or staff; public: staff only)."""
        image = self.get_object()
        share_image(request.user, image, **self._valid(ImageShareSerializer))
        return Response(self._out(self.get_queryset().get(pk=image.pk)))

    @extend_schema(request=None, responses={202: JobStartedSerializer})
    @idempotent
    def destroy(self, request, pk=None):
        """Delete the image (its owner or staff): 202 with the image_delete job, which removes
        the copies on the hosts and the file. Refused (400, `image`) while VMs use it."""
        job = delete_image(self.get_object(), actor=request.user, request_id=self.request_id)
        return accepted(request, job)

    @extend_schema(request=ImageImportSerializer, responses={202: ImageAccepted})
    @idempotent
    def create(self, request):
        """Import a file on the panel machine (staff): 202 with the image (pending) and the
        image_import job that copies it into the image store."""
        check_may_import(request.user, uploaded=False)
        data = self._valid(ImageImportSerializer)
        image, job = import_image(request.user, data.pop("path"), **data, request_id=self.request_id)
        return accepted(request, job, image=self._out(image))

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses={202: ImageAccepted})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request):
        """Upload a file (staff, resellers; multipart/form-data): 202 with the image
        (pending) and the image_import job that moves it into the image store."""
        check_may_import(request.user, uploaded=True)
        data = self._valid(ImageUploadSerializer)
        path = data.pop("file").temporary_file_path()
        image, job = import_image(request.user, path, uploaded=True, **data, request_id=self.request_id)
        return accepted(request, job, image=self._out(image))

    def _valid(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _out(self, image):
        return ImageSerializer(image, context=self.get_serializer_context()).data
