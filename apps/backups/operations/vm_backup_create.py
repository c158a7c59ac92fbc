"""Back up a VM's disk (docs/backups.md): a point-in-time copy made on the host (a running VM:
libvirt's backup API in push mode into a scratch volume made beforehand, the guest's
filesystems frozen through its agent only for the instant the copy begins; a stopped VM: its
disk converted, the backing chain flattened), fetched through the storage API, turned into
raw data and given to `restic backup --stdin`, so the repository deduplicates it with the
VM's other backups. The host's copy and the local files are removed in every outcome; a
host that did not answer leaves its copy to the VM's next backup job (or its deletion)."""

import os
import time

from django.utils import timezone

from apps.backups import restic
from apps.backups.models import Backup, BackupState
from apps.backups.work import remove_leftovers, remove_quietly, scratch_volume
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.runner import OperationError
from apps.virt import tools
from apps.virt.errors import VirtError
from apps.virt.types import INACTIVE_STATES, DomainState
from apps.vms import snapshot_work
from apps.vms.deploy.steps import remove_work_dir, work_dir

STEPS = ["Open the repository", "Copy the disk", "Store it in the repository"]

NOTES = {
    "frozen": "the guest's filesystems were frozen through its agent for {ms:.0f} ms: consistent",
    "stopped": "the VM was stopped: consistent",
}


def run(ctx, vm, backup_id):
    backup = Backup.objects.select_related("repository").get(pk=backup_id, vm=vm)
    repository = backup.repository
    driver = hypervisor_for(vm.host)
    pool = vm.host.storage_pool
    scratch = scratch_volume(ctx, vm, "backup")
    began = time.monotonic()
    try:
        with ctx.step("Open the repository"):
            if restic.ensure(repository):
                ctx.note(f"restic repository made at {repository.location}")
            restic.unlock(repository)
            gone = remove_leftovers(driver, vm)
            if gone:
                ctx.note(f"{gone} copy(ies) left by an earlier job removed from the host")
        with ctx.step("Copy the disk"):
            state = driver.get_domain(vm.domain_name).state
            frozen_ms = None
            if state in INACTIVE_STATES:
                top = os.path.basename(driver.disk_source(vm.domain_name, inactive=True))
                driver.convert_volume(pool, scratch, top, "qcow2")
                how, note = "stopped", NOTES["stopped"]
            else:
                running = state in (DomainState.RUNNING, DomainState.BLOCKED)  # a paused guest's agent cannot freeze
                top = driver.volume_info(pool, os.path.basename(driver.disk_source(vm.domain_name)))
                target = driver.create_volume(pool, scratch, top.capacity_bytes, "qcow2")  # made before the freeze
                taken = driver.backup_disk(vm.domain_name, target.path, quiesce=running)
                driver.refresh_pool(pool)
                how, frozen_ms = taken.how, taken.frozen_ms
                reason = taken.reason if running else "the VM is paused"
                note = (
                    NOTES["frozen"].format(ms=taken.frozen_ms or 0)
                    if how == "frozen"
                    else f"not frozen ({reason}): crash-consistent, as after a power cut (a guest agent freezes it)"
                )
            ctx.note(note)
            Backup.objects.filter(pk=backup.pk).update(consistency=how)
            local = work_dir(ctx) / "disk.qcow2"
            driver.download_volume(pool, scratch, str(local))
            snapshot_work.delete_volumes(driver, vm, [scratch])
            raw = work_dir(ctx) / backup.filename
            tools.convert(local, raw, "qcow2", "raw")
            local.unlink()
            size = os.path.getsize(raw)
            ctx.note(f"{size / 2**30:.2f} GiB of disk, {os.stat(raw).st_blocks * 512 / 2**20:.0f} MiB in use")
        with ctx.step("Store it in the repository"):
            tags = [f"vm:{vm.pk}", backup.tag] + (["scheduled"] if backup.scheduled else [])
            summary = restic.backup_file(repository, raw, backup.filename, tags)
            ids = restic.snapshot_ids(repository, backup.tag)
            if summary.get("total_bytes_processed") != size or not ids:
                if ids:
                    restic.forget(repository, ids, prune=False)
                raise OperationError(
                    f"restic stored {summary.get('total_bytes_processed')} bytes of {size}: the backup was dropped"
                )
            added = summary.get("data_added") or 0
            duration = time.monotonic() - began
            Backup.objects.filter(pk=backup.pk).update(
                state=BackupState.READY,
                restic_snapshot_id=ids[-1],
                size_bytes=size,
                added_bytes=added,
                duration_s=round(duration, 2),
                finished_at=timezone.now(),
            )
            ctx.job.result = {
                "backup_id": backup.pk,
                "restic_snapshot_id": ids[-1],
                "added_bytes": added,
                "frozen_ms": round(frozen_ms, 1) if frozen_ms is not None else None,
            }
            ctx.note(f"restic snapshot {ids[-1][:8]}: {added / 2**20:.1f} MiB added to {repository.name}")
    finally:
        remove_work_dir(ctx)


def on_failure(ctx, vm):
    driver = hypervisor_for(vm.host)
    try:
        driver.abort_backup(vm.domain_name)  # a copy still running (the worker died waiting for it)
    except VirtError:
        pass
    remove_quietly(driver, vm, scratch_volume(ctx, vm, "backup"))
    remove_work_dir(ctx)
    Backup.objects.filter(pk=ctx.params["backup_id"], state=BackupState.CREATING).update(
        state=BackupState.FAILED, error=ctx.job.error or "failed", finished_at=timezone.now()
    )
