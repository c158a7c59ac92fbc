"""Bringing image files into the panel's image store.

Two ways in: `import_image_file` does it all at once (console commands, the make-image
operation, tests); `start_image_import` is for web requests: it runs only the fast checks
(name, file, format, content), registers the image as pending and queues the
`image_import` job, which copies the file with its checksum and marks the image ready.
No web request copies an image file."""

import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.uniques import unique_or_error
from apps.images import files
from apps.images.models import GuestConfig, Image, ImageStatus, Visibility

logger = logging.getLogger("vmmanager.images")

IMPORT_OPERATION = "image_import"


def store_dir():
    return Path(settings.VMM_IMAGE_DIR)


def incoming_dir():
    """Uploads land here, in the store's file system, so that taking them in is a rename."""
    return store_dir() / ".incoming"


def name_taken(name):
    return _("An image named %(name)r already exists.") % {"name": name}


def check_source(source, *, name, owner):
    """The fast checks before any copy: the name is free for `owner`, the file exists and
    is a disk image we accept (files.inspect). Returns its ImageFileInfo. Raises
    ValidationError naming the field (`name` or `file`)."""
    if Image.objects.filter(owner=owner, name=name).exists():
        raise ValidationError({"name": ValidationError(name_taken(name), "unique")})
    if not Path(source).is_file():
        raise ValidationError({"file": _("No such file: %(path)s") % {"path": source}})
    try:
        return files.inspect(source)
    except files.ImageFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc


def store_file(image, source, info, *, move=False, note=lambda text: None):
    """Put the file at `source` into the store for `image` (copied, or moved when `move`:
    it must then be on the store's file system), with its SHA-256, and mark the image
    ready. Nothing half-copied is left if this fails."""
    store = store_dir()
    store.mkdir(parents=True, exist_ok=True)
    destination = store / f"{uuid.uuid4()}.{info.format}"
    partial = partial_path(image)
    try:
        if move:
            checksum = files.sha256_of(source)
            os.replace(source, destination)
        else:
            checksum = files.copy_with_checksum(source, partial)
            os.replace(partial, destination)
        note(_("%(mib)d MiB, SHA-256 %(sum)s") % {"mib": destination.stat().st_size // 2**20, "sum": checksum[:16]})
        image.format = info.format
        image.path = str(destination)
        image.virtual_size_bytes = info.virtual_size_bytes
        image.file_size_bytes = destination.stat().st_size
        image.checksum_sha256 = checksum
        image.status = ImageStatus.READY
        image.status_reason = ""
        image.full_clean()
        image.save()
    except BaseException:
        partial.unlink(missing_ok=True)
        destination.unlink(missing_ok=True)
        raise
    return image


def partial_path(image):
    # Named after the image so that the clean-up of a job whose worker died finds it.
    return store_dir() / f".import-{image.pk}.partial"


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
    """Check the image file at `source`, copy (or with `move`, move) it into the image
    store and register it as ready, all in this call. Returns the Image. Raises
    ValidationError naming the field: `name` when taken, `file` when the file is missing
    or not a usable image. Nothing is left behind on failure (no row, no file)."""
    info = check_source(source, name=name, owner=owner)
    with transaction.atomic():
        image = _new_image(name, os_family, os_version, guest_config, owner, visibility, info)
        store_file(image, source, info, move=move)
    logger.info("imported image %s (%s, %d bytes virtual) from %s", name, info.format, info.virtual_size_bytes, source)
    return image


def start_image_import(
    source,
    *,
    name,
    os_family,
    os_version="",
    guest_config=GuestConfig.CUSTOMIZE,
    owner=None,
    visibility=Visibility.PUBLIC,
    uploaded=False,
    actor=None,
    request_id=None,
):
    """Check `source` (see check_source), register the image as pending and queue the
    image_import job that copies it into the store. Returns (image, job).

    With `uploaded`, `source` is an upload in incoming_dir(): it is taken over at once
    (renamed, so the request's clean-up cannot remove it) and moved into the store by
    the job; it is deleted if anything fails. Raises ValidationError like check_source."""
    from apps.jobs import runner

    try:
        info = check_source(source, name=name, owner=owner)
    except ValidationError:
        if uploaded:
            Path(source).unlink(missing_ok=True)
        raise
    if uploaded:
        kept = incoming_dir() / f"{uuid.uuid4()}.upload"
        os.replace(source, kept)
        source = kept
    try:
        with transaction.atomic():
            image = _new_image(name, os_family, os_version, guest_config, owner, visibility, info)
            job = runner.submit(
                IMPORT_OPERATION,
                image,
                actor=actor,
                request_id=request_id,
                params={"source": str(source), "move": uploaded},
            )
    except BaseException:
        if uploaded:
            Path(source).unlink(missing_ok=True)
        raise
    return image, job


def _new_image(name, os_family, os_version, guest_config, owner, visibility, info):
    image = Image(
        name=name,
        os_family=os_family,
        os_version=os_version,
        format=info.format,
        guest_config=guest_config,
        virtual_size_bytes=info.virtual_size_bytes,
        owner=owner,
        visibility=visibility,
        status=ImageStatus.PENDING,
    )
    # The name was checked by check_source; a twin registered since is caught by the insert.
    image.full_clean(validate_unique=False, validate_constraints=False)
    taken = ("name", name_taken(name))
    with unique_or_error(Image, {"image_name_unique_per_owner": taken, "image_name_unique_for_provider": taken}):
        image.save()
    return image
