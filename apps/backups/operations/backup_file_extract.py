"""Take one file or directory out of a backup for its owner (docs/backups.md, "Files from a
backup"): the backup's raw disk is restored from restic to a scratch file on the panel's
machine (sparse), the file is copied out of it (a directory packed as a .tar.gz) with
libguestfs (read-only; apps.virt.guestfiles) and kept in the private download area until it
expires. The scratch disk is deleted in every outcome. The job's target is the BackupFile;
the backup is `ready` again afterwards."""

import os
import shutil

from django.conf import settings
from django.utils import timezone

from apps.backups import files, restic
from apps.backups.models import Backup, BackupFile, BackupFileKind, BackupFileState, BackupState
from apps.jobs.runner import OperationError
from apps.virt import guestfiles
from apps.vms.deploy.steps import remove_work_dir, work_dir

STEPS = ["Fetch the backup's disk", "Take the file out", "Remove the scratch disk", "Keep it for download"]


def run(ctx, backup_file, backup_id):
    backup_file = BackupFile.objects.get(pk=backup_file.pk)
    backup = Backup.objects.select_related("repository").get(pk=backup_id)
    work = work_dir(ctx)
    disk = work / "disk.raw"
    partial = work / "file"
    max_bytes = settings.VMM_BACKUP_FILE_MAX_MB * 2**20
    try:
        with ctx.step("Fetch the backup's disk"):
            size = restic.dump_to_file(backup.repository, backup.restic_snapshot_id, backup.filename, disk)
            if backup.size_bytes is not None and size != backup.size_bytes:
                raise OperationError(f"the backup holds {size} bytes, not the {backup.size_bytes} it was taken with")
            ctx.note(
                f"{backup.vm_name}'s disk as it was at {backup.created_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({size / 2**30:.2f} GiB, restic snapshot {backup.restic_snapshot_id[:8]})"
            )
        with ctx.step("Take the file out"):
            try:
                got = guestfiles.extract(disk, backup_file.path, partial, max_bytes=max_bytes)
            except guestfiles.FileRefused as e:
                raise OperationError(str(e)) from e
            what = "a directory, packed as a .tar.gz of" if got["kind"] == BackupFileKind.DIRECTORY else "a file of"
            where = f" (at {got['path']})" if got["path"] != backup_file.path else ""
            ctx.note(f"{backup_file.path}{where}: {what} {got['size']} bytes, from {got['mounted']}")
    finally:
        with ctx.step("Remove the scratch disk"):
            disk.unlink(missing_ok=True)
            ctx.note("the restored disk is deleted")
    with ctx.step("Keep it for download"):
        target = files.stored_path(backup_file)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(partial, 0o600)
        shutil.move(partial, target)
        expires = files.expires_at()
        BackupFile.objects.filter(pk=backup_file.pk).update(
            state=BackupFileState.READY, kind=got["kind"], size_bytes=got["size"], expires_at=expires
        )
        ctx.note(f"downloadable by its owner until {expires:%Y-%m-%d %H:%M} UTC")
    remove_work_dir(ctx)
    Backup.objects.filter(pk=backup.pk, state=BackupState.RESTORING).update(state=BackupState.READY)
    ctx.job.result = {"backup_id": backup.pk, "file_id": backup_file.pk, "kind": got["kind"], "size_bytes": got["size"]}


def on_failure(ctx, backup_file):
    remove_work_dir(ctx)
    files.remove_data(backup_file.pk)
    BackupFile.objects.filter(pk=backup_file.pk).update(
        state=BackupFileState.FAILED, error=(ctx.job.error or "")[:2000], expires_at=timezone.now()
    )
    Backup.objects.filter(pk=ctx.params["backup_id"], state=BackupState.RESTORING).update(state=BackupState.READY)
