"""Back up a VM's disk (docs/backups.md): a point-in-time copy made on the host (a running VM:
libvirt's backup API in push mode into a scratch volume made beforehand, the guest's
filesystems frozen through its agent only for the instant the copy begins, a checkpoint
begun at that instant; incremental, only the blocks written since the last good backup's
checkpoint, when apps.backups.checkpoints finds one to start from; a stopped VM: its disk
converted, the backing chain flattened), fetched through the storage API, turned into raw
data and given to `restic backup --stdin` (an incremental copy completed on the way with the
base backup's data from `restic dump`), so the repository deduplicates it with the VM's
other backups. The host's copy, a failed backup's checkpoint and the local files are
removed in every outcome; a host that did not answer leaves its copy to the VM's next
backup job (or its deletion) and the checkpoint to the reconciler's housekeeping."""

import logging
import os
import time

from django.utils import timezone

from apps.backups import checkpoints, restic
from apps.backups.models import Backup, BackupKind, BackupState
from apps.backups.work import remove_leftovers, remove_quietly, scratch_volume
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import StepStatus
from apps.jobs.runner import OperationError
from apps.virt import tools
from apps.virt.errors import InvalidState, VirtError
from apps.virt.types import INACTIVE_STATES, DomainState
from apps.vms import snapshot_work
from apps.vms.deploy.steps import remove_work_dir, work_dir

logger = logging.getLogger("vmmanager.backups")

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
    base = None
    try:
        with ctx.step("Open the repository"):
            if restic.ensure(repository):
                ctx.note(f"restic repository made at {repository.location}")
            restic.unlock(repository)
            gone = remove_leftovers(driver, vm)
            if gone:
                ctx.note(f"{gone} copy(ies) left by an earlier job removed from the host")
            state = driver.get_domain(vm.domain_name).state
            if state not in INACTIVE_STATES:
                top = driver.volume_info(pool, os.path.basename(driver.disk_source(vm.domain_name)))
                base, why = checkpoints.choose_base(vm, repository, driver, top.capacity_bytes)
                strays = checkpoints.remove_strays(driver, vm, keep={base.checkpoint} if base else ())
                if strays:
                    ctx.note(f"{strays} checkpoint(s) of earlier backups removed from the host")
                ctx.note(f"incremental from backup {base.pk}" if base else f"a full copy: {why}")
        with ctx.step("Copy the disk"):
            frozen_ms = None
            if state in INACTIVE_STATES:
                top = os.path.basename(driver.disk_source(vm.domain_name, inactive=True))
                driver.convert_volume(pool, scratch, top, "qcow2")
                how, note = "stopped", NOTES["stopped"]
            else:
                running = state in (DomainState.RUNNING, DomainState.BLOCKED)  # a paused guest's agent cannot freeze
                target = driver.create_volume(pool, scratch, top.capacity_bytes, "qcow2")  # made before the freeze
                Backup.objects.filter(pk=backup.pk).update(checkpoint=backup.checkpoint_name)
                # Incremental from the base, else full with a checkpoint, else full without (a
                # disk that cannot keep one): each refusal comes before anything was copied.
                tries = ([(backup.checkpoint_name, base)] if base else []) + [
                    (backup.checkpoint_name, None),
                    (None, None),
                ]
                for position, (checkpoint, start) in enumerate(tries):
                    try:
                        taken = driver.backup_disk(
                            vm.domain_name, target.path, quiesce=running, checkpoint=checkpoint,
                            incremental=start.checkpoint if start else None,
                        )  # fmt: skip
                        break
                    except InvalidState as e:
                        if position == len(tries) - 1 or "not running" in str(e):
                            raise
                        ctx.note(f"{e}: a full copy{'' if tries[position + 1][0] else ' without a checkpoint'}")
                base = start
                if checkpoint is None:
                    Backup.objects.filter(pk=backup.pk).update(checkpoint="")
                driver.refresh_pool(pool)
                how, frozen_ms = taken.how, taken.frozen_ms
                reason = taken.reason if running else "the VM is paused"
                note = (
                    NOTES["frozen"].format(ms=taken.frozen_ms or 0)
                    if how == "frozen"
                    else f"not frozen ({reason}): crash-consistent, as after a power cut (a guest agent freezes it)"
                )
            ctx.note(note)
            Backup.objects.filter(pk=backup.pk).update(
                consistency=how, kind=BackupKind.INCREMENTAL if base else BackupKind.FULL, base=base
            )
            local = work_dir(ctx) / "disk.qcow2"
            driver.download_volume(pool, scratch, str(local))
            snapshot_work.delete_volumes(driver, vm, [scratch])
            fetched = os.path.getsize(local)
            raw = work_dir(ctx) / backup.filename
            tools.convert(local, raw, "qcow2", "raw")
            size = os.path.getsize(raw)
            if base:
                extents = tools.written_extents(local)
                changed = sum(length for _start, length in extents)
                ctx.note(
                    f"incremental from backup {base.pk}: {changed / 2**20:.0f} MiB changed of "
                    f"{size / 2**30:.2f} GiB, {fetched / 2**20:.0f} MiB fetched from the host"
                )
            else:
                ctx.note(f"{size / 2**30:.2f} GiB of disk, {os.stat(raw).st_blocks * 512 / 2**20:.0f} MiB in use")
            local.unlink()
        with ctx.step("Store it in the repository"):
            tags = [f"vm:{vm.pk}", backup.tag] + (["scheduled"] if backup.scheduled else [])
            if base:
                summary = restic.backup_patched(
                    repository, base.restic_snapshot_id, backup.filename, raw, extents, tags, size=size
                )
            else:
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
                read_bytes=fetched,
                duration_s=round(duration, 2),
                finished_at=timezone.now(),
            )
            ctx.job.result = {
                "backup_id": backup.pk,
                "restic_snapshot_id": ids[-1],
                "kind": BackupKind.INCREMENTAL if base else BackupKind.FULL,
                "read_bytes": fetched,
                "added_bytes": added,
                "frozen_ms": round(frozen_ms, 1) if frozen_ms is not None else None,
            }
            ctx.note(f"restic snapshot {ids[-1][:8]}: {added / 2**20:.1f} MiB added to {repository.name}")
            if state not in INACTIVE_STATES:
                try:  # the older checkpoints are superseded: only the newest is written to
                    checkpoints.remove_strays(driver, vm, keep={backup.checkpoint_name})
                except VirtError as e:
                    ctx.note(f"older checkpoints left for the next backup to remove: {e}")
    finally:
        remove_work_dir(ctx)


def on_failure(ctx, vm):
    driver = hypervisor_for(vm.host)
    try:  # first: a worker killed between the freeze and the thaw left the guest frozen
        if driver.thaw_guest(vm.domain_name):
            logger.warning("%s: the guest's filesystems were left frozen: thawed", vm.name)
    except VirtError:
        pass
    try:
        driver.abort_backup(vm.domain_name)  # a copy still running (the worker died waiting for it)
    except VirtError:
        pass
    remove_quietly(driver, vm, scratch_volume(ctx, vm, "backup"))
    checkpoints.remove_quietly(driver, vm, f"{checkpoints.PREFIX}{ctx.params['backup_id']}")
    remove_work_dir(ctx)
    Backup.objects.filter(pk=ctx.params["backup_id"], state=BackupState.CREATING).update(
        state=BackupState.FAILED, error=ctx.job.error or "failed", finished_at=timezone.now()
    )
    # Only once the repository answered: a repository that did not is not asked again here.
    if ctx.job.steps.filter(name="Open the repository", status=StepStatus.SUCCEEDED).exists():
        _forget_stored(ctx.params["backup_id"])


def _forget_stored(backup_id):
    """Forget what a failed backup stored. A restic that read the end of its input as its
    worker was killed can store a snapshot (of a disk cut short) before its own kill reaches
    it; the backup's tag is its own, so its snapshots are found by it. Quiet: a repository
    that does not answer keeps it (logged)."""
    backup = Backup.objects.select_related("repository").filter(pk=backup_id, state=BackupState.FAILED).first()
    if backup is None:
        return
    try:
        restic.unlock(backup.repository)  # the killed restic's lock
        stored = restic.snapshot_ids(backup.repository, backup.tag)
        if stored:
            # No prune here (on a large repository it takes long, and this runs as the job
            # fails or the reconciler settles it): its data goes with the repository's next prune.
            restic.forget(backup.repository, stored, prune=False, wait=60)
            logger.warning("failed backup %s had stored %d snapshot(s): forgotten", backup.tag, len(stored))
    except restic.ResticError as exc:
        logger.warning("failed backup %s: its repository was not checked for a snapshot it stored: %s", backup.tag, exc)
