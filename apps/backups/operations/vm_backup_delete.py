"""Delete a backup (docs/backups.md): its restic snapshot is forgotten and the repository
pruned (the data no other backup shares is freed); then its row goes. A failed backup has
no snapshot, or one tagged with its id that the failure left: forgotten too."""

from apps.backups import restic
from apps.backups.models import Backup

STEPS = ["Forget the backup"]


def run(ctx, vm, backup_id, was=None):
    backup = Backup.objects.select_related("repository").get(pk=backup_id, vm=vm)
    repository = backup.repository
    with ctx.step("Forget the backup"):
        restic.unlock(repository)
        ids = restic.snapshot_ids(repository, backup.tag)
        if backup.restic_snapshot_id and backup.restic_snapshot_id not in ids:
            ctx.note(f"restic snapshot {backup.restic_snapshot_id[:8]} is no longer in {repository.name}")
        before = restic.stored_bytes(repository)
        if ids:
            restic.forget(repository, ids, prune=True)
        freed = before - restic.stored_bytes(repository)
        backup.delete()
        ctx.note(f"{len(ids)} restic snapshot(s) forgotten, {max(freed, 0) / 2**20:.1f} MiB freed in {repository.name}")


def on_failure(ctx, vm):
    Backup.objects.filter(pk=ctx.params["backup_id"]).update(state=ctx.params.get("was") or "ready")
