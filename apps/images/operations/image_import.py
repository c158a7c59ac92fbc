"""Import an image file into the image store: check it again (the file may have changed
since the form was sent), copy it (or move an upload) with its SHA-256, mark it ready.

Target: the pending Image that `apps.images.services.start_image_import` registered.
On failure the pending image and every file of the import are removed; the job keeps
the reason."""

from pathlib import Path

from django.utils.translation import gettext as _

from apps.images import files, services
from apps.images.models import Image, ImageStatus
from apps.jobs.runner import OperationError

STEPS = ["Check the image file", "Copy into the image store", "Register the image"]


def run(ctx, image, source, move=False):
    with ctx.step("Check the image file"):
        if image.status != ImageStatus.PENDING:
            raise OperationError(_("The image %(name)s is not waiting for an import.") % {"name": image.name})
        if not Path(source).is_file():
            raise OperationError(_("No such file: %(path)s") % {"path": source})
        try:
            info = files.inspect(source)
        except files.ImageFileError as exc:
            raise OperationError(str(exc)) from exc
        ctx.note(f"{info.format} ({info.kind}), {info.virtual_size_bytes // 2**20} MiB virtual")
    with ctx.step("Copy into the image store"):
        services.store_file(image, source, info, move=move, note=ctx.note)
    with ctx.step("Register the image"):
        ctx.job.result = {"image_id": image.pk}
        ctx.note(f"{image.name} (#{image.pk}) is ready")


def on_failure(ctx, image):
    """Remove what the import left: the partial copy, the upload, the pending image."""
    services.partial_path(image).unlink(missing_ok=True)
    if ctx.job.params.get("move"):
        Path(ctx.job.params["source"]).unlink(missing_ok=True)
    stored = Image.objects.filter(pk=image.pk).exclude(status=ImageStatus.READY).first()
    if stored is not None:  # a ready image is whole and stays
        if stored.path:
            Path(stored.path).unlink(missing_ok=True)
        stored.delete()
