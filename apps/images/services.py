"""Bringing image files into the panel's image store.

Two ways in: `import_image_file` does it all at once (console commands, the make-image
operation, tests); `start_image_import` is for web requests: it runs only the fast checks
(name, file, format, content), registers the image as pending and queues the
`image_import` job, which copies the file with its checksum and marks the image ready.
No web request copies an image file.

`import_image` is what the web UI and the API call for a user: it holds the rules on who
may bring images in (a file on the panel machine: staff; an upload: staff and resellers),
what visibility they may give it (apps.images.sharing) and who owns it (nobody, i.e. the
provider, for staff; else the user), then calls `start_image_import`."""

import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounts.models import Role
from apps.accounts.tenancy import is_staff_user
from apps.images import files, sharing
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
        raise _name_taken(name)
    try:
        is_file = Path(source).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        is_file = False
    if not is_file:
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


def may_import_from_path(actor):
    """May `actor` import a file already on the panel machine? Staff only: it reads any
    file the panel can read."""
    return is_staff_user(actor)


def may_upload_images(actor):
    """May `actor` upload image files of its own? Staff and resellers."""
    return is_staff_user(actor) or getattr(actor, "role", None) == Role.RESELLER


def check_may_import(actor, *, uploaded):
    """Raise PermissionDenied unless `actor` may bring an image in this way (a door calls
    this before reading a body it would refuse anyway)."""
    if uploaded and not may_upload_images(actor):
        raise PermissionDenied(_("Only staff and resellers may upload images."))
    if not uploaded and not may_import_from_path(actor):
        raise PermissionDenied(_("Only the provider's staff may import a file from the panel machine."))


def import_image(
    actor,
    source,
    *,
    name,
    os_family,
    os_version="",
    guest_config=GuestConfig.CUSTOMIZE,
    visibility=None,
    uploaded=False,
    request_id=None,
):
    """Bring the image file at `source` in for `actor`: a path on the panel machine, or
    with `uploaded` an upload in incoming_dir(). The image belongs to the provider when
    `actor` is staff, else to `actor`; `visibility` None is sharing.default_visibility.
    Returns (image, job) like start_image_import.

    Raises PermissionDenied (see check_may_import), ValidationError naming `visibility`,
    `name`, or the source: `path` for a file on the panel machine, `file` for an upload."""
    check_may_import(actor, uploaded=uploaded)
    visibility = sharing.default_visibility(actor) if visibility is None else visibility
    sharing.check_visibility(actor, visibility)
    try:
        return start_image_import(
            source,
            name=name,
            os_family=os_family,
            os_version=os_version,
            guest_config=guest_config,
            owner=None if is_staff_user(actor) else actor,
            visibility=visibility,
            uploaded=uploaded,
            actor=actor,
            request_id=request_id,
        )
    except ValidationError as exc:
        if uploaded or not hasattr(exc, "error_dict"):
            raise
        errors = {"path" if key == "file" else key: value for key, value in exc.error_dict.items()}
        raise ValidationError(errors) from exc


def _name_taken(name):
    message = _("An image named %(name)r already exists.") % {"name": name}
    return ValidationError({"name": ValidationError(message, code="unique")})


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
    image.full_clean()
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError as exc:
        # Another import of the same name committed between the check and this insert.
        raise _name_taken(name) from exc
    return image
