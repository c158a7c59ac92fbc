"""Images: the list a user may deploy from, import by path (staff), upload with a progress
bar (staff and resellers), and who an image is shared with (its owner, or staff)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from apps.accounts.models import Role
from apps.accounts.tenancy import is_staff_user, visible_images
from apps.images.services import import_image_file
from apps.ui.access import signed_in, staff_only
from apps.ui.forms.images import ImageImportForm, ImageShareForm, ImageUploadForm
from apps.ui.forms.vms import apply_errors


def may_upload(user):
    return is_staff_user(user) or user.role == Role.RESELLER


def may_change(user, image):
    return is_staff_user(user) or (image.owner_id is not None and image.owner_id == user.pk)


@signed_in
def image_list(request):
    images = visible_images(request.user).select_related("owner")
    if is_staff_user(request.user):  # how many VMs use an image is the provider's business
        images = images.annotate(vm_count=Count("vms", distinct=True))
    context = {"images": images.order_by("name"), "may_upload": may_upload(request.user)}
    return render(request, "ui/images/list.html", context)


@signed_in
def image_detail(request, pk):
    image = get_object_or_404(visible_images(request.user).select_related("owner"), pk=pk)
    form = None
    if may_change(request.user, image):
        form = ImageShareForm(request.POST or None, instance=image, user=request.user)
        if request.method == "POST" and form.is_valid():
            form.save()
            messages.success(request, _("Sharing of %(name)s saved.") % {"name": image.name})
            return redirect("ui:image_detail", image.pk)
    return render(request, "ui/images/detail.html", {"image": image, "form": form})


def _import(request, form, source):
    """import_image_file with the form's fields; the image's page on success, else None
    with the service's reasons on the form (`file` errors go on the file/path field)."""
    data = form.cleaned_data
    try:
        image = import_image_file(
            source,
            name=data["name"],
            os_family=data["os_family"],
            os_version=data["os_version"],
            guest_config=data["guest_config"],
            owner=None if is_staff_user(request.user) else request.user,
            visibility=data["visibility"],
        )
    except ValidationError as exc:
        source_field = "path" if "path" in form.fields else "file"
        errors = {source_field if key == "file" else key: value for key, value in exc.message_dict.items()}
        apply_errors(form, ValidationError(errors))
        return None
    messages.success(request, _("Image %(name)s imported.") % {"name": image.name})
    return image


@staff_only
def image_import(request):
    """Copy an image file already on the panel machine into the store (in this request:
    a local copy with a checksum, no hypervisor involved)."""
    form = ImageImportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        image = _import(request, form, form.cleaned_data["path"])
        if image is not None:
            return redirect("ui:image_detail", image.pk)
    return render(request, "ui/images/import.html", {"form": form})


@csrf_exempt
def image_upload(request):
    """The upload is streamed to a temporary file (never held in memory), then imported.
    The CSRF check runs in the inner view, after the upload handler is in place."""
    request.upload_handlers = [TemporaryFileUploadHandler(request)]
    return _image_upload(request)


@csrf_protect
@signed_in
def _image_upload(request):
    if not may_upload(request.user):
        raise Http404
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = ImageUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST":
        image = None
        if form.is_valid():
            image = _import(request, form, form.cleaned_data["file"].temporary_file_path())
        if wants_json:
            if image is not None:
                return JsonResponse({"url": reverse("ui:image_detail", args=[image.pk])})
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        if image is not None:
            return redirect("ui:image_detail", image.pk)
    return render(request, "ui/images/upload.html", {"form": form})
