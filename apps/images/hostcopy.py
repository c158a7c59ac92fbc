"""An image's copy on a host: made once through the libvirt storage API (so remote hosts
need no shared files), verified against the image's checksum, reused after."""

import logging

from django.db import transaction
from django.utils import timezone

from apps.hosts.hypervisor import hypervisor_for
from apps.images.models import CopyStatus, ImageCopy
from apps.virt.errors import NotFound, OperationFailed

logger = logging.getLogger("vmmanager.images")


def volume_name(image):
    # The checksum in the name: an image whose file changed never reuses a stale copy.
    return f"image-{image.pk}-{image.checksum_sha256[:12]}.{image.format}"


def ensure_on_host(image, host, note=lambda text: None):
    """Return the ready ImageCopy of `image` on `host`, copying and verifying it first if
    the host lacks it (or its copy went missing). Concurrent deploys to one host wait for
    one copy instead of making two. Raises the driver's errors, or OperationFailed when
    the copy on the host does not match the image's checksum (the bad copy is removed)."""
    driver = hypervisor_for(host)
    with transaction.atomic():
        copy, _ = ImageCopy.objects.select_for_update().get_or_create(
            image=image, host=host, defaults={"volume": volume_name(image)}
        )
        if copy.status == CopyStatus.READY and copy.volume == volume_name(image):
            try:
                info = driver.volume_info(host.storage_pool, copy.volume)
                note(f"{image.name} is already on {host.name}")
                return copy
            except NotFound:
                note(f"the copy of {image.name} on {host.name} went missing: copying again")
        copy.volume = volume_name(image)
        try:
            driver.delete_volume(host.storage_pool, copy.volume)  # a half-made copy from an earlier try
        except NotFound:
            pass
        info = driver.upload_volume(host.storage_pool, copy.volume, image.path, image.format)
        note(f"copied {image.file_size_bytes // 2**20} MiB to {host.name}")
        checksum = driver.volume_sha256(host.storage_pool, copy.volume)
        if checksum != image.checksum_sha256:
            driver.delete_volume(host.storage_pool, copy.volume)
            copy.status = CopyStatus.ERROR
            copy.save()
            raise OperationFailed(
                f"the copy of {image.name} on {host.name} does not match the image's checksum: removed"
            )
        note("checksum verified")
        copy.path = info.path
        copy.status = CopyStatus.READY
        copy.verified_at = timezone.now()
        copy.save()
        return copy
