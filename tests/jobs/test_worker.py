"""A job goes through the real broker (Redis) to a real django-q2 worker process, and the
request id it was started under appears in the worker's log lines."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from apps.hosts.models import Host, HostStatus
from apps.jobs import runner
from apps.jobs.models import Job, JobStatus
from apps.vms.models import PowerState, VirtualMachine, VmStatus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NODE = """<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><mhz>2000</mhz></cpu>
  <memory>4194304</memory>
  <domain type="test">
    <name>{name}</name>
    <uuid>{uuid}</uuid>
    <memory>524288</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
  </domain>
</node>
"""


@pytest.fixture
def worker(tmp_path):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vmmanager.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "VMM_DATA_DIR": str(tmp_path / "worker-data"),
        "VMM_WORKERS": "1",
        "SECRET_KEY": settings.SECRET_KEY,
    }
    log = open(tmp_path / "worker.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    yield proc, log
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_worker_process_runs_the_job_under_the_request_id_of_its_request(customer, tmp_path, worker):
    proc, log = worker
    vm_uuid = uuid.uuid4()
    node = tmp_path / "node.xml"
    node.write_text(NODE.format(name=f"vmm-{vm_uuid}", uuid=vm_uuid))
    host = Host.objects.create(name="sim", uri=f"test://{node}", domain_type="qemu", status=HostStatus.ONLINE)
    vm = VirtualMachine.objects.create(uuid=vm_uuid, name="web-1", owner=customer, host=host, status=VmStatus.ACTIVE)

    job = runner.submit("vm_power_off", vm, request_id="req-worker-0001", queue=False)
    runner.enqueue(job, sync=False)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Job.objects.get(pk=job.pk).status not in ("succeeded", "failed"):
        assert proc.poll() is None, "the worker died"
        time.sleep(0.2)
    job.refresh_from_db()
    vm.refresh_from_db()
    log.seek(0)
    output = log.read()

    assert job.status == JobStatus.SUCCEEDED, (job.error, output[-2000:])
    assert vm.current_job is None
    # The node file's domain starts running in each process that opens it: the worker
    # powered it off in its own process and re-read it there.
    assert vm.power_state == PowerState.STOPPED
    job_lines = [line for line in output.splitlines() if "] vmmanager." in line]
    assert any("step 1 succeeded" in line for line in job_lines), output[-2000:]
    assert all("[req-worker-0001]" in line for line in job_lines), job_lines
