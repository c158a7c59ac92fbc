"""Images: the list a user may deploy from, import by path (staff), upload with a progress
bar (staff and resellers), who an image is shared with (its owner, or staff), delete.
Who may do what is decided in apps.images (services, sharing, removal), which the API
calls too; these views use its predicates to show or hide pages and buttons."""

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from apps.accounts.tenancy import is_staff_user
from apps.images.models import Image, ImageStatus
from apps.images.removal import delete_image
from apps.images.selectors import visible_images
from apps.images.services import import_image, may_import_from_path, may_upload_images
from apps.images.sharing import may_change_image, share_image
from apps.images.uploads import IncomingUploadHandler
from apps.jobs.runner import TargetBusy
from apps.jobs.selectors import visible_jobs
from apps.ui.access import signed_in
from apps.ui.forms.images import ImageDeleteForm, ImageImportForm, ImageShareForm, ImageUploadForm
from apps.ui.forms.vms import apply_errors


@signed_in
def image_list(request):
    images = visible_images(request.user).select_related("owner")
    if is_staff_user(request.user):  # how many VMs use an image is the provider's business
        images = images.annotate(vm_count=Count("vms", distinct=True))
    context = {"images": images.order_by("name"), "may_upload": may_upload_images(request.user)}
    return render(request, "ui/images/list.html", context)


@signed_in
def image_detail(request, pk):
    image = get_object_or_404(visible_images(request.user).select_related("owner"), pk=pk)
    form = None
    if may_change_image(request.user, image):
        form = ImageShareForm(request.POST or None, image=image, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                share_image(request.user, image, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Sharing of %(name)s saved.") % {"name": image.name})
                return redirect("ui:image_detail", image.pk)
    import_job = None
    if image.status == ImageStatus.PENDING:  # its import is still running: link to it
        import_job = (
            visible_jobs(request.user)
            .filter(target_type=ContentType.objects.get_for_model(Image), target_id=image.pk)
            .order_by("-created_at")
            .first()
        )
    may_delete = may_change_image(request.user, image)
    context = {"image": image, "form": form, "import_job": import_job, "may_delete": may_delete}
    return render(request, "ui/images/detail.html", context)


def _import(request, form, source, uploaded=False):
    """Start the image_import job with the form's fields (apps.images.services.import_image)
    and return it, or None with the service's reasons on the form. The request only checks
    the file (qemu-img info and check, the first 64 KiB): the job copies it."""
    data = form.cleaned_data
    try:
        _image, job = import_image(
            request.user,
            source,
            name=data["name"],
            os_family=data["os_family"],
            os_version=data["os_version"],
            guest_config=data["guest_config"],
            visibility=data["visibility"] or None,
            uploaded=uploaded,
            request_id=request.request_id,
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    messages.success(request, _("Importing image %(name)s.") % {"name": data["name"]})
    return job


@signed_in
def image_import(request):
    """Import an image file already on the panel machine: checked here, copied by a job
    whose page opens next."""
    if not may_import_from_path(request.user):
        raise Http404
    form = ImageImportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        job = _import(request, form, form.cleaned_data["path"])
        if job is not None:
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/images/import.html", {"form": form})


@csrf_exempt
def image_upload(request):
    """The upload is streamed into the image store's incoming folder (never held in
    memory). Under daphne each request runs its synchronous code in a thread of its own
    (Django's ThreadSensitiveContext), so writing a large upload to disk does not hold up
    other pages. The CSRF check runs in the inner view, after the upload handler is set."""
    request.upload_handlers = [IncomingUploadHandler(request)]
    return _image_upload(request)


@csrf_protect
@signed_in
def _image_upload(request):
    if not may_upload_images(request.user):
        raise Http404
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = ImageUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST":
        job = None
        if form.is_valid():
            job = _import(request, form, form.cleaned_data["file"].temporary_file_path(), uploaded=True)
        if wants_json:
            if job is not None:
                return JsonResponse({"url": reverse("ui:job_detail", args=[job.pk])})
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        if job is not None:
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/images/upload.html", {"form": form})


@signed_in
def image_delete(request, pk):
    """Confirm by typing the image's name; starts image_delete and opens its job. Refused
    (on the form) while VMs use the image. Only its owner or staff may delete it."""
    image = get_object_or_404(visible_images(request.user), pk=pk)
    if not may_change_image(request.user, image):
        raise Http404
    form = ImageDeleteForm(request.POST or None, image=image)
    if request.method == "POST" and form.is_valid():
        try:
            job = delete_image(image, actor=request.user, request_id=request.request_id)
        except ValidationError as exc:
            apply_errors(form, exc)  # `image` is not on the form: above it
        except TargetBusy as exc:
            form.add_error(None, _("The image is busy with job %(job)s.") % {"job": exc.job.pk})
        else:
            return redirect("ui:job_detail", job.pk)
    return render(request, "ui/images/delete.html", {"image": image, "form": form})
