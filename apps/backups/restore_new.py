"""Restore a backup into a new VM (docs/backups.md, "Restore into a new VM"): the one place
that decides whether it may happen; both doors (API and web UI) call `restore_into_new_vm`.

- Who: the backup's owner, its reseller and staff (Http404 for anyone else); the new VM is
  the backup's owner's. A backup of a live VM or of a deleted one (kept on its deletion).
- The backup must be `ready` (not being taken, restored or deleted).
- The new VM is ordered like any VM (apps.vms.create.order_vm_from_disk): a name the owner
  has not used, sizes or a plan (the disk at least the backup's size; by default the
  backup's size), staff may pin the host or the cluster, the owner's quotas (max_vms,
  vCPUs, memory, disk, addresses), placement on any host with room, public addresses from
  the host's pools. Its disk is filled from the backup's raw data instead of an image
  (the `vm_backup_restore_new` job); `start` (default true) starts it once made.
- The backup is `restoring` while the job reads it (not deleted meanwhile), `ready` after.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.tenancy import acts_for
from apps.backups.models import Backup, BackupState
from apps.vms.create import order_vm_from_disk

OPERATION = "vm_backup_restore_new"


def backup_for(actor, backup):
    """The backup `backup` (an id or a Backup) if `actor` acts for its owner, else Http404."""
    key = getattr(backup, "pk", backup)
    found = None
    if str(key).isdigit():
        found = Backup.objects.filter(pk=key).select_related("owner", "image", "repository", "vm").first()
    if found is None or (actor is not None and not acts_for(actor, found.owner)):
        raise Http404(_("No such backup."))
    return found


def restore_into_new_vm(
    backup, *, name, vcpus=None, memory_mb=None, disk_gb=None, plan=None, hostname="", host=None, cluster=None,
    start=True, actor=None, request_id=None,
):  # fmt: skip
    """Order a new VM for the backup's owner with the backup's disk. Returns (vm, job)."""
    backup = backup_for(actor, backup)
    if not isinstance(start, bool):
        raise ValidationError({"start": _("Give true or false.")})
    if backup.state != BackupState.READY:
        raise ValidationError({"backup": _("Only a ready backup can be restored.")})
    with transaction.atomic():
        vm, job = order_vm_from_disk(
            backup.owner, name=name, kind=OPERATION, image=backup.image, min_disk_bytes=backup.size_bytes or 0,
            params={"backup_id": backup.pk, "start": start}, vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb,
            plan=plan, hostname=hostname, host=host, cluster=cluster, actor=actor, request_id=request_id,
        )  # fmt: skip
        claimed = Backup.objects.filter(pk=backup.pk, state=BackupState.READY).update(state=BackupState.RESTORING)
        if not claimed:
            raise ValidationError({"backup": _("Only a ready backup can be restored.")})
    return vm, job
