"""Delete an image: check again that no VM uses it, remove its copy from every host
(through the driver, so remote hosts need no shared files), remove its file from the
image store and forget it. A host that cannot be reached fails the job with the reason;
the copies already removed stay removed and the job can be run again."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.hosts.hypervisor import hypervisor_for
from apps.images.models import ImageCopy
from apps.images.removal import check_deletable
from apps.jobs.runner import OperationError
from apps.virt.errors import NotFound

STEPS = [
    "Check that no VM uses the image",
    "Remove the copies from the hosts",
    "Remove the image file",
    "Forget the image",
]


def run(ctx, image):
    with ctx.step("Check that no VM uses the image"):
        try:
            check_deletable(image)  # a VM may have been ordered since the job was queued
        except ValidationError as exc:
            raise OperationError("; ".join(exc.messages)) from exc
    with ctx.step("Remove the copies from the hosts"):
        copies = list(image.copies.select_related("host"))
        if not copies:
            ctx.note("no host has a copy")
        for copy in copies:
            with transaction.atomic():
                # Locked like a deploy locks it (apps.images.hostcopy): never removed mid-copy.
                locked = ImageCopy.objects.select_for_update().filter(pk=copy.pk).first()
                if locked is None:
                    continue
                try:
                    hypervisor_for(copy.host).delete_volume(copy.host.storage_pool, copy.volume)
                    ctx.note(f"removed from {copy.host.name}")
                except NotFound:
                    ctx.note(f"already gone from {copy.host.name}")
                locked.delete()
    with ctx.step("Remove the image file"):
        path = Path(image.path) if image.path else None
        store = Path(settings.VMM_IMAGE_DIR).resolve()
        if path is None or not path.exists():
            ctx.note("no file")
        elif store not in path.resolve().parents:
            ctx.note(f"{path} is outside the image store: left in place")
        else:
            path.unlink()
            ctx.note(f"removed {path.name}")
    with ctx.step("Forget the image"):
        ctx.job.result = {"image": image.name}
        image.delete()
