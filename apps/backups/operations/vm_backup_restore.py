"""Restore a VM from one of its backups (docs/backups.md): the backup's raw data is read from
the repository (`restic dump`), turned into a qcow2 and sent to the host as a scratch volume
while the VM still runs; then the VM is powered off (what it wrote since is lost anyway), its
disk (`disk0`) is replaced by a copy of the scratch volume made on the host (a standalone
qcow2 of the VM's size: no longer a linked clone of its image), and it is started again if
it ran. The domain, its MAC and its addresses are kept. Failing before the VM is powered off
changes nothing; failing while its disk is replaced leaves the VM stopped with the restored
disk when the copy is there, and the restore can be run again (the backup is untouched)."""

import os

from apps.backups import restic
from apps.backups.models import Backup, BackupState
from apps.backups.work import remove_quietly, scratch_volume
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.runner import OperationError
from apps.virt import tools
from apps.virt.errors import NotFound, VirtError
from apps.vms import snapshot_work
from apps.vms.deploy.steps import remove_work_dir, work_dir

STEPS = ["Fetch the backup", "Power off the VM", "Replace the disk", "Start the VM"]


def run(ctx, vm, backup_id):
    backup = Backup.objects.select_related("repository").get(pk=backup_id, vm=vm)
    driver = hypervisor_for(vm.host)
    pool = vm.host.storage_pool
    scratch = scratch_volume(ctx, vm, "restore")
    try:
        with ctx.step("Fetch the backup"):
            raw = work_dir(ctx) / "disk.raw"
            size = restic.dump_to_file(backup.repository, backup.restic_snapshot_id, backup.filename, raw)
            if backup.size_bytes is not None and size != backup.size_bytes:
                raise OperationError(f"the backup holds {size} bytes, not the {backup.size_bytes} it was taken with")
            local = work_dir(ctx) / "disk.qcow2"
            tools.convert(raw, local, "raw", "qcow2")
            raw.unlink()
            driver.upload_volume(pool, scratch, str(local), format="qcow2")
            ctx.note(
                f"restic snapshot {backup.restic_snapshot_id[:8]}: {size / 2**30:.2f} GiB of disk sent to the host"
            )
        with ctx.step("Power off the VM"):
            was_running = snapshot_work.power_off(ctx, driver, vm)
        with ctx.step("Replace the disk"):
            replace_disk(driver, vm, scratch, size)
            ctx.note(f"the disk is as it was at {backup.created_at:%Y-%m-%d %H:%M:%S} UTC")
        with ctx.step("Start the VM"):
            if was_running:
                driver.start(vm.domain_name)
                ctx.note("started")
            else:
                ctx.note("left stopped, as it was")
        Backup.objects.filter(pk=backup.pk).update(state=BackupState.READY)
    finally:
        remove_work_dir(ctx)


def replace_disk(driver, vm, scratch, size):
    """disk0 := a copy of `scratch` (made on the host), grown to the VM's size; the domain
    pointed at it; `scratch` removed."""
    pool = vm.host.storage_pool
    snapshot_work.delete_volumes(driver, vm, [vm.disk_volume])
    disk = driver.copy_volume(pool, vm.disk_volume, pool, scratch)
    capacity = max(vm.disk_gb * 2**30, size)
    if disk.capacity_bytes < capacity:
        disk = driver.resize_volume(pool, vm.disk_volume, capacity)
    driver.set_disk_source(vm.domain_name, disk.path)
    snapshot_work.delete_volumes(driver, vm, [scratch])


def on_failure(ctx, vm):
    backup = Backup.objects.filter(pk=ctx.params["backup_id"]).first()
    driver = hypervisor_for(vm.host)
    scratch = scratch_volume(ctx, vm, "restore")
    size = os.path.getsize(work_dir(ctx) / "disk.raw") if (work_dir(ctx) / "disk.raw").exists() else 0
    try:
        # Failed between removing the old disk and making the new one: finish it from the scratch copy.
        try:
            driver.volume_info(vm.host.storage_pool, vm.disk_volume)
        except NotFound:
            driver.volume_info(vm.host.storage_pool, scratch)
            replace_disk(driver, vm, scratch, max(size, backup.size_bytes or 0) if backup else size)
    except VirtError:
        pass  # the host does not answer, or there is no copy: the restore can be run again
    remove_quietly(driver, vm, scratch)
    remove_work_dir(ctx)
    if backup is not None:
        Backup.objects.filter(pk=backup.pk, state=BackupState.RESTORING).update(state=BackupState.READY)
