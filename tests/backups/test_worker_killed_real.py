"""A worker killed with SIGKILL in the middle of a backup of a running VM on the real local
libvirtd (docs/backups.md): once `manage.py reconcile_jobs` has settled the job, as `make run`
does before starting the workers again, nothing of the backup is left behind: no libvirt
backup job still copying, no checkpoint (the next incremental would silently miss the blocks
written since), no scratch volume on the host, no work folder, no restic run finishing on its
own into a snapshot nobody knows about; the repository checks clean, and the VM's next
backup succeeds.

The VM is a running domain with a 1 GiB disk holding 256 MiB of data and no operating system
(its firmware finds nothing to boot and waits): libvirt's backup API copies its disk like any
other, with no guest boot added to the suite. The kills land where the backup holds the most:
during the copy once the checkpoint exists, and while restic stores the disk."""

import subprocess

import pytest
from django.conf import settings
from django_q.conf import Conf

from apps.backups import restic
from apps.backups.models import Backup, BackupKind, BackupState
from apps.backups.services import create_backup
from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus, StepStatus
from apps.vms.deploy.steps import domain_spec
from apps.vms.models import PowerState, VirtualMachine, VmStatus
from tests.deploy import conftest as deploy
from tests.worker_process import cluster, kill_worker_of, reconcile, wait_for_step, worker_env

local_host = deploy.local_host  # the fixture: a host on the local libvirtd with a test pool of its own

pytestmark = [pytest.mark.libvirt, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def running_vm(customer, local_host):
    vm = VirtualMachine.objects.create(
        name="backed-up", owner=customer, host=local_host, status=VmStatus.ACTIVE, power_state=PowerState.RUNNING,
        vcpus=1, memory_mb=256, disk_gb=1,
    )  # fmt: skip
    driver = hypervisor_for(local_host)
    disk = driver.create_volume(local_host.storage_pool, vm.disk_volume, 2**30, "qcow2")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 256M", disk.path], check=True, capture_output=True)
    driver.define(domain_spec(vm, disk.path))
    driver.start(vm.domain_name)
    yield vm
    driver.destroy(vm.domain_name)
    driver.undefine(vm.domain_name)
    driver.delete_volume(local_host.storage_pool, vm.disk_volume)


@pytest.mark.parametrize("step", ["Copy the disk", "Store it in the repository"])
def test_a_worker_killed_mid_backup_leaves_nothing_behind_and_the_next_backup_succeeds(
    step, running_vm, customer, repository, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    vm = running_vm
    driver = hypervisor_for(vm.host)
    checkpoint_made = None
    if step == "Copy the disk":  # once the copy has begun its checkpoint

        def checkpoint_made():
            return bool(driver.list_checkpoints(vm.domain_name))

    monkeypatch.setattr(Conf, "SYNC", False)  # through the real broker to a real worker
    env = worker_env(tmp_path)
    with cluster(env, tmp_path / "worker.log") as process:
        job = create_backup(vm, repository=repository, actor=customer)
        kill_worker_of(wait_for_step(job, step, process, until=checkpoint_made))
    reconcile(env)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and f"during “{step}”" in job.error
    assert job.steps.get(name=step).status == StepStatus.FAILED
    backup = Backup.objects.get(pk=job.params["backup_id"])
    assert backup.state == BackupState.FAILED
    vm.refresh_from_db()
    assert vm.current_job is None and vm.status == VmStatus.ACTIVE
    assert driver.abort_backup(vm.domain_name) is False  # no copy still running on the host
    assert driver.list_checkpoints(vm.domain_name) == []
    driver.refresh_pool(vm.host.storage_pool)
    volumes = [v.name for v in driver.list_volumes(vm.host.storage_pool)]
    assert volumes == [vm.disk_volume]
    assert not (settings.VMM_WORK_DIR / str(job.pk)).exists()
    assert restic.snapshot_ids(repository, backup.tag) == []  # died with its worker, or its snapshot forgotten
    restic.check(repository)

    monkeypatch.setattr(Conf, "SYNC", True)  # the next backup run here, at its commit
    with django_capture_on_commit_callbacks(execute=True):
        again = create_backup(vm, repository=repository, actor=customer)
    again.refresh_from_db()
    assert again.status == JobStatus.SUCCEEDED, again.error
    second = Backup.objects.get(pk=again.params["backup_id"])
    assert (second.state, second.kind) == (BackupState.READY, BackupKind.FULL)
    assert driver.list_checkpoints(vm.domain_name) == [second.checkpoint_name]
    assert len(restic.snapshot_ids(repository, second.tag)) == 1
