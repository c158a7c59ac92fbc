"""Incremental backups (docs/backups.md, "Incremental backups") without a real guest: restic
completing the changed blocks into the whole disk (a real repository in a temporary
directory), which backup an incremental copy starts from, and the checkpoints a failed or
killed backup leaves removed (libvirt's test driver keeps checkpoints, though it has no
backup API). The real copy is tests/deploy/backup_round_trip.py."""

import os

import pytest
from django.contrib.contenttypes.models import ContentType

from apps.backups import checkpoints, restic
from apps.backups.models import Backup, BackupKind, BackupState
from apps.backups.services import create_backup
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import HostStatus
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus
from apps.virt import connection
from apps.vms.models import VirtualMachine
from tests.backups import test_backups

MiB = 2**20


vm = test_backups.vm  # the fixture (the repository fixture is in tests/backups/conftest.py)


@pytest.fixture
def running(vm):
    """The backups tests' VM, running (the test driver's domains run at once)."""
    hypervisor_for(vm.host).start(vm.domain_name)
    return vm


def make_checkpoint(vm, name):
    dom = connection.get(vm.host.uri).lookupByName(vm.domain_name)
    dom.checkpointCreateXML(f"<domaincheckpoint><name>{name}</name></domaincheckpoint>", 0)


def ready(vm, repository, checkpoint="", size=2**30, **fields):
    return Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.READY,
        restic_snapshot_id="a" * 64, filename=f"vm-{vm.pk}-vda.raw", size_bytes=size, checkpoint=checkpoint, **fields,
    )  # fmt: skip


def test_the_changed_blocks_are_completed_into_the_whole_disk_from_the_base_backup(repository, tmp_path):
    size = 48 * MiB
    disk = bytearray(size)
    disk[: 16 * MiB] = os.urandom(16 * MiB)
    disk[30 * MiB : 32 * MiB] = os.urandom(2 * MiB)
    (tmp_path / "base.raw").write_bytes(disk)
    first = restic.backup_file(repository, tmp_path / "base.raw", "vm-1-vda.raw", ["vm:1", "backup:1"])
    (base_id,) = restic.snapshot_ids(repository, "backup:1")

    # What an incremental copy brings: new data, and blocks the guest zeroed (present, but zeros).
    extents = [(MiB, 2 * MiB), (30 * MiB, MiB), (47 * MiB, MiB)]
    changes = tmp_path / "changes.raw"
    with open(changes, "wb") as f:
        f.truncate(size)
        f.seek(MiB)
        f.write(new := os.urandom(2 * MiB))
        f.seek(47 * MiB)
        f.write(tail := os.urandom(MiB))
    expected = bytearray(disk)
    expected[MiB : 3 * MiB] = new
    expected[30 * MiB : 31 * MiB] = bytes(MiB)
    expected[47 * MiB :] = tail

    summary = restic.backup_patched(
        repository, base_id, "vm-1-vda.raw", changes, extents, ["vm:1", "backup:2"], size=size
    )
    assert summary["total_bytes_processed"] == size
    assert 3 * MiB <= summary["data_added"] < first["data_added"] / 2  # only the chunks around the changes are new
    (second_id,) = restic.snapshot_ids(repository, "backup:2")
    restic.dump_to_file(repository, second_id, "vm-1-vda.raw", tmp_path / "back.raw")
    assert (tmp_path / "back.raw").read_bytes() == expected

    # A base of another size than the disk's: nothing is stored.
    with pytest.raises(restic.ResticError, match="not the disk's"):
        restic.backup_patched(repository, base_id, "vm-1-vda.raw", changes, [], ["backup:3"], size=size + MiB)
    assert restic.snapshot_ids(repository, "backup:3") == []
    with pytest.raises(restic.ResticError, match="dump failed"):
        restic.backup_patched(repository, "f" * 64, "vm-1-vda.raw", changes, [], ["backup:4"], size=size)
    restic.check(repository)


def test_an_incremental_starts_only_from_a_good_backup_whose_checkpoint_is_there(running, repository):
    vm, driver = running, hypervisor_for(running.host)
    base, why = checkpoints.choose_base(vm, repository, driver, 2**30)
    assert base is None and "no earlier backup" in why
    older = ready(vm, repository, checkpoint="vmm-backup-1")
    newest = ready(vm, repository, checkpoint="vmm-backup-2")
    Backup.objects.create(  # a failed one after it is never a base
        vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.FAILED,
        filename="x", checkpoint="vmm-backup-3",
    )  # fmt: skip
    make_checkpoint(vm, "vmm-backup-2")
    assert checkpoints.choose_base(vm, repository, driver, 2**30) == (newest, "")

    base, why = checkpoints.choose_base(vm, repository, driver, 2 * 2**30)
    assert base is None and "size changed" in why
    Backup.objects.filter(pk=newest.pk).update(checkpoint="vmm-backup-9")
    base, why = checkpoints.choose_base(vm, repository, driver, 2**30)
    assert base is None and "no longer on the host" in why
    Backup.objects.filter(pk=newest.pk).update(checkpoint="vmm-backup-2")

    # A restore (or a snapshot revert, a reinstall...) since the base: the bitmap did not see it.
    Job.objects.create(
        kind="vm_snapshot_revert", target_type=ContentType.objects.get_for_model(VirtualMachine), target_id=vm.pk,
        request_id="r",
    )  # fmt: skip
    base, why = checkpoints.choose_base(vm, repository, driver, 2**30)
    assert base is None and "vm_snapshot_revert" in why
    assert older.pk  # only the newest good backup with a checkpoint is a base


def test_a_backup_removes_the_checkpoints_earlier_ones_left_and_keeps_its_base(running, repository, customer):
    vm, driver = running, hypervisor_for(running.host)
    base = ready(vm, repository, checkpoint="vmm-backup-2")
    failed = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.FAILED,
        filename="x", checkpoint="vmm-backup-3",
    )  # fmt: skip
    for name in ("vmm-backup-2", "vmm-backup-3"):
        make_checkpoint(vm, name)

    job = runner.execute(create_backup(vm, actor=customer).pk)  # the test driver has no backup API: it fails there
    opened = job.steps.get(name="Open the repository").detail
    assert "1 checkpoint(s) of earlier backups removed" in opened and f"incremental from backup {base.pk}" in opened
    assert job.status == JobStatus.FAILED and "not supported" in job.steps.get(name="Copy the disk").detail
    # The failed job's own checkpoint (not made here) is not left either; the base's stays.
    assert driver.list_checkpoints(vm.domain_name) == ["vmm-backup-2"]
    failed.refresh_from_db()
    assert failed.checkpoint == ""
    new = Backup.objects.get(pk=job.params["backup_id"])
    assert new.state == BackupState.FAILED and new.checkpoint == "" and new.kind == BackupKind.FULL


def test_a_killed_backups_checkpoint_is_removed_by_its_clean_up_or_later_by_the_reconciler(
    running, repository, customer, settings
):
    """A worker killed after the copy began: the guest it froze is thawed (its agent never
    thaws by itself), and its checkpoint would make the next incremental start from a copy
    that was never stored. The reconciler's settling removes it; a host
    that did not answer then has it removed by the housekeeping once it does."""
    vm, driver = running, hypervisor_for(running.host)
    base = ready(vm, repository, checkpoint="vmm-backup-1")
    make_checkpoint(vm, "vmm-backup-1")
    job = create_backup(vm, actor=customer)
    backup = Backup.objects.get(pk=job.params["backup_id"])
    Backup.objects.filter(pk=backup.pk).update(checkpoint=backup.checkpoint_name)
    make_checkpoint(vm, backup.checkpoint_name)  # what backupBegin made before the worker died
    guest = connection.get(vm.host.uri).lookupByName(vm.domain_name)
    assert guest.fsFreeze() > 0  # ... and the freeze it held when killed, before the thaw
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker="gone:1")
    job.refresh_from_db()

    assert runner.settle_dead_job(job, "the worker running it died")
    backup.refresh_from_db()
    assert backup.state == BackupState.FAILED and backup.checkpoint == ""
    assert guest.fsThaw() == 0  # the clean-up thawed the guest: nothing was left frozen
    assert driver.list_checkpoints(vm.domain_name) == ["vmm-backup-1"]
    assert checkpoints.choose_base(vm, repository, driver, 2**30) == (base, "")

    # The same, its host silent during the clean-up: the row keeps the name until it answers.
    vm.refresh_from_db()
    left = Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.FAILED,
        filename="x", checkpoint="vmm-backup-77",
    )  # fmt: skip
    make_checkpoint(vm, "vmm-backup-77")
    vm.host.status = HostStatus.UNREACHABLE
    vm.host.save(update_fields=["status"])
    assert checkpoints.remove_failed_checkpoints() == 0
    vm.host.status = HostStatus.ONLINE
    vm.host.save(update_fields=["status"])
    from apps.jobs.reconcile import reconcile

    reconcile()
    left.refresh_from_db()
    assert left.checkpoint == "" and driver.list_checkpoints(vm.domain_name) == ["vmm-backup-1"]
