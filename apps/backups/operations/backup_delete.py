"""Delete a backup of a deleted VM (docs/backups.md, "Deleting a VM"): its restic snapshot is
forgotten and the repository pruned, then its row goes. The job's target is the backup (its
VM is gone); `vm_backup_delete` does the same for a live VM's backup."""

from apps.backups.kept import forget_backup
from apps.backups.models import Backup

STEPS = ["Forget the backup"]


def run(ctx, backup, was=None):
    backup = Backup.objects.select_related("repository").get(pk=backup.pk)
    with ctx.step("Forget the backup"):
        forget_backup(ctx, backup)


def on_failure(ctx, backup):
    Backup.objects.filter(pk=backup.pk).update(state=ctx.params.get("was") or "ready")
