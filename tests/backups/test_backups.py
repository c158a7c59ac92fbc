"""Backups (apps.backups, docs/backups.md) without a real guest: the rules of the one door
(tenancy, state, input, repositories), the repository's `restic init` job, restic itself on a
real repository in a temporary directory, and the backup job on libvirt's test driver, which
has no backup API and no volume streams: the job fails there, and must leave the backup
`failed`, nothing on the host and the VM free. The real thing is
tests/deploy/backup_round_trip.py."""

import os
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from apps.backups import restic
from apps.backups.models import Backup, BackupRepository, BackupState, RepositoryState
from apps.backups.services import add_repository, create_backup, delete_backup, restore_backup
from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host
from apps.jobs import runner
from apps.jobs.models import JobStatus
from apps.vms.deploy.steps import domain_spec
from apps.vms.models import Snapshot, VirtualMachine, VmStatus
from tests.vms.factories import remove_from_test_driver

POOL = "default-pool"


@pytest.fixture
def ready_row(tmp_path):
    """A repository row marked ready, for the rules (no restic run)."""
    return BackupRepository.objects.create(
        name="row", path=str(tmp_path / "row"), password="x" * 8, state=RepositoryState.READY
    )


@pytest.fixture
def vm(customer, test_host, ready_image, settings, tmp_path):
    """An active, stopped VM whose domain on the test driver writes to its disk0 volume."""
    settings.VMM_WORK_DIR = tmp_path / "work"
    vm = VirtualMachine.objects.create(
        name="backed", owner=customer, host=test_host, image=ready_image, status=VmStatus.ACTIVE, disk_gb=1
    )
    driver = hypervisor_for(test_host)
    disk = driver.create_volume(POOL, vm.disk_volume, 2**30)
    driver.define(domain_spec(vm, disk.path))
    yield vm
    remove_from_test_driver(vm, POOL)


def ready_backup(vm, repository):
    return Backup.objects.create(
        vm=vm, vm_name=vm.name, owner=vm.owner, repository=repository, state=BackupState.READY,
        restic_snapshot_id="a" * 64, filename=f"vm-{vm.pk}-vda.raw", size_bytes=2**30,
    )  # fmt: skip


def fields(exc):
    return set(exc.value.message_dict)


def test_only_staff_add_repositories_and_the_input_is_checked(admin_user, reseller, customer, tmp_path):
    for actor in (reseller, customer):
        with pytest.raises(PermissionDenied):
            add_repository(actor, name="r", path=str(tmp_path / "r"), password="long enough")
    BackupRepository.objects.create(name="taken", path=str(tmp_path / "taken"), password="x" * 8)
    for data, field in (
        ({"name": "", "path": str(tmp_path / "a"), "password": "long enough"}, "name"),
        ({"name": "taken", "path": str(tmp_path / "a"), "password": "long enough"}, "name"),
        ({"name": "a", "path": "relative", "password": "long enough"}, "path"),
        ({"name": "a", "path": "/", "password": "long enough"}, "path"),
        ({"name": "a", "path": str(tmp_path / "taken") + "/", "password": "long enough"}, "path"),
        ({"name": "a", "path": str(tmp_path / "a"), "password": "short"}, "password"),
        ({"name": "a", "path": str(tmp_path / "a"), "password": "long enough", "kind": "ftp"}, "kind"),
    ):
        with pytest.raises(ValidationError) as exc:
            add_repository(admin_user, **data)
        assert fields(exc) == {field}, data
    assert BackupRepository.objects.count() == 1


def test_the_init_job_makes_the_repository_and_keeps_one_the_password_opens(repository, admin_user, tmp_path):
    assert restic.is_initialized(repository)
    BackupRepository.objects.filter(pk=repository.pk).delete()
    again, job = add_repository(admin_user, name="again", path=repository.path, password=repository.password)
    runner.execute(job.pk)
    again.refresh_from_db()
    assert again.state == RepositoryState.READY
    assert "already" in job.steps.get().detail
    with pytest.raises(ValidationError) as exc:  # the same directory, written another way
        add_repository(admin_user, name="wrong", path=repository.path + "/", password="another password")
    assert fields(exc) == {"path"}


def test_a_wrong_password_fails_the_init_job_with_restics_reason(repository, admin_user):
    path = repository.path
    BackupRepository.objects.filter(pk=repository.pk).delete()
    wrong, job = add_repository(admin_user, name="wrong", path=path, password="another password")
    job = runner.execute(job.pk)
    wrong.refresh_from_db()
    assert job.status == JobStatus.FAILED and wrong.state == RepositoryState.FAILED
    assert "wrong password" in wrong.state_reason
    assert "another password" not in wrong.state_reason + job.error


def test_the_rules_of_backing_up(vm, ready_row, customer, other_customer, reseller, admin_user):
    with pytest.raises(Http404):
        create_backup(vm, actor=other_customer)
    VirtualMachine.objects.filter(pk=vm.pk).update(suspended_at="2026-01-01T00:00Z", suspension_reason="unpaid")
    vm.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert fields(exc) == {"vm"}
    VirtualMachine.objects.filter(pk=vm.pk).update(suspended_at=None, status=VmStatus.FAILED)
    vm.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert fields(exc) == {"vm"}
    VirtualMachine.objects.filter(pk=vm.pk).update(status=VmStatus.ACTIVE)
    Host.objects.filter(pk=vm.host_id).update(status="unreachable")
    vm = VirtualMachine.objects.get(pk=vm.pk)
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert exc.value.error_dict["vm"][0].code == "host_unreachable"
    Host.objects.filter(pk=vm.host_id).update(status="online")
    vm = VirtualMachine.objects.get(pk=vm.pk)
    for bad in (999999, "x"):
        with pytest.raises(ValidationError) as exc:
            create_backup(vm, repository=bad, actor=customer)
        assert fields(exc) == {"repository"}
    BackupRepository.objects.filter(pk=ready_row.pk).update(state=RepositoryState.FAILED)
    with pytest.raises(ValidationError) as exc:
        create_backup(vm, actor=customer)
    assert fields(exc) == {"repository"}
    assert not Backup.objects.exists()
    BackupRepository.objects.filter(pk=ready_row.pk).update(state=RepositoryState.READY)
    for actor in (customer, reseller, admin_user):
        job = create_backup(vm, actor=actor)
        assert job.kind == "vm_backup_create" and job.params == {"backup_id": Backup.objects.latest("pk").pk}
        with pytest.raises(runner.TargetBusy):
            create_backup(vm, actor=actor)
        VirtualMachine.objects.filter(pk=vm.pk).update(current_job=None)


def test_the_backup_quota_of_the_customer_and_of_its_reseller(vm, ready_row, customer, reseller):
    from apps.accounts.quotas import Quota
    from apps.vms.quotas import usage

    Quota.objects.create(user=customer, max_backups=3)
    ready_backup(vm, ready_row)
    Backup.objects.filter(pk=ready_backup(vm, ready_row).pk).update(state=BackupState.FAILED)  # counts too
    gone = ready_backup(vm, ready_row)
    Backup.objects.filter(pk=gone.pk).update(vm=None)  # kept when its VM was deleted: counts too
    with pytest.raises(ValidationError) as caught:
        create_backup(vm, actor=customer)
    error = caught.value.error_dict["quota"][0]
    assert error.code == "quota_exceeded" and "max_backups" in error.message and "3 in use" in error.message
    assert Backup.objects.count() == 3
    Quota.objects.filter(user=customer).update(max_backups=None)
    Quota.objects.create(user=reseller, max_backups=3)
    with pytest.raises(ValidationError) as caught:
        create_backup(vm, actor=customer)
    assert "reseller" in caught.value.message_dict["quota"][0]
    assert usage(reseller)["backups"] == 3 and usage(customer)["backups"] == 3
    Quota.objects.filter(user=reseller).update(max_backups=4)
    assert create_backup(vm, actor=customer).kind == "vm_backup_create"


def test_the_rules_of_restoring_and_deleting(vm, ready_row, customer, other_customer):
    backup = ready_backup(vm, ready_row)
    other_vm = VirtualMachine.objects.create(name="o", owner=other_customer, host=vm.host, status=VmStatus.ACTIVE)
    foreign = ready_backup(other_vm, ready_row)
    with pytest.raises(Http404):
        restore_backup(vm, backup, confirm=True, actor=other_customer)
    with pytest.raises(Http404):
        restore_backup(vm, foreign, confirm=True, actor=customer)
    with pytest.raises(Http404):
        delete_backup(vm, foreign.pk, actor=customer)
    with pytest.raises(ValidationError) as exc:
        restore_backup(vm, backup, actor=customer)
    assert fields(exc) == {"confirm"}
    Snapshot.objects.create(vm=vm, name="s", overlay_volume="s.qcow2", state="ready")
    with pytest.raises(ValidationError) as exc:
        restore_backup(vm, backup, confirm=True, actor=customer)
    assert fields(exc) == {"vm"}
    Snapshot.objects.all().delete()
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.CREATING)
    for attempt in (
        lambda: restore_backup(vm, backup, confirm=True, actor=customer),
        lambda: delete_backup(vm, backup, actor=customer),
    ):
        with pytest.raises(ValidationError) as exc:
            attempt()
        assert fields(exc) == {"backup"}
    Backup.objects.filter(pk=backup.pk).update(state=BackupState.READY)
    job = restore_backup(vm, backup, confirm=True, actor=customer)
    assert job.kind == "vm_backup_restore"
    assert Backup.objects.get(pk=backup.pk).state == BackupState.RESTORING


def test_a_backup_the_host_cannot_copy_fails_and_leaves_nothing_behind(vm, repository, customer, settings):
    job = runner.execute(create_backup(vm, actor=customer).pk)
    backup = Backup.objects.get(vm=vm)
    assert job.status == JobStatus.FAILED
    assert job.steps.get(name="Open the repository").status == "succeeded"
    assert "not supported" in job.steps.get(name="Copy the disk").detail  # the test driver has no volume streams
    assert backup.state == BackupState.FAILED and backup.error == job.error and backup.restic_snapshot_id == ""
    left = [v.name for v in hypervisor_for(vm.host).list_volumes(POOL) if v.name.startswith(f"vmm-{vm.uuid}-")]
    assert left == [vm.disk_volume]
    assert not (settings.VMM_WORK_DIR / str(job.pk)).exists()
    vm.refresh_from_db()
    assert vm.current_job is None

    job = runner.execute(delete_backup(vm, backup, actor=customer).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not Backup.objects.exists()


def test_a_failed_backup_leaves_no_snapshot_of_its_own_in_the_repository(vm, repository, customer, tmp_path):
    """A restic that read the end of its input as its worker was killed can store a snapshot
    (of a disk cut short) before its own kill reaches it: the failed backup's clean-up forgets
    whatever is stored under its tag, and nothing else."""
    restic.ensure(repository)
    job = create_backup(vm, actor=customer)
    backup = Backup.objects.get(pk=job.params["backup_id"])
    cut_short = tmp_path / "disk.raw"
    cut_short.write_bytes(b"\x5a" * 4096)
    restic.backup_file(repository, cut_short, backup.filename, [backup.tag])  # as if its restic had
    restic.backup_file(repository, cut_short, "another.raw", ["someone-else"])
    assert len(restic.snapshot_ids(repository, backup.tag)) == 1

    job = runner.execute(job.pk)  # fails at "Copy the disk": the test driver has no volume streams

    assert job.status == JobStatus.FAILED
    assert Backup.objects.get(pk=backup.pk).state == BackupState.FAILED
    assert restic.snapshot_ids(repository, backup.tag) == []
    assert len(restic.snapshot_ids(repository, "someone-else")) == 1  # only its own
    restic.check(repository)


def test_a_scratch_volume_an_earlier_job_left_is_removed_and_goes_with_the_vm(vm, repository, customer):
    driver = hypervisor_for(vm.host)
    leftover = f"vmm-{vm.uuid}-backup-0123456789ab.qcow2"
    driver.create_volume(POOL, leftover, 2**20)
    job = runner.execute(create_backup(vm, actor=customer).pk)
    assert "1 copy(ies) left by an earlier job removed" in job.steps.get(name="Open the repository").detail
    assert leftover not in {v.name for v in driver.list_volumes(POOL)}

    from apps.vms.cleanup import vm_volumes

    driver.create_volume(POOL, leftover, 2**20)
    assert leftover in vm_volumes(vm, driver)


def test_restic_stores_dumps_sparse_and_forgets(repository, tmp_path):
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.write(os.urandom(3 * 2**20))
        f.seek(64 * 2**20)
        f.write(b"end marker")
    summary = restic.backup_file(repository, disk, "vm-1-vda.raw", ["vm:1", "backup:1"])
    assert summary["total_bytes_processed"] == disk.stat().st_size
    assert 3 * 2**20 <= summary["data_added"] < 8 * 2**20  # the zeros are stored once, compressed
    (snapshot_id,) = restic.snapshot_ids(repository, "backup:1")
    assert summary["snapshot_id"] == snapshot_id[:8]

    again = restic.backup_file(repository, disk, "vm-1-vda.raw", ["vm:1", "backup:2"])
    assert again["data_added"] < 2**20  # the same data: deduplicated

    back = tmp_path / "back.raw"
    assert restic.dump_to_file(repository, snapshot_id, "vm-1-vda.raw", back) == disk.stat().st_size
    assert back.read_bytes() == disk.read_bytes()
    assert back.stat().st_blocks * 512 < 16 * 2**20  # the zeros came back as holes

    restic.forget(repository, restic.snapshot_ids(repository, "vm:1"), prune=True)
    assert restic.snapshot_ids(repository, "vm:1") == []
    restic.check(repository)
    with pytest.raises(restic.ResticError, match="wrong password"):
        restic.snapshot_ids(BackupRepository(path=repository.path, password="not the password"), "vm:1")


def test_a_backup_whose_worker_died_is_settled_with_its_copy_removed(vm, ready_row, customer, settings):
    """What the jobs reconciler does for a worker killed mid-backup (its restic died with it):
    the job fails, the copy on the host and the work folder go, the backup is `failed`, the
    VM is free for the next backup."""
    from apps.backups.work import scratch_volume
    from apps.jobs.models import Job
    from apps.jobs.runner import JobContext
    from apps.vms.deploy.steps import work_dir

    job = create_backup(vm, actor=customer)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker="gone:1")
    job.refresh_from_db()
    driver = hypervisor_for(vm.host)
    copy = scratch_volume(JobContext(job, None), vm, "backup")
    driver.create_volume(POOL, copy, 2**20)
    (work_dir(JobContext(job, None)) / f"vm-{vm.pk}-vda.raw").write_bytes(b"partial")

    assert runner.settle_dead_job(job, "the worker running it died")
    job.refresh_from_db()
    backup = Backup.objects.get(vm=vm)
    assert job.status == JobStatus.FAILED and backup.state == BackupState.FAILED
    assert backup.error == "the worker running it died"
    assert copy not in {v.name for v in driver.list_volumes(POOL)}
    assert not (settings.VMM_WORK_DIR / str(job.pk)).exists()
    vm.refresh_from_db()
    assert vm.current_job is None


def test_staff_add_a_repository_in_the_admin_through_the_same_rules(client, admin_user, tmp_path):
    from apps.jobs.models import Job

    client.force_login(admin_user)
    url = "/admin/backups/backuprepository/add/"
    data = {"name": "adm", "kind": "local", "path": str(tmp_path / "adm"), "password": "short"}
    page = client.post(url, data).content.decode()
    assert "8-200 characters." in page and not BackupRepository.objects.exists()
    response = client.post(url, {**data, "password": "long enough pw"})
    assert response.status_code == 302, response.content[:500]
    repository = BackupRepository.objects.get(name="adm")
    assert Job.objects.get(kind="backup_repository_init").target_id == repository.pk
    page = client.get(f"/admin/backups/backuprepository/{repository.pk}/change/").content.decode()
    assert "long enough pw" not in page and 'name="password"' not in page

    key = (tmp_path / "key").as_posix()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    sftp = {"name": "remote", "kind": "sftp", "host": "backup.example.net", "port": "22", "username": "restic",
            "path": "/srv/restic", "password": "long enough pw", "ssh_private_key": open(key).read()}  # fmt: skip
    page = client.post(url, {**sftp, "host": ""}).content.decode()
    assert "A host name or IP address." in page and "PRIVATE KEY" not in page
    assert client.post(url, sftp).status_code == 302
    remote = BackupRepository.objects.get(name="remote")
    page = client.get(f"/admin/backups/backuprepository/{remote.pk}/change/").content.decode()
    assert open(f"{key}.pub").read().split()[1] in page and "PRIVATE KEY" not in page
