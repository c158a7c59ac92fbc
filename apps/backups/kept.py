"""Backups of deleted VMs (docs/backups.md, "Deleting a VM"): the one place that decides what
happens to a VM's backups when it is deleted, and who sees and deletes the backups a deleted
VM left. Both doors (API and web UI) call these functions.

- A VM deleted with `keep_backups` (the default: nothing is lost unless asked) leaves its
  backups to its owner: listed as backups of deleted VMs (`kept_backups`), counted in
  `max_backups`, deletable (`delete_kept_backup`: the `backup_delete` job, restic forget and
  prune) and restorable into a new VM (apps.backups.restore_new).
- Deleted with `keep_backups` false, the `vm_delete` job forgets them first
  (`forget_vm_backups`, registered with apps.vms.deletion): every restic snapshot tagged
  with the VM's id in each repository holding one of its backups, pruned; the rows go.
- Who: the backup's owner, its reseller and staff; anyone else gets Http404.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import owners_q
from apps.backups import restic
from apps.backups.models import Backup, BackupRepository, BackupState
from apps.jobs import runner

DELETE_OPERATION = "backup_delete"


def kept_backups(actor):
    """The backups of deleted VMs `actor` may see (staff: all), newest first."""
    rows = Backup.objects.filter(vm__isnull=True).select_related("repository", "owner")
    return rows if actor is None else rows.filter(owners_q(actor))


def kept_backup_of(actor, backup):
    """The backup of a deleted VM `backup` (an id or a Backup) `actor` may see, else Http404."""
    key = getattr(backup, "pk", backup)
    found = kept_backups(actor).filter(pk=key).first() if str(key).isdigit() else None
    if found is None:
        raise Http404(_("No such backup."))
    return found


def delete_kept_backup(backup, *, actor=None, request_id=None):
    """Delete a backup of a deleted VM (the backup_delete job: restic forget and prune). Returns the job."""
    backup = kept_backup_of(actor, backup)
    with transaction.atomic():
        claimed = Backup.objects.filter(pk=backup.pk, state__in=(BackupState.READY, BackupState.FAILED)).update(
            state=BackupState.DELETING
        )
        if not claimed:
            raise ValidationError({"backup": _("This backup is busy: wait for its job to end.")})
        params = {"was": backup.state}
        return runner.submit(DELETE_OPERATION, backup, actor=actor, params=params, request_id=request_id)


def _forget_tagged(repository, tag):
    """Forget (and prune) the repository's restic snapshots tagged `tag`: (their ids, bytes freed)."""
    restic.unlock(repository)
    ids = restic.snapshot_ids(repository, tag)
    before = restic.stored_bytes(repository)
    if ids:
        restic.forget(repository, ids, prune=True)
    return ids, before - restic.stored_bytes(repository)


def forget_backup(ctx, backup):
    """Forget `backup`'s restic snapshot(s) (pruned) and delete its row (a job's step)."""
    repository = backup.repository
    ids, freed = _forget_tagged(repository, backup.tag)
    if backup.restic_snapshot_id and backup.restic_snapshot_id not in ids:
        ctx.note(f"restic snapshot {backup.restic_snapshot_id[:8]} is no longer in {repository.name}")
    backup.delete()
    ctx.note(f"{len(ids)} restic snapshot(s) forgotten, {max(freed, 0) / 2**20:.1f} MiB freed in {repository.name}")


def forget_vm_backups(ctx, vm):
    """The VM is deleted without keeping its backups: forget every restic snapshot tagged with
    its id in the repositories holding its backups (pruned), and delete the rows."""
    repositories = BackupRepository.objects.filter(backups__vm=vm).distinct()
    if not repositories:
        ctx.note("the VM had no backups")
        return
    for repository in repositories:
        ids, freed = _forget_tagged(repository, f"vm:{vm.pk}")
        count, _rows = Backup.objects.filter(vm=vm, repository=repository).delete()
        ctx.note(
            f"{count} backup(s) forgotten in {repository.name} ({len(ids)} restic snapshot(s)), "
            f"{max(freed, 0) / 2**20:.1f} MiB freed"
        )
