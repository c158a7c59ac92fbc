"""Backups of a real TCG guest on the local libvirtd (docs/backups.md), run on the guest of
tests/deploy/test_deploy_cloud_init.py around its snapshot round trip, so that no guest boot
is added (each costs the suite a minute or more):

- `back_up_running(...)` (the guest runs, its agent answers): a local restic repository added
  (its `restic init` job), a marker written through the guest agent, a backup of the running
  VM (libvirt's backup API, the filesystems frozen through the agent, a checkpoint begun), the
  marker overwritten, a second backup, incremental (only the changed blocks copied from the
  host: it reads and adds far less than the disk), the marker overwritten again; the snapshot
  round trip then runs with the checkpoint on the disk;
- `restore_while_stopped(...)` (called by the snapshot round trip while the VM is stopped and
  has no snapshots): the incremental backup restored into the same VM (left stopped, as it
  was; the disk replaced, the domain kept), its marker read back from the restored disk at
  the marker file's place (the guest told where its blocks are: no appliance or boot
  needed): the changes completed with the first backup's data made a whole disk; the next
  backup would be full (the restore replaced what the checkpoint tracked); `restic check`
  passes; the incremental backup restored into a new VM too (ordered like any VM, left
  stopped: no boot added), its marker read off the new VM's disk the same way, the new VM deleted; both
  backups deleted (forget and prune); no scratch volume or work folder left behind."""

import time

from apps.backups import checkpoints, restic
from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryState
from apps.backups.restore_new import restore_into_new_vm
from apps.backups.services import add_repository, create_backup, delete_backup, restore_backup
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus
from apps.virt.errors import NotFound
from apps.vms.changes import delete_vm
from apps.vms.deploy.steps import seed_volume
from apps.vms.models import PowerState, VmStatus
from tests.deploy import guest_disk
from tests.deploy.guest_disk import where
from tests.deploy.snapshot_round_trip import agent, finished

MARKER = "backed-up-marker"
WHERE = where("/root/backup-marker")


def on_disk(path, offset):
    """The marker's length of bytes at `offset` of the qcow2 disk `path`."""
    return guest_disk.on_disk(path, offset, len(MARKER))


def scratch_volumes(driver, vm):
    prefixes = (f"vmm-{vm.uuid}-backup-", f"vmm-{vm.uuid}-restore-")
    driver.refresh_pool(vm.host.storage_pool)
    return [v.name for v in driver.list_volumes(vm.host.storage_pool) if v.name.startswith(prefixes)]


def back_up_running(capture, staff, customer, vm, repository_dir, work_dir):
    """The first half above; returns the backup."""
    driver = hypervisor_for(vm.host)
    with capture(execute=True):
        repository, _job = add_repository(staff, name="local", path=str(repository_dir), password="horse battery")
    repository.refresh_from_db()
    assert repository.state == RepositoryState.READY, repository.state_reason

    agent(driver, vm, f"echo {MARKER} > /root/backup-marker")  # no sync: the freeze flushes it
    job = finished(capture, create_backup, vm, actor=customer)
    backup = Backup.objects.get(vm=vm)
    copied = job.steps.get(name="Copy the disk").detail
    assert backup.state == BackupState.READY and backup.consistency == "frozen", copied
    assert backup.size_bytes == vm.disk_gb * 2**30 and 0 < backup.added_bytes < backup.size_bytes
    assert scratch_volumes(driver, vm) == [] and not (work_dir / str(job.pk)).exists()
    # Overwritten in place (not a new file in new blocks), so the old bytes are gone from the disk.
    agent(driver, vm, "printf overwritten-here | dd of=/root/backup-marker conv=notrunc,fsync status=none")
    job = finished(capture, create_backup, vm, actor=customer)
    second = Backup.objects.get(pk=job.params["backup_id"])
    opened = job.steps.get(name="Open the repository").detail
    assert second.kind == "incremental" and second.base_id == backup.pk, opened
    assert second.read_bytes < second.size_bytes / 20 and second.added_bytes < backup.added_bytes / 4, (
        second.read_bytes, second.added_bytes, backup.added_bytes)  # fmt: skip
    assert driver.list_checkpoints(vm.domain_name) == [second.checkpoint]  # the older one merged away
    agent(driver, vm, "printf third-state-here | dd of=/root/backup-marker conv=notrunc,fsync status=none")
    second.marker_at = int(agent(driver, vm, WHERE).strip())
    return second


def restore_while_stopped(capture, customer, vm, first, work_dir):
    """The second half above, on the stopped `vm` without snapshots."""
    driver = hypervisor_for(vm.host)
    vm.refresh_from_db()
    domain = driver.get_domain(vm.domain_name)
    disk0 = driver.volume_info(vm.host.storage_pool, vm.disk_volume).path
    assert on_disk(disk0, first.marker_at) == "third-state-here"
    job = finished(capture, restore_backup, vm, first, confirm=True, actor=customer)
    assert job.steps.get(name="Start the VM").detail == "left stopped, as it was"
    disk = driver.volume_info(vm.host.storage_pool, vm.disk_volume)
    assert disk.format == "qcow2" and disk.capacity_bytes == vm.disk_gb * 2**30 and disk.backing_path is None
    assert driver.disk_source(vm.domain_name, inactive=True) == disk.path
    assert driver.get_domain(vm.domain_name).uuid == domain.uuid
    assert on_disk(disk.path, first.marker_at) == "overwritten-here"
    assert scratch_volumes(driver, vm) == [] and not (work_dir / str(job.pk)).exists()
    repository = BackupRepository.objects.get(pk=first.repository_id)
    base, why = checkpoints.choose_base(vm, repository, driver, first.size_bytes)
    # The next backup is full: the disk was replaced (by the snapshots' revert, earlier, and
    # by this restore) since the incremental backup's checkpoint.
    assert base is None and why.startswith("the disk was changed by vm_"), why
    restic.check(repository)
    new_vm_from(capture, customer, vm, first, work_dir)

    for backup in Backup.objects.filter(vm=vm):
        finished(capture, delete_backup, vm, backup, actor=customer)
    assert not Backup.objects.filter(vm=vm).exists()
    assert restic.snapshot_ids(repository, f"vm:{vm.pk}") == []
    assert scratch_volumes(driver, vm) == []


def new_vm_from(capture, customer, vm, first, work_dir):
    """The incremental backup `first` (completed with its base's data in restic) restored into
    a new VM, not started; its disk read offline; deleted."""
    driver = hypervisor_for(vm.host)
    began = time.monotonic()
    with capture(execute=True):
        copy, job = restore_into_new_vm(first, name="ci-restored", vcpus=1, memory_mb=512, start=False, actor=customer)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.error, [(s.name, s.detail) for s in job.steps.all()])
    restored_s = time.monotonic() - began
    copy.refresh_from_db()
    assert (copy.status, copy.power_state, copy.image_id, copy.disk_gb) == (
        VmStatus.ACTIVE, PowerState.STOPPED, vm.image_id, vm.disk_gb,
    )  # fmt: skip
    assert "new instance id" in job.steps.get(name="Configure the guest").detail
    disk = driver.volume_info(copy.host.storage_pool, copy.disk_volume)
    assert disk.format == "qcow2" and disk.capacity_bytes == vm.disk_gb * 2**30 and disk.backing_path is None
    assert driver.disk_source(copy.domain_name, inactive=True) == disk.path
    assert driver.get_domain(copy.domain_name).state in ("shutoff", "shutdown")
    driver.volume_info(copy.host.storage_pool, seed_volume(copy))  # its cloud-init seed is there
    assert on_disk(disk.path, first.marker_at) == "overwritten-here"  # the state it backed up
    assert Backup.objects.get(pk=first.pk).state == BackupState.READY
    assert not (work_dir / str(job.pk)).exists()
    with capture(execute=True):
        gone = delete_vm(copy, actor=customer)
    gone.refresh_from_db()
    assert gone.status == JobStatus.SUCCEEDED, gone.error
    try:
        driver.get_domain(copy.domain_name)
        raise AssertionError("the new VM's domain is still defined")
    except NotFound:
        pass
    print(f"restore into a new VM: {restored_s:.1f} s, with its checks and deletion: {time.monotonic() - began:.1f} s")
