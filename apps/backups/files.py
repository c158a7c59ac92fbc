"""Files from a backup (docs/backups.md, "Files from a backup"): the one place that decides
who may take a file or a directory (packed as a .tar.gz) out of a backup and download it;
both doors (API and web UI) call these functions.

- Who: the backup's owner only (the VM's owner; for a backup of a deleted VM, the owner it
  was kept for). Its reseller and staff, who see the backup, are refused (PermissionDenied:
  the files of a customer's disk are the customer's); anyone else gets Http404.
- `path`: absolute, normalized (no `.` or `..` parts, no repeated or trailing `/`; `/` itself
  is the whole filesystem tree), without NUL or other control characters, at most 1024
  characters; ValidationError on `path`. Whether it is a file or a directory is found by
  the job.
- The backup must be `ready`; it is `restoring` while the job reads it (not deleted, nor
  restored, meanwhile) and `ready` again after, in every outcome.
- The download area's quota: a user holds at most VMM_BACKUP_FILES_PER_USER files being
  taken out or ready to download (ValidationError on `quota`, code `quota_exceeded`); each
  at most VMM_BACKUP_FILE_MAX_MB (a directory: its size on disk and its archive; the job
  fails on a larger one, saying so).
- The file is downloadable by its owner only (Http404 for anyone else, staff included: no
  leak of what was asked) until it expires, VMM_BACKUP_FILE_TTL_HOURS after it was taken
  out; then it is gone (`FileGone`: 410), and the jobs reconciler's housekeeping deletes it.
"""

import datetime
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for
from apps.backups.models import Backup, BackupFile, BackupFileState, BackupState
from apps.jobs import runner

OPERATION = "backup_file_extract"
PATH_MAX = 1024
LIVE = (BackupFileState.EXTRACTING, BackupFileState.READY)


class FileGone(Exception):
    """The file expired (or its data is no longer in the download area)."""

    def __init__(self, backup_file):
        self.backup_file = backup_file
        super().__init__(_("This file expired and was deleted: take it out of the backup again."))


def area():
    """The private download area (made 0700 on first use)."""
    path = Path(settings.VMM_BACKUP_FILES_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def stored_path(backup_file):
    """Where the file's data is kept: `<area>/<id>/data`."""
    return area() / str(backup_file.pk) / "data"


def check_path(path):
    """`path` if it is an absolute, normalized path without control characters, else
    ValidationError on `path`."""
    if not isinstance(path, str):
        raise ValidationError({"path": _("Give a string.")})
    if not path:
        message = _("An absolute path of a file or directory in the backup.")
        raise ValidationError({"path": ValidationError(message, code="required")})
    if len(path) > PATH_MAX:
        raise ValidationError({"path": _("At most %(max)d characters.") % {"max": PATH_MAX}})
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise ValidationError({"path": _("No control characters (NUL, newlines, tabs).")})
    trailing = path != "/" and path.endswith("/")
    if not path.startswith("/") or trailing or "//" in path or os.path.normpath(path) != path:
        raise ValidationError(
            {
                "path": _(
                    "An absolute, normalized path of a file or directory (no . or .. parts, no repeated or trailing /)."
                )
            }
        )
    return path


def backup_for_owner(actor, backup):
    """(the backup, its owner) if `actor` is its owner; PermissionDenied for its reseller and
    staff (they see it), Http404 for anyone else."""
    key = getattr(backup, "pk", backup)
    found = None
    if str(key).isdigit():
        found = Backup.objects.filter(pk=key).select_related("owner", "repository", "vm").first()
    owner = found.vm.owner if found is not None and found.vm is not None else getattr(found, "owner", None)
    if found is None or (actor is not None and not acts_for(actor, owner)):
        raise Http404(_("No such backup."))
    if actor is not None and actor.pk != owner.pk:
        raise PermissionDenied(_("Only the VM's owner may take files out of its backups."))
    return found, owner


def extract_file(backup, *, path, actor=None, request_id=None):
    """Take the file or directory `path` out of `backup` for its owner (the
    backup_file_extract job). Returns (the BackupFile, the job)."""
    backup, owner = backup_for_owner(actor, backup)
    path = check_path(path)
    if backup.state != BackupState.READY:
        raise ValidationError({"backup": _("Only a ready backup can be read.")})
    with transaction.atomic():
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()  # one request of the owner at a time
        held = BackupFile.objects.filter(owner=owner, state__in=LIVE)
        live = held.exclude(state=BackupFileState.READY, expires_at__lte=timezone.now()).count()
        limit = settings.VMM_BACKUP_FILES_PER_USER
        if live >= limit:
            raise ValidationError(
                {
                    "quota": ValidationError(
                        _(
                            "At most %(max)d files taken out of backups at once (VMM_BACKUP_FILES_PER_USER), "
                            "%(used)d held: wait for one to expire."
                        )
                        % {"max": limit, "used": live},
                        code="quota_exceeded",
                    )
                }
            )
        claimed = Backup.objects.filter(pk=backup.pk, state=BackupState.READY).update(state=BackupState.RESTORING)
        if not claimed:
            raise ValidationError({"backup": _("Only a ready backup can be read.")})
        backup_file = BackupFile.objects.create(owner=owner, backup=backup, vm_name=backup.vm_name, path=path)
        job = runner.submit(OPERATION, backup_file, actor=actor, params={"backup_id": backup.pk}, request_id=request_id)
    return backup_file, job


def _expired(backup_file, now=None):
    return backup_file.expires_at is not None and backup_file.expires_at <= (now or timezone.now())


def files_of(actor):
    """The files `actor` took out of backups (only its own, whoever asks), newest first."""
    return BackupFile.objects.filter(owner=actor).select_related("backup")


def file_of(actor, backup_file):
    """`actor`'s own file `backup_file` (an id or a BackupFile), else Http404."""
    key = getattr(backup_file, "pk", backup_file)
    found = files_of(actor).filter(pk=key).first() if str(key).isdigit() else None
    if found is None:
        raise Http404(_("No such file."))
    return found


def is_gone(backup_file):
    """Whether the file expired (its data deleted, or about to be)."""
    return backup_file.state == BackupFileState.EXPIRED or (
        backup_file.state == BackupFileState.READY and _expired(backup_file)
    )


def open_download(actor, backup_file):
    """(the BackupFile, an open binary file of its data) for `actor`, its owner. Http404 for
    anyone else or a file not taken out (yet, or failed); FileGone once it expired."""
    found = file_of(actor, backup_file)
    if is_gone(found):
        raise FileGone(found)
    if found.state != BackupFileState.READY:
        raise Http404(_("This file is not ready to download."))
    try:
        return found, open(stored_path(found), "rb")
    except FileNotFoundError:
        raise FileGone(found) from None


def expires_at(now=None):
    return (now or timezone.now()) + datetime.timedelta(hours=settings.VMM_BACKUP_FILE_TTL_HOURS)


def remove_data(backup_file_id):
    shutil.rmtree(area() / str(backup_file_id), ignore_errors=True)


def remove_expired():
    """Housekeeping (the jobs reconciler, every minute): delete the data of expired files
    (their rows stay, `expired`, for the owner's list), and whatever the area holds for no
    file that is being taken out or ready (a deleted user's, a killed job's)."""
    now = timezone.now()
    for pk in BackupFile.objects.filter(state=BackupFileState.READY, expires_at__lte=now).values_list("pk", flat=True):
        if BackupFile.objects.filter(pk=pk, state=BackupFileState.READY).update(state=BackupFileState.EXPIRED):
            remove_data(pk)
    keep = {str(pk) for pk in BackupFile.objects.filter(state__in=LIVE).values_list("pk", flat=True)}
    root = Path(settings.VMM_BACKUP_FILES_DIR)
    if root.is_dir():
        for entry in root.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
