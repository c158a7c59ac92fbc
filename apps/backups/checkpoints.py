"""Incremental backups' checkpoints (docs/backups.md, "Incremental backups"): every backup of
a running VM begins a libvirt checkpoint `vmm-backup-<backup id>` (a dirty bitmap in the
disk's qcow2) at the instant its copy begins; the VM's next backup copies only the blocks
written since the newest good backup's checkpoint, and completes them into the whole disk
with that backup's restic data.

- `choose_base(vm, repository, driver, capacity)`: the backup an incremental copy starts
  from, or None and why the copy is full. Only a ready backup of this VM in this repository
  whose checkpoint the domain still has, of the disk's current size, with no job since it
  that replaced or rewound the disk's data behind the bitmap's back (a restore, a snapshot
  revert, a reinstall, a recovery or a migration: the bitmap does not record those).
- `remove_strays(driver, vm, keep)`: the VM's `vmm-backup-*` checkpoints other than `keep`
  removed (a killed or failed backup's, and the ones a newer good backup superseded); a
  failed backup whose checkpoint went has its `checkpoint` emptied.
- `remove_failed_checkpoints()`: the jobs reconciler's housekeeping: the checkpoint a failed
  backup's clean-up could not remove (its host did not answer) removed once the host does.
"""

import logging

from django.contrib.contenttypes.models import ContentType

from apps.backups.models import Backup, BackupState
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import HostStatus
from apps.jobs.models import Job
from apps.virt.errors import NotFound, VirtError
from apps.vms.models import VirtualMachine

logger = logging.getLogger("vmmanager.backups")

PREFIX = "vmm-backup-"
# Jobs after which the disk's data is not what the checkpoint's bitmap tracked.
DISK_REPLACED_BY = ("vm_backup_restore", "vm_snapshot_revert", "vm_reinstall", "vm_recover", "vm_migrate")


def choose_base(vm, repository, driver, capacity):
    """(base backup, "") for an incremental copy, or (None, why the copy is full)."""
    base = (
        Backup.objects.filter(vm=vm, repository=repository, state=BackupState.READY)
        .exclude(checkpoint="")
        .order_by("-created_at", "-pk")
        .first()
    )
    if base is None:
        return None, "no earlier backup of this VM in this repository to start from"
    if base.size_bytes != capacity:
        return None, f"the disk's size changed since backup {base.pk}"
    replaced = (
        Job.objects.filter(
            target_type=ContentType.objects.get_for_model(VirtualMachine),
            target_id=vm.pk,
            kind__in=DISK_REPLACED_BY,
            created_at__gt=base.created_at,
        )
        .order_by("created_at")
        .first()
    )
    if replaced is not None:
        return None, f"the disk was changed by {replaced.kind} since backup {base.pk}"
    if base.checkpoint not in driver.list_checkpoints(vm.domain_name):
        return None, f"the checkpoint of backup {base.pk} is no longer on the host"
    return base, ""


def remove_strays(driver, vm, keep=()):
    """Remove the VM's backup checkpoints but those named in `keep`. Returns how many went."""
    names = [n for n in driver.list_checkpoints(vm.domain_name) if n.startswith(PREFIX) and n not in keep]
    for name in names:
        driver.delete_checkpoint(vm.domain_name, name)
    if names:
        Backup.objects.filter(vm=vm, state=BackupState.FAILED, checkpoint__in=names).update(checkpoint="")
    return len(names)


def remove_quietly(driver, vm, name):
    """A failed backup's clean-up: its checkpoint removed (True), or left to the reconciler's
    housekeeping when the host does not answer (False)."""
    try:
        driver.delete_checkpoint(vm.domain_name, name)
    except NotFound:
        pass  # no domain: nothing to remove
    except VirtError:
        return False
    Backup.objects.filter(vm=vm, checkpoint=name).exclude(state=BackupState.READY).update(checkpoint="")
    return True


def remove_failed_checkpoints():
    """Remove the checkpoints failed backups left on hosts that answer again (VMs not busy)."""
    left = (
        Backup.objects.filter(state=BackupState.FAILED, vm__isnull=False, vm__current_job__isnull=True)
        .exclude(checkpoint="")
        .select_related("vm__host")
    )
    removed = 0
    for backup in left:
        vm = backup.vm
        if vm.host is None or vm.host.status == HostStatus.UNREACHABLE:
            continue
        if remove_quietly(hypervisor_for(vm.host), vm, backup.checkpoint):
            removed += 1
            logger.info("checkpoint %s of failed backup %s removed from %s", backup.checkpoint, backup.pk, vm.host)
    return removed
