"""A worker killed with SIGKILL in the middle of a deploy is noticed when the workers
restart: the job fails at the step it died in, the half-made VM is removed from the host,
and the VM row is left `failed` and free for the next operation."""

from pathlib import Path

import pytest
from django.conf import settings
from django_q.conf import Conf

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import JobStatus, StepStatus
from apps.virt.errors import NotFound
from apps.vms.create import create_vm
from apps.vms.models import VmStatus
from tests.worker_process import cluster, kill_worker_of, reconcile, wait_for_step, worker_env

pytestmark = [pytest.mark.libvirt, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("step", ["Copy the image to the host", "Configure the guest", "Wait for the guest to come up"])
def test_a_worker_killed_mid_deploy_is_settled_when_workers_restart(
    step, customer, local_host, ssh_key, tmp_path, monkeypatch, request
):
    # The wait needs no guest that comes up: a blank image spares the plain one's
    # virt-customize run before it (tests/deploy/conftest.py).
    image = request.getfixturevalue("blank_image" if step == "Wait for the guest to come up" else "plain_image")
    monkeypatch.setattr(Conf, "SYNC", False)  # through the real broker to a real worker
    env = worker_env(tmp_path)
    with cluster(env, tmp_path / "worker.log") as process:
        vm, job = create_vm(customer, name="doomed", image=image, vcpus=1, memory_mb=512, disk_gb=3, ssh_keys=[ssh_key])
        kill_worker_of(wait_for_step(job, step, process))
    reconcile(env)  # what `make run` / serve.sh does before starting the workers again

    job.refresh_from_db()
    vm.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert f"during “{step}”" in job.error
    assert job.steps.get(name=step).status == StepStatus.FAILED
    assert vm.status == VmStatus.FAILED and vm.current_job is None
    driver = hypervisor_for(local_host)
    with pytest.raises(NotFound):
        driver.get_domain(vm.domain_name)
    assert not [v.name for v in driver.list_volumes(local_host.storage_pool) if str(vm.uuid) in v.name]
    assert not (Path(settings.VMM_WORK_DIR) / str(job.pk)).exists()
