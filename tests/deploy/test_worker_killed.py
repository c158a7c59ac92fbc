"""A worker killed with SIGKILL in the middle of a deploy is noticed when the workers
restart: the job fails at the step it died in, the half-made VM is removed from the host,
and the VM row is left `failed` and free for the next operation."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django_q.conf import Conf

from apps.hosts.hypervisor import hypervisor_for
from apps.jobs.models import Job, JobStatus, StepStatus
from apps.virt.errors import NotFound
from apps.vms.create import create_vm
from apps.vms.models import VmStatus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.libvirt, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def worker_env(tmp_path):
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmmanager.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "VMM_DATA_DIR": str(tmp_path / "worker-data"),
        "VMM_WORK_DIR": str(settings.VMM_WORK_DIR),
        "VMM_WORKERS": "1",
    }


def wait_for_step(job, name, cluster, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert cluster.poll() is None, "the worker cluster died on its own"
        if job.steps.filter(name=name, status=StepStatus.RUNNING).exists():
            return Job.objects.get(pk=job.pk)
        # Steps first: the runner plans them only after it has marked the job running, so
        # read in this order a job with steps can only be running (or past it: a failure).
        planned = job.steps.exists()
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING or not planned
        time.sleep(0.02)
    raise AssertionError(f"step {name!r} never started")


@pytest.mark.parametrize("step", ["Copy the image to the host", "Configure the guest", "Wait for the guest to come up"])
def test_a_worker_killed_mid_deploy_is_settled_when_workers_restart(
    step, customer, local_host, plain_image, ssh_key, tmp_path, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # through the real broker to a real worker
    log = open(tmp_path / "worker.log", "w+")
    env = worker_env(tmp_path)
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        vm, job = create_vm(
            customer, name="doomed", image=plain_image, vcpus=1, memory_mb=512, disk_gb=3, ssh_keys=[ssh_key]
        )
        running = wait_for_step(job, step, cluster)
        worker_pid = int(running.worker.rpartition(":")[2])
        os.kill(worker_pid, signal.SIGKILL)
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()

    # What `make run` / serve.sh does before starting the workers again.
    settle = subprocess.run(
        [sys.executable, "manage.py", "reconcile_jobs"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert settle.returncode == 0, settle.stderr
    assert "1 settled" in settle.stdout

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
