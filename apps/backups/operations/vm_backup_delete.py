"""Delete a backup (docs/backups.md): its restic snapshot is forgotten and the repository
pruned (the data no other backup shares is freed); then its row goes. A failed backup has
no snapshot, or one tagged with its id that the failure left: forgotten too."""

from apps.backups.kept import forget_backup
from apps.backups.models import Backup

STEPS = ["Forget the backup"]


def run(ctx, vm, backup_id, was=None):
    backup = Backup.objects.select_related("repository").get(pk=backup_id, vm=vm)
    with ctx.step("Forget the backup"):
        forget_backup(ctx, backup)


def on_failure(ctx, vm):
    Backup.objects.filter(pk=ctx.params["backup_id"]).update(state=ctx.params.get("was") or "ready")
