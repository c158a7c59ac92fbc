import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.images import files
from apps.images.models import GuestConfig, Image, ImageStatus, Visibility

logger = logging.getLogger("vmmanager.images")


def import_image_file(
    source,
    *,
    name,
    os_family,
    os_version="",
    guest_config=GuestConfig.CUSTOMIZE,
    owner=None,
    visibility=Visibility.PUBLIC,
    move=False,
):
    """Copy the image file at `source` into the image store and register it as ready.

    With `move` the file is moved instead of copied (it must be on the store's file
    system). Returns the Image. Raises ValidationError naming the field: `name` when
    taken, `file` when the file is missing or not a usable image. Nothing is left behind
    on failure (no row, no half-copied file)."""
    source = Path(source)
    if Image.objects.filter(owner=owner, name=name).exists():
        raise ValidationError({"name": f"An image named {name!r} already exists."})
    if not source.is_file():
        raise ValidationError({"file": f"No such file: {source}"})
    try:
        info = files.inspect(source)
    except files.ImageFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc

    store = Path(settings.VMM_IMAGE_DIR)
    store.mkdir(parents=True, exist_ok=True)
    destination = store / f"{uuid.uuid4()}.{info.format}"
    partial = destination.with_suffix(destination.suffix + ".partial")
    try:
        if move:
            checksum = files.sha256_of(source)
            os.replace(source, destination)
        else:
            checksum = files.copy_with_checksum(source, partial)
            os.replace(partial, destination)
        with transaction.atomic():
            image = Image(
                name=name,
                os_family=os_family,
                os_version=os_version,
                format=info.format,
                guest_config=guest_config,
                path=str(destination),
                virtual_size_bytes=info.virtual_size_bytes,
                file_size_bytes=destination.stat().st_size,
                checksum_sha256=checksum,
                owner=owner,
                visibility=visibility,
                status=ImageStatus.READY,
            )
            image.full_clean()
            image.save()
    except BaseException:
        partial.unlink(missing_ok=True)
        destination.unlink(missing_ok=True)
        raise
    logger.info("imported image %s (%s, %d bytes virtual) from %s", name, info.format, info.virtual_size_bytes, source)
    return image
